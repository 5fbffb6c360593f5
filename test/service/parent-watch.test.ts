import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const linux = process.platform === 'linux';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pg-parent-watch-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function until(check: () => boolean, ms: number, what: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end && !check()) await new Promise((r) => setTimeout(r, 50));
  if (!check()) throw new Error(what());
}

(linux ? test : test.skip)('a process under a launcher shell notices when the launcher is killed', async () => {
  const script = join(dir, 'watched.ts');
  writeFileSync(
    script,
    [
      `import { watchParent } from ${JSON.stringify(join(ROOT, 'service', 'parent-watch'))};`,
      'const w = watchParent({ intervalMs: 100, onParentExit: (detail) => { console.log(`gone: ${detail}`); process.exit(0); } });',
      "console.log(`watching ${w.ancestors.join(',')}`);",
      'setInterval(() => undefined, 1000);',
    ].join('\n'),
  );
  // the shell is the job's leader (its own process group), like npm in `npm start`; `; true` keeps it from exec'ing node
  const launcher = spawn('sh', ['-c', `${JSON.stringify(process.execPath)} --import tsx ${JSON.stringify(script)}; true`], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  launcher.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  launcher.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  try {
    await until(() => out.includes('watching'), 30_000, () => `the watched process never started: ${out}`);
    expect(out).toContain(`watching ${launcher.pid}`);
    process.kill(launcher.pid!, 'SIGKILL');
    await until(() => out.includes('gone:'), 5_000, () => `the watched process did not notice: ${out}`);
    expect(out).toContain(`gone: launcher process ${launcher.pid} exited`);
  } finally {
    try {
      process.kill(-launcher.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}, 60_000);
