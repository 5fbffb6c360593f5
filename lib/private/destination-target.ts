/**
 * What the binding of a destination in lib/private/destination-<type>.ts gives back: the target
 * as the Listener record names it (the `DestinationConfig` of lib/destination.ts, which these
 * modules do not import: lib/destination.ts imports them).
 */
import type { DestinationArgumentsRecord } from './records';

export interface WriteOnlyTarget {
  /** Destination type understood by the data plane. */
  readonly type: string;
  /** ARN of the target. */
  readonly arn: string;
  /** The destination's `Arguments`, when any differs from its default. */
  readonly arguments?: DestinationArgumentsRecord;
}
