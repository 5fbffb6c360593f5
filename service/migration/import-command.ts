/** `packet-gateway import-proxylity`: reads a template, writes the converted files, prints the leftovers. */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { convertProxylityTemplate, parseProxylityTemplate, ProxylityTemplateError } from './proxylity-import';

export interface ImportIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

/** Files the command writes in its output directory. */
export const IMPORT_FILES = { cdk: 'gateway-stack.ts', local: 'gateway.json', leftovers: 'leftovers.json' } as const;

/** Exit code 0 when converted (leftovers are warnings), 1 when the template cannot be read or converted. */
export async function importProxylityCommand(templatePath: string, outDir: string, firstPort: number | undefined, io: ImportIo): Promise<number> {
  let text: string;
  try {
    text = await readFile(templatePath, 'utf8');
  } catch (err) {
    io.err(`packet-gateway import-proxylity: cannot read ${templatePath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    return 1;
  }
  let result;
  try {
    result = convertProxylityTemplate(parseProxylityTemplate(text, templatePath), { firstPort });
  } catch (err) {
    if (!(err instanceof ProxylityTemplateError)) throw err;
    io.err(`packet-gateway import-proxylity: ${err.message}`);
    return 1;
  }
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, IMPORT_FILES.cdk), result.cdkCode);
  await writeFile(join(outDir, IMPORT_FILES.local), `${JSON.stringify(result.localConfig, null, 2)}\n`);
  await writeFile(join(outDir, IMPORT_FILES.leftovers), `${JSON.stringify(result.leftovers, null, 2)}\n`);
  io.out(`wrote ${join(outDir, IMPORT_FILES.cdk)}, ${join(outDir, IMPORT_FILES.local)}, ${join(outDir, IMPORT_FILES.leftovers)}`);
  if (result.leftovers.length === 0) {
    io.out('every property was carried over');
  } else {
    io.out(`${result.leftovers.length} properties not carried over:`);
    for (const l of result.leftovers) io.out(`  ${l.path}: ${l.reason}`);
  }
  return 0;
}
