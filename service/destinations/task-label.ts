/**
 * A label of this gateway task for names that must not collide between tasks: the CloudWatch Logs
 * destination's log streams and the S3 destination's object keys. Host name and start time,
 * reduced to characters both allow (A-Z a-z 0-9 . _ -).
 */
import { hostname } from 'node:os';

let label: string | undefined;

/** `<host>-<start time yyyyMMddTHHmmssZ>`, the same for the life of the process. */
export function taskLabel(): string {
  label ??= `${hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 100)}-${new Date().toISOString().replace(/[-:]|\.\d+/g, '')}`;
  return label;
}
