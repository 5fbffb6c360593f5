#!/usr/bin/env node
'use strict';
// The packet-gateway client CLI. An installed package (no service/ sources) runs the bundled build,
// assets/cli/index.js. A source checkout runs the bundle only while it is current: scripts/bundle.ts
// records in assets/cli/sources.json every repository file the bundle was built from and when; once
// one of them has changed since (or is gone, or the record is missing), service/cli.ts runs through
// tsx, so a change in any module the CLI imports takes effect without a new bundle.
const { existsSync, readFileSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const bundled = join(root, 'assets', 'cli', 'index.js');
const sourcesRecord = join(root, 'assets', 'cli', 'sources.json');
const source = join(root, 'service', 'cli.ts');

/** True when the bundle was built from the sources as they are now. */
function bundleIsCurrent() {
  if (!existsSync(bundled)) return false;
  if (!existsSync(source)) return true;
  let record;
  try {
    record = JSON.parse(readFileSync(sourcesRecord, 'utf8'));
  } catch {
    return false;
  }
  if (typeof record.builtFrom !== 'number' || !Array.isArray(record.inputs) || !record.inputs.includes('service/cli.ts')) return false;
  for (const input of record.inputs) {
    const file = join(root, String(input));
    if (!existsSync(file) || statSync(file).mtimeMs > record.builtFrom) return false;
  }
  return true;
}

let cli;
if (bundleIsCurrent()) {
  cli = require(bundled);
} else if (existsSync(source)) {
  try {
    require('tsx/cjs');
  } catch {
    process.stderr.write('packet-gateway: tsx is not installed; run `npm ci`, or `npm run bundle` to build assets/cli/index.js\n');
    process.exit(1);
  }
  cli = require(source);
} else {
  process.stderr.write('packet-gateway: assets/cli/index.js is missing from this installation\n');
  process.exit(1);
}
cli.main(process.argv.slice(2));
