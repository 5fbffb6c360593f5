import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../lib/private/package-root';

test('finds the package directory from the sources and from a compiled output directory below it', () => {
  const root = join(__dirname, '..', '..');
  expect(packageRoot()).toBe(root);
  expect(packageRoot(join(root, 'dist', 'lib', 'private'))).toBe(root);
});

test('skips package.json files of other packages on the way up', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pgw-root-'));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'cdk-packet-gateway' }));
  const nested = join(dir, 'node_modules', 'other', 'lib');
  mkdirSync(nested, { recursive: true });
  writeFileSync(join(dir, 'node_modules', 'other', 'package.json'), JSON.stringify({ name: 'other' }));
  try {
    expect(packageRoot(nested)).toBe(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fails with a clear message outside the package', () => {
  expect(() => packageRoot(tmpdir())).toThrow(/Cannot find the cdk-packet-gateway package directory above/);
});
