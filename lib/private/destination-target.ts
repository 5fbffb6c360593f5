/**
 * What the binding of a destination in lib/private/destination-<type>.ts gives back: the target
 * as the Listener record names it (lib/destination.ts imports these modules and wraps each target
 * in a `Destination`; they do not import it).
 */
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { DestinationArgumentsRecord, DestinationRecord } from './records';

/** A write-only target bound by a function: its type, ARN and `Arguments`. */
export interface WriteOnlyTarget {
  /** Destination type understood by the data plane. */
  readonly type: string;
  /** ARN of the target. */
  readonly arn: string;
  /** The destination's `Arguments`, when any differs from its default. */
  readonly arguments?: DestinationArgumentsRecord;
}

/** The record fields a target describes: its Type, ARN and type-specific fields (the Listener adds name, formatter and batching). */
export type DestinationTargetFields = Omit<DestinationRecord, 'Name' | 'Formatter' | 'Batching' | 'MaxQueuedPackets' | 'MaxInFlightBatches'>;

/** A target (a topic, a stream, a bus…) that grants the fleet what delivery needs and gives the fields of its destination record. */
export interface DestinationTarget {
  /** Grants `grantee` (the fleet) what delivery needs and returns the record fields. */
  bind(grantee: iam.IGrantable): DestinationTargetFields;
}
