/** Where the benchmark's files are, whether it runs from source (tsx) or from bundles in bench/out/. */
import * as fs from 'node:fs';
import * as path from 'node:path';

function findBenchDir(start: string): string {
  for (let dir = start; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'run.ts')) && fs.existsSync(path.join(dir, 'fixtures'))) return dir;
  }
  throw new Error(`cannot find the bench directory above ${start}`);
}

/** The bench/ directory. */
export const BENCH_DIR = findBenchDir(__dirname);
/** The repository root. */
export const REPO_ROOT = path.dirname(BENCH_DIR);
/** The local-handler fixtures. */
export const FIXTURES_DIR = path.join(BENCH_DIR, 'fixtures');
