/** Command-line options of the bench probes (`--name N`). */

/** The positive integer after `--name` on the command line, else `fallback`; throws naming a bad value. */
export function positiveIntegerOption(name: string, fallback: number, argv: readonly string[] = process.argv): number {
  const at = argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(argv[at + 1]);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} ${argv[at + 1]} is not valid (allowed: a positive integer)`);
  return value;
}
