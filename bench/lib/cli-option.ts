/** Command-line options of the bench probes (`--name N`). */

/** `text` (the value given for `--name`) as a positive integer; throws naming a bad value. */
export function positiveInteger(name: string, text: string | undefined): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} ${text} is not valid (allowed: a positive integer)`);
  return value;
}

/** The positive integer after `--name` on the command line, else `fallback`; throws naming a bad value. */
export function positiveIntegerOption(name: string, fallback: number, argv: readonly string[] = process.argv): number {
  const at = argv.indexOf(`--${name}`);
  return at < 0 ? fallback : positiveInteger(name, argv[at + 1]);
}
