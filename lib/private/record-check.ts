/**
 * Runs the data plane's record validator (validate-records.ts) on a record a construct renders,
 * so a value the data plane or the registration function would refuse fails at synth, with the
 * construct's path in the message. A value that is an unresolved token is known only at deploy
 * time: problems reported at or under its path are left to the registration function.
 */
import { Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import type { ListenerRecord, PacketSourceRecord } from './records';
import { validateListenerRecord, validatePacketSourceRecord } from './validate-records';
import { fail } from './validation';

/** Fails, naming `scope`, when the data plane would refuse `record`. */
export function checkListenerRecord(scope: IConstruct, record: ListenerRecord): void {
  report(scope, validateListenerRecord(record, 'Listener'), unresolvedPaths(record, 'Listener'));
}

/** Fails, naming `scope`, when the registration function would refuse `record`. */
export function checkPacketSourceRecord(scope: IConstruct, record: PacketSourceRecord): void {
  report(scope, validatePacketSourceRecord(record, 'PacketSource'), unresolvedPaths(record, 'PacketSource'));
}

function report(scope: IConstruct, errors: readonly string[], unresolved: readonly string[]): void {
  const known = errors.filter((error) => !unresolved.some((path) => isAtOrUnder(error, path)));
  if (known.length > 0) fail(scope, known.join('; '));
}

/** True when the message `error` (`<path>: <problem>`) is about `path` or a field under it. */
function isAtOrUnder(error: string, path: string): boolean {
  if (!error.startsWith(path)) return false;
  const next = error.charAt(path.length);
  return next === ':' || next === '.' || next === '[';
}

/** Paths, in the validator's notation (`Listener.Destinations[0].Arn`), of the values that are unresolved tokens. */
function unresolvedPaths(value: unknown, path: string, found: string[] = []): string[] {
  if (Token.isUnresolved(value)) {
    found.push(path);
  } else if (Array.isArray(value)) {
    value.forEach((item, i) => unresolvedPaths(item, `${path}[${i}]`, found));
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) unresolvedPaths(item, `${path}.${key}`, found);
  }
  return found;
}
