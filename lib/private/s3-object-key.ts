/**
 * Object keys of the S3 destination: `KeyPrefix` followed by `KeyFormat`, whose placeholders are
 * replaced when a batch is written. Parsed once per destination (and checked at synth and
 * registration); rendering a key is a join of precomputed pieces.
 *
 * Placeholders (times are the UTC time the object is written):
 * - `{yyyy}` `{MM}` `{dd}` `{HH}` `{mm}` `{ss}`: year, month, day, hour, minute, second, zero-padded;
 * - `{listener}`: the Listener's name; `{destination}`: the destination's name;
 * - `{task}`: the gateway task that wrote the object (host name and start time);
 * - `{unique}`: 16 random hex characters. Required: two tasks, or two batches of one task in the
 *   same second, never write the same key.
 */
import type { TextPattern } from './limits';

/** The default key layout: date partitions under the Listener and destination. */
export const S3_DEFAULT_KEY_FORMAT = '{listener}/{destination}/{yyyy}/{MM}/{dd}/{HH}/{yyyy}{MM}{dd}T{HH}{mm}{ss}Z-{task}-{unique}.ndjson';

/** The placeholders a KeyFormat may use. */
export const S3_KEY_PLACEHOLDERS = ['yyyy', 'MM', 'dd', 'HH', 'mm', 'ss', 'listener', 'destination', 'task', 'unique'] as const;
export type S3KeyPlaceholder = (typeof S3_KEY_PLACEHOLDERS)[number];

/** A KeyPrefix: up to 512 characters, no control characters. */
export const S3_KEY_PREFIX: TextPattern = {
  pattern: /^[^\u0000-\u001f\u007f]{0,512}$/,
  allowed: 'up to 512 characters without control characters',
};

/** Longest KeyFormat (S3 keys are at most 1024 bytes; the prefix and the names take the rest). */
export const S3_MAX_KEY_FORMAT_LENGTH = 256;

/** Text of the allowed KeyFormat values, for messages. */
export const S3_KEY_FORMAT_ALLOWED = `up to ${S3_MAX_KEY_FORMAT_LENGTH} characters without control characters, `
  + `placeholders ${S3_KEY_PLACEHOLDERS.map((p) => `{${p}}`).join(' ')}, including {unique}`;

/** A parsed KeyFormat: literal text and placeholders, alternating. */
export type S3KeyPart = { readonly text: string } | { readonly placeholder: S3KeyPlaceholder };

/**
 * Parses a KeyFormat. Returns the parts, or a problem naming the offending placeholder or
 * character and what is allowed.
 */
export function parseS3KeyFormat(format: string): { readonly parts: readonly S3KeyPart[] } | { readonly problem: string } {
  if (typeof format !== 'string' || format.length === 0 || format.length > S3_MAX_KEY_FORMAT_LENGTH) {
    return { problem: `is not a key format (allowed: ${S3_KEY_FORMAT_ALLOWED})` };
  }
  const control = /[\u0000-\u001f\u007f]/.exec(format);
  if (control) return { problem: `has a control character at column ${control.index + 1} (allowed: ${S3_KEY_FORMAT_ALLOWED})` };
  const parts: S3KeyPart[] = [];
  let unique = false;
  let text = '';
  let i = 0;
  while (i < format.length) {
    const c = format[i];
    if (c === '}') return { problem: `has an unmatched } at column ${i + 1} (allowed: ${S3_KEY_FORMAT_ALLOWED})` };
    if (c !== '{') {
      text += c;
      i++;
      continue;
    }
    const end = format.indexOf('}', i);
    if (end < 0) return { problem: `has an unclosed { at column ${i + 1} (allowed: ${S3_KEY_FORMAT_ALLOWED})` };
    const name = format.slice(i + 1, end);
    if (!(S3_KEY_PLACEHOLDERS as readonly string[]).includes(name)) {
      return { problem: `has an unknown placeholder {${name}} at column ${i + 1} (allowed: ${S3_KEY_FORMAT_ALLOWED})` };
    }
    if (text) parts.push({ text });
    text = '';
    parts.push({ placeholder: name as S3KeyPlaceholder });
    unique ||= name === 'unique';
    i = end + 1;
  }
  if (text) parts.push({ text });
  if (!unique) return { problem: `has no {unique} placeholder, so objects could overwrite each other (allowed: ${S3_KEY_FORMAT_ALLOWED})` };
  return { parts };
}

/** What the placeholders other than the time and `{unique}` stand for. */
export interface S3KeyNames {
  readonly listener: string;
  readonly destination: string;
  readonly task: string;
}

/** Renders object keys of one destination. */
export class S3ObjectKeys {
  private readonly parts: readonly S3KeyPart[];

  /** @throws Error naming the format and what is allowed when `format` is not valid. */
  public constructor(private readonly prefix: string, format: string, private readonly names: S3KeyNames) {
    const parsed = parseS3KeyFormat(format);
    if ('problem' in parsed) throw new Error(`KeyFormat ${JSON.stringify(format)} ${parsed.problem}`);
    this.parts = parsed.parts;
  }

  /** The key of an object written at `at` (epoch milliseconds) with the random suffix `unique`. */
  public key(at: number, unique: string): string {
    const iso = new Date(at).toISOString(); // yyyy-MM-ddTHH:mm:ss.sssZ
    let key = this.prefix;
    for (const part of this.parts) {
      if ('text' in part) {
        key += part.text;
        continue;
      }
      switch (part.placeholder) {
        case 'yyyy': key += iso.slice(0, 4); break;
        case 'MM': key += iso.slice(5, 7); break;
        case 'dd': key += iso.slice(8, 10); break;
        case 'HH': key += iso.slice(11, 13); break;
        case 'mm': key += iso.slice(14, 16); break;
        case 'ss': key += iso.slice(17, 19); break;
        case 'listener': key += this.names.listener; break;
        case 'destination': key += this.names.destination; break;
        case 'task': key += this.names.task; break;
        case 'unique': key += unique; break;
      }
    }
    return key;
  }
}
