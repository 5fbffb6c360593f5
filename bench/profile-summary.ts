/**
 * Summarizes a V8 CPU profile (`.cpuprofile`, as written with `PGB_PROFILE`): self time per
 * function and per source file, as shares of the profiled time.
 *
 *   npx tsx bench/profile-summary.ts bench/out/profiles/sourced-gateway.<time>.cpuprofile [top]
 */
import * as fs from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface Profile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [top]');
  process.exit(2);
}
const top = Number(topArg ?? 30);
const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfUs = new Map<number, number>();
for (let i = 0; i < profile.samples.length; i++) {
  selfUs.set(profile.samples[i], (selfUs.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
}

const byFunction = new Map<string, number>();
const byFile = new Map<string, number>();
let total = 0;
let idle = 0;
for (const [id, us] of selfUs) {
  const frame = byId.get(id)!.callFrame;
  const shortUrl = frame.url.replace(/^.*\/(service|bench|lib|node_modules)\//, '$1/') || '(native)';
  const name = `${frame.functionName || '(anonymous)'}  ${shortUrl}:${frame.lineNumber + 1}`;
  if (frame.functionName === '(idle)') {
    idle += us;
    continue;
  }
  total += us;
  byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  byFile.set(shortUrl, (byFile.get(shortUrl) ?? 0) + us);
}

const print = (title: string, entries: Map<string, number>): void => {
  console.log(`\n${title}`);
  for (const [name, us] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((100 * us) / total).toFixed(1).padStart(6)} %  ${name}`);
  }
};
console.log(`busy ${(total / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms`);
print('self time by function', byFunction);
print('self time by file', byFile);
