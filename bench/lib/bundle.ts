/**
 * Bundles the agents (with the service code they use) into plain JavaScript under bench/out/, so
 * agent processes run on plain `node` with no loader hooks: less start-up work, and no loader
 * thread that a long-running agent has to wait on. Packages stay external (node_modules).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BENCH_DIR } from './paths';

/** Directory of the bundled agents: one per run, so runs started side by side do not share files. */
export const AGENT_BUNDLE_DIR = path.join(BENCH_DIR, 'out', `agents-${process.pid}`);

/** Where {@link bundleForNode} writes: a directory for several entry points, or one file. */
export type BundleOutput = { readonly outdir: string } | { readonly outfile: string };

/**
 * Bundles `entryPoints` for the Node.js running this process, as CommonJS with packages left
 * external (they resolve from the node_modules beside the sources).
 */
export function bundleForNode(entryPoints: string[], output: BundleOutput, sourcemap?: 'inline'): void {
  // esbuild is a build-time dependency of the project (scripts/bundle.ts uses it too)
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const esbuild = require('esbuild') as typeof import('esbuild');
  esbuild.buildSync({
    entryPoints,
    ...output,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: `node${process.versions.node.split('.')[0]}`,
    packages: 'external',
    ...(sourcemap ? { sourcemap } : {}),
    logLevel: 'error',
  });
}

/** Builds every bench/agents/*.ts into bench/out/agents/*.js. Returns the directory. */
export function bundleAgents(): string {
  const sources = path.join(BENCH_DIR, 'agents');
  const entryPoints = fs.readdirSync(sources).filter((f) => f.endsWith('.ts')).map((f) => path.join(sources, f));
  fs.rmSync(AGENT_BUNDLE_DIR, { recursive: true, force: true });
  bundleForNode(entryPoints, { outdir: AGENT_BUNDLE_DIR }, 'inline');
  return AGENT_BUNDLE_DIR;
}

/** Removes this run's bundles. */
export function removeAgentBundles(): void {
  fs.rmSync(AGENT_BUNDLE_DIR, { recursive: true, force: true });
}
