/** Which data-plane modules a scenario needs, so a scenario can say what it waits for instead of failing. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT as ROOT } from '../lib/paths';

/** `undefined` when every module exists; otherwise a reason naming the missing ones. */
export function missingModules(modules: readonly string[]): string | undefined {
  const missing = modules.filter((m) => !fs.existsSync(path.join(ROOT, m)));
  return missing.length === 0 ? undefined : `module ${missing.join(', ')} missing`;
}
