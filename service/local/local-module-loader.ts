/**
 * Loads a local handler module: `.js`/`.cjs` with require (falling back to import for ES
 * modules), `.mjs` with import, and TypeScript (`.ts`, `.mts`, `.cts`) by bundling it with esbuild
 * into a temporary CommonJS file. Packages the handler imports are resolved from the handler's own
 * directory and loaded from there, so it sees the same node_modules it would in development.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Plugin } from 'esbuild';

/** A Lambda-style handler: `(event, context, callback?) => result | Promise<result>`. */
export type HandlerFunction = (event: unknown, context: unknown, callback?: (err?: unknown, result?: unknown) => void) => unknown;

/** Node's own require, whatever bundler or test runner loaded this file. */
const nodeRequire = createRequire(__filename);

const TYPESCRIPT_EXTENSIONS = new Set(['.ts', '.mts', '.cts', '.tsx']);

/** Loads `modulePath` (resolved against `baseDirectory` when relative) and returns its `exportName` function. */
export async function loadHandler(modulePath: string, exportName: string, baseDirectory: string): Promise<HandlerFunction> {
  const loaded = await loadHandlerModule(modulePath, exportName, baseDirectory);
  loaded.dispose();
  return loaded.handler;
}

/** A handler checked in this thread, and the file another thread loads it from. */
export interface LoadedHandlerModule {
  readonly handler: HandlerFunction;
  /** JavaScript file to load the handler from (TypeScript: the compiled CommonJS file). */
  readonly file: string;
  /** Load `file` with import() rather than require(). */
  readonly esm: boolean;
  /** Removes the compiled file, if any. */
  dispose(): void;
}

/** Like {@link loadHandler}, keeping a loadable JavaScript file until `dispose()` (for a worker thread). */
export async function loadHandlerModule(modulePath: string, exportName: string, baseDirectory: string): Promise<LoadedHandlerModule> {
  const file = isAbsolute(modulePath) ? modulePath : resolve(baseDirectory, modulePath);
  const ext = extname(file).toLowerCase();
  let exports: Record<string, unknown>;
  let loadFile = file;
  let esm = ext === '.mjs';
  let dispose = (): void => undefined;
  try {
    if (TYPESCRIPT_EXTENSIONS.has(ext)) {
      const compiled = await loadTypeScript(file);
      exports = compiled.exports;
      loadFile = compiled.file;
      dispose = () => rmSync(dirname(compiled.file), { recursive: true, force: true });
    } else if (esm) {
      exports = await importModule(file);
    } else {
      const loaded = await requireOrImport(file);
      exports = loaded.exports;
      esm = loaded.esm;
    }
  } catch (err) {
    throw new Error(`local handler ${file}: cannot load module: ${(err as Error)?.message ?? String(err)}`);
  }
  const fn = exports[exportName] ?? (exports.default as Record<string, unknown> | undefined)?.[exportName];
  if (typeof fn !== 'function') {
    const names = Object.keys(exports).filter((k) => k !== '__esModule');
    dispose();
    throw new Error(`local handler ${file}: no function export ${JSON.stringify(exportName)} (exports: ${names.length > 0 ? names.join(', ') : 'none'})`);
  }
  return { handler: fn as HandlerFunction, file: loadFile, esm, dispose };
}

async function requireOrImport(file: string): Promise<{ exports: Record<string, unknown>; esm: boolean }> {
  try {
    return { exports: nodeRequire(file) as Record<string, unknown>, esm: false };
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_REQUIRE_ESM') return { exports: await importModule(file), esm: true };
    throw err;
  }
}

/** Native dynamic import, kept out of reach of bundlers that would turn it into require(). */
const nativeImport = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<Record<string, unknown>>;

function importModule(file: string): Promise<Record<string, unknown>> {
  return nativeImport(pathToFileURL(file).href);
}

async function loadTypeScript(file: string): Promise<{ exports: Record<string, unknown>; file: string }> {
  let esbuild: typeof import('esbuild');
  try {
    esbuild = nodeRequire('esbuild') as typeof import('esbuild');
  } catch {
    throw new Error('TypeScript handlers are compiled with esbuild, which is not installed here (compile the handler to .js, or install esbuild)');
  }
  const result = await esbuild.build({
    entryPoints: [file],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: `node${process.versions.node.split('.')[0]}`,
    write: false,
    sourcemap: 'inline',
    logLevel: 'silent',
    plugins: [packagesFromHandlerDirectory()],
  });
  const dir = mkdtempSync(join(tmpdir(), 'packet-gateway-handler-'));
  const out = join(dir, 'handler.cjs');
  try {
    writeFileSync(out, result.outputFiles[0].text);
    return { exports: nodeRequire(out) as Record<string, unknown>, file: out };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

const BUILTINS = new Set(builtinModules);

/** Leaves packages out of the bundle, pointing at the copy the handler's directory resolves. */
function packagesFromHandlerDirectory(): Plugin {
  return {
    name: 'packages-from-handler-directory',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, (args) => {
        if (args.kind === 'entry-point' || isAbsolute(args.path)) return undefined;
        if (args.path.startsWith('node:') || BUILTINS.has(args.path.split('/')[0])) return { path: args.path, external: true };
        try {
          return { path: nodeRequire.resolve(args.path, { paths: [args.resolveDir || dirname(args.importer)] }), external: true };
        } catch {
          return undefined;
        }
      });
    },
  };
}
