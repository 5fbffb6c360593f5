/**
 * The ingress gateway's work per datagram above the socket (bench/lib/ingress-work-kit.ts) of two
 * service trees in one process, alternating: `--base <dir>` (another checkout, e.g.
 * `git archive <commit> | tar -x -C <dir>` with a `node_modules` link) and this tree, each bundled
 * with esbuild from its own sources, rounds run A B B A …, so the machine's other load moves both
 * alike. Reports each side's best and median CPU per packet (counting stand-in subtracted) and the
 * median and quartiles of the paired differences (this tree − base). Writes the bundles under
 * each tree's bench/out/, and this tree's kit into the base tree's bench/lib/ where that tree has
 * none or another version, so both sides run the same harness around their own service code.
 *
 *   npx tsx bench/ingress-cpu-ab.ts --base /tmp/base [--size 64] [--pairs 20] [--packets 64000]
 *
 * For an A/A control, pass a checkout of this tree as `--base`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { bundleForNode } from './lib/bundle';
import { positiveIntegerOption } from './lib/cli-option';
import type { IngressWork } from './lib/ingress-work-kit';
import { median, percentileSorted } from './lib/stats';

const KIT = path.join('bench', 'lib', 'ingress-work-kit.ts');

/** Bundles the kit from `root`'s sources (this tree's kit copied in when the tree has none). */
function bundleTree(root: string, label: string): string {
  const own = path.resolve(__dirname, '..');
  const entry = path.join(root, KIT);
  if (path.resolve(root) !== own && (!fs.existsSync(entry) || fs.readFileSync(entry, 'utf8') !== fs.readFileSync(path.join(own, KIT), 'utf8'))) {
    fs.copyFileSync(path.join(own, KIT), entry);
  }
  const outfile = path.join(root, 'bench', 'out', `ingress-ab-${process.pid}`, `${label}.js`);
  bundleForNode([entry], { outfile });
  return outfile;
}

function loadAverage(): string {
  return fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

async function main(): Promise<void> {
  const argv = process.argv;
  const baseAt = argv.indexOf('--base');
  const base = baseAt < 0 ? '' : path.resolve(argv[baseAt + 1] ?? '');
  if (!base || !fs.existsSync(path.join(base, 'service', 'gateway.ts'))) {
    throw new Error(`--base ${JSON.stringify(base)} is not a checkout of this project (allowed: a directory with service/gateway.ts)`);
  }
  const size = positiveIntegerOption('size', 64);
  const pairs = positiveIntegerOption('pairs', 20);
  const packets = positiveIntegerOption('packets', 64_000);
  const start = async (file: string): Promise<IngressWork> =>
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (require(file) as typeof import('./lib/ingress-work-kit')).startIngressWork(size);
  const sides: Array<{ label: string; work: IngressWork; us: number[] }> = [
    { label: 'base', work: await start(bundleTree(base, 'base')), us: [] },
    { label: 'this tree', work: await start(bundleTree(path.resolve(__dirname, '..'), 'this')), us: [] },
  ];
  const loadBefore = loadAverage();
  for (const side of sides) for (let i = 0; i < 2; i++) await side.work.round(packets); // warm-up
  const differences: number[] = [];
  for (let p = 0; p < pairs; p++) {
    const order = p % 2 === 0 ? sides : [sides[1], sides[0]];
    for (const side of order) {
      const r = await side.work.round(packets);
      side.us.push(r.cpuUs - r.standInUs);
    }
    differences.push(sides[1].us[p] - sides[0].us[p]);
  }
  const fmt = (x: number): string => x.toFixed(3);
  const sorted = [...differences].sort((a, b) => a - b);
  console.log(`${size} B, ${pairs} pairs × ${packets} packets, load ${loadBefore} → ${loadAverage()}`);
  for (const side of sides) console.log(`${side.label.padEnd(10)} best ${fmt(Math.min(...side.us))} µs, median ${fmt(median(side.us))} µs`);
  console.log(`difference (this tree − base): median ${fmt(median(differences))} µs, quartiles ${fmt(percentileSorted(sorted, 25))} / ${fmt(percentileSorted(sorted, 75))}`);
  for (const side of sides) await side.work.close();
  for (const root of [base, path.resolve(__dirname, '..')]) fs.rmSync(path.join(root, 'bench', 'out', `ingress-ab-${process.pid}`), { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
