/**
 * A Node.js binary whose dgram sockets take `reusePort` (22.12 or later), which data-plane worker
 * threads need: PGB_NODE when it is one, else the Node.js running the bench when it is one, else
 * Node.js 22 through npm (`npx -y -p node@22`, from npm's cache when it is there).
 */
import { execFileSync } from 'node:child_process';
import * as os from 'node:os';
import { dgramHasReusePort } from '../../service/workers/worker-count';

/** A Node.js that can run several workers, or why none was found. */
export type ReusePortNode =
  | { readonly path: string; readonly version: string }
  | { readonly path?: undefined; readonly reason: string };

/** Longest wait for npm to fetch Node.js 22 (a first run downloads it). */
const NPX_TIMEOUT_MS = 180_000;

let found: ReusePortNode | undefined;

/** Finds the binary once per run. */
export function reusePortNode(): ReusePortNode {
  found ??= find();
  return found;
}

function find(): ReusePortNode {
  const tried: string[] = [];
  const candidates = [process.env.PGB_NODE, process.execPath].filter((c): c is string => c !== undefined && c !== '');
  for (const path of candidates) {
    const version = versionOf(path);
    if (version && dgramHasReusePort(version.slice(1))) return { path, version };
    tried.push(`${path} is ${version ?? 'not runnable'}`);
  }
  try {
    const out = execFileSync('npx', ['-y', '-p', 'node@22', 'node', '-p', 'process.execPath + " " + process.version'], {
      encoding: 'utf8',
      timeout: NPX_TIMEOUT_MS,
      cwd: os.tmpdir(),
      stdio: ['ignore', 'pipe', 'pipe'],
    }).trim().split('\n').pop() ?? '';
    const [path, version] = out.split(' ');
    if (path && version && dgramHasReusePort(version.slice(1))) return { path, version };
    tried.push(`npx -p node@22 gave ${JSON.stringify(out)}`);
  } catch (err) {
    tried.push(`npx -p node@22 failed: ${((err as Error).message ?? String(err)).split('\n')[0]}`);
  }
  return { reason: `no Node.js 22.12 or later for the workers' reusePort (${tried.join('; ')}); set PGB_NODE to one` };
}

function versionOf(path: string): string | undefined {
  try {
    return execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim();
  } catch {
    return undefined;
  }
}
