/**
 * Bundles the runtime code with esbuild into assets/:
 *   assets/service/index.js (+ Dockerfile, package.json)  the data-plane service (Fargate image)
 *   assets/cli/index.js                     the packet-gateway client CLI
 *   assets/cli/sources.json                 the repository files the CLI bundle was built from, and when
 *                                           (bin/packet-gateway.js runs the sources instead once one is newer)
 *   assets/lambda/<name>/index.js           one folder per Lambda handler in lambda/<name>/index.ts
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { build, BuildOptions, Metafile } from 'esbuild';

const root = join(__dirname, '..');
const common: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: 'linked',
  minify: false,
  legalComments: 'none',
  logLevel: 'warning',
  // Native modules cannot be bundled: the image installs them (NATIVE_MODULES); elsewhere the code
  // falls back when they do not load (service/wireguard/transport-aead.ts).
  external: ['sodium-native'],
};

/** Native modules the service image installs next to the bundle, at the versions installed here. */
const NATIVE_MODULES = ['sodium-native'];

/** The image's package.json: the native modules, pinned to the versions the tests ran with. */
function imagePackageJson(): string {
  const dependencies: Record<string, string> = {};
  for (const name of NATIVE_MODULES) {
    dependencies[name] = JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8')).version;
  }
  return JSON.stringify({ name: 'packet-gateway-service', private: true, dependencies }, null, 2) + '\n';
}

/**
 * What bin/packet-gateway.js compares the CLI bundle with: the repository files it was built from
 * (paths relative to the repository, `/`-separated; dependencies in node_modules left out), and
 * the time, in epoch milliseconds, before the build read them.
 */
export interface BundleSources {
  readonly builtFrom: number;
  readonly inputs: readonly string[];
}

/** The sources of a build whose esbuild `metafile` is given, started at `builtFrom`. */
export function bundleSources(metafile: Metafile, builtFrom: number, cwd = process.cwd()): BundleSources {
  const inputs = Object.keys(metafile.inputs)
    .map((input) => relative(root, join(cwd, input)).split(sep).join('/'))
    .filter((input) => !input.startsWith('..') && !input.split('/').includes('node_modules'))
    .sort();
  return { builtFrom, inputs };
}

async function main(): Promise<void> {
  const jobs: Promise<unknown>[] = [];
  const service = join(root, 'service', 'main.ts');
  if (existsSync(service)) {
    mkdirSync(join(root, 'assets', 'service'), { recursive: true });
    // esbuild is needed at run time only to load TypeScript local handlers (local mode), never in the image.
    jobs.push(build({ ...common, entryPoints: [service], outfile: join(root, 'assets', 'service', 'index.js'), external: ['esbuild', ...NATIVE_MODULES] }));
    copyFileSync(join(root, 'service', 'Dockerfile'), join(root, 'assets', 'service', 'Dockerfile'));
    writeFileSync(join(root, 'assets', 'service', 'package.json'), imagePackageJson());
  }
  const cli = join(root, 'service', 'cli.ts');
  if (existsSync(cli)) {
    const builtFrom = Date.now();
    jobs.push(build({ ...common, entryPoints: [cli], outfile: join(root, 'assets', 'cli', 'index.js'), metafile: true }).then((out) => {
      writeFileSync(join(root, 'assets', 'cli', 'sources.json'), JSON.stringify(bundleSources(out.metafile, builtFrom), null, 2) + '\n');
    }));
  }
  const lambdaDir = join(root, 'lambda');
  for (const name of existsSync(lambdaDir) ? readdirSync(lambdaDir) : []) {
    const entry = join(lambdaDir, name, 'index.ts');
    if (!existsSync(entry)) continue;
    jobs.push(build({ ...common, entryPoints: [entry], outfile: join(root, 'assets', 'lambda', name, 'index.js') }));
  }
  await Promise.all(jobs);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
