import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** npm name of this package; its package.json marks the directory that holds `assets/`. */
export const PACKAGE_NAME = 'cdk-packet-gateway';

/**
 * Directory of this package: the nearest ancestor of `from` whose package.json is named
 * {@link PACKAGE_NAME}. Works from the sources (lib/private) and the compiled output
 * (dist/lib/private) alike.
 */
export function packageRoot(from: string = __dirname): string {
  let dir = from;
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && readName(manifest) === PACKAGE_NAME) return dir;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(`Cannot find the ${PACKAGE_NAME} package directory above ${from}: no package.json named ${PACKAGE_NAME}`);
    }
    dir = parent;
  }
}

/** Path of a bundled asset (`assets/<relative>`), checked to exist so a missing build fails with a clear message. */
export function assetPath(relative: string): string {
  const path = join(packageRoot(), 'assets', relative);
  if (!existsSync(path)) {
    throw new Error(`${PACKAGE_NAME}: bundled asset ${path} is missing. Run "npx projen bundle" (or "npx tsx scripts/bundle.ts") to build assets/ first.`);
  }
  return path;
}

function readName(manifest: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(manifest, 'utf8'));
    return typeof parsed === 'object' && parsed !== null ? (parsed as { name?: string }).name : undefined;
  } catch {
    return undefined;
  }
}
