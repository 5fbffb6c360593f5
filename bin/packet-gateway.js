#!/usr/bin/env node
'use strict';
// The packet-gateway client CLI. Runs the bundled build (assets/cli/index.js) when it is present
// and not older than its source; in a source checkout without a current bundle it runs
// service/cli.ts through tsx.
const { existsSync, statSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const bundled = join(root, 'assets', 'cli', 'index.js');
const source = join(root, 'service', 'cli.ts');

function bundleIsCurrent() {
  if (!existsSync(bundled)) return false;
  if (!existsSync(source)) return true;
  return statSync(bundled).mtimeMs >= statSync(source).mtimeMs;
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
