/**
 * The launcher's choice between the CLI bundle and its sources: in a copy of the package layout
 * (bin/, assets/cli/, service/, node_modules linked to this checkout's), with a bundle and sources
 * that say which of them ran.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureAssets } from '../lib/support';

const ROOT = join(__dirname, '..', '..');

let dir: string;

/** Runs the launcher of the copy; its output names what ran. */
function launch(): string {
  return execFileSync(process.execPath, [join(dir, 'bin', 'packet-gateway.js'), 'a', 'b'], { encoding: 'utf8' }).trim();
}

/** Sets a file's modification time `secondsAgo` seconds in the past. */
function age(path: string, secondsAgo: number): void {
  const t = new Date(Date.now() - secondsAgo * 1000);
  utimesSync(path, t, t);
}

/** Records the bundle as built `secondsAgo` seconds ago from `inputs`. */
function recordBundle(secondsAgo: number, inputs = ['service/cli.ts', 'service/greeting.ts']): void {
  writeFileSync(join(dir, 'assets', 'cli', 'sources.json'), JSON.stringify({ builtFrom: Date.now() - secondsAgo * 1000, inputs }));
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pgw-launcher-'));
  mkdirSync(join(dir, 'bin'));
  mkdirSync(join(dir, 'assets', 'cli'), { recursive: true });
  mkdirSync(join(dir, 'service'));
  copyFileSync(join(ROOT, 'bin', 'packet-gateway.js'), join(dir, 'bin', 'packet-gateway.js'));
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  writeFileSync(join(dir, 'assets', 'cli', 'index.js'), "exports.main = (args) => console.log('bundle', args.join(' '));\n");
  writeFileSync(join(dir, 'service', 'greeting.ts'), "export const GREETING: string = 'source';\n");
  writeFileSync(join(dir, 'service', 'cli.ts'), "import { GREETING } from './greeting';\nexport function main(args: string[]): void {\n  console.log(GREETING, args.join(' '));\n}\n");
  for (const file of ['service/cli.ts', 'service/greeting.ts']) age(join(dir, file), 60);
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('a bundle built after every source it was built from runs', () => {
  recordBundle(30);
  expect(launch()).toBe('bundle a b');
});

test('a module the CLI imports changed since the bundle: the sources run, though cli.ts itself is older', () => {
  recordBundle(30);
  age(join(dir, 'service', 'greeting.ts'), 0);
  expect(launch()).toBe('source a b');
});

test('a source the bundle was built from is gone: the sources run', () => {
  recordBundle(30, ['service/cli.ts', 'service/greeting.ts', 'service/removed.ts']);
  expect(launch()).toBe('source a b');
});

test('a bundle without its record of sources (an older bundle script) is not trusted in a checkout', () => {
  expect(launch()).toBe('source a b');
  writeFileSync(join(dir, 'assets', 'cli', 'sources.json'), '{"inputs": []}');
  expect(launch()).toBe('source a b');
});

test('an installed package (no sources) runs the bundle', () => {
  rmSync(join(dir, 'service'), { recursive: true });
  expect(launch()).toBe('bundle a b');
});

test('the bundle script records the CLI\'s sources: cli.ts and the modules it imports, not node_modules', () => {
  ensureAssets();
  const record = JSON.parse(readFileSync(join(ROOT, 'assets', 'cli', 'sources.json'), 'utf8')) as { builtFrom: number; inputs: string[] };
  expect(typeof record.builtFrom).toBe('number');
  expect(record.inputs).toContain('service/cli.ts');
  expect(record.inputs).toContain('lib/private/limits.ts');
  expect(record.inputs.some((input) => input.includes('node_modules') || input.startsWith('..') || input.startsWith('/'))).toBe(false);
});
