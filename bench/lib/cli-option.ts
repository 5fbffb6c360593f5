/** Command-line options of the bench probes (`--name N`). */

/** `text` (the value given for `--name`) as a positive integer; throws naming a bad value. */
export function positiveInteger(name: string, text: string | undefined): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} ${text} is not valid (allowed: a positive integer)`);
  return value;
}

/** `text` (the value given for `--name`) as an integer of 0 or more; throws naming a bad value. */
export function nonNegativeInteger(name: string, text: string | undefined): number {
  const value = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isInteger(value) || value < 0) {
    throw new Error(`--${name} ${text} is not valid (allowed: an integer of 0 or more)`);
  }
  return value;
}

/** `text` (the value given for `--name`) as one of `allowed`; throws naming a bad value and the allowed ones. */
export function oneOf<T extends string>(name: string, text: string | undefined, allowed: readonly T[]): T {
  if (!allowed.includes(text as T)) throw new Error(`--${name} ${text} is not valid (allowed: ${allowed.join(', ')})`);
  return text as T;
}

/** The positive integer after `--name` on the command line, else `fallback`; throws naming a bad value. */
export function positiveIntegerOption(name: string, fallback: number, argv: readonly string[] = process.argv): number {
  const at = argv.indexOf(`--${name}`);
  return at < 0 ? fallback : positiveInteger(name, argv[at + 1]);
}
