/**
 * The target of a destination (a topic, a stream, a bus…): it grants the fleet what delivery needs
 * and gives the fields of its destination record. lib/destination.ts wraps each target in a
 * `Destination`; the targets live in lib/private/destination-<type>.ts.
 */
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { DestinationRecord } from './records';

/** The record fields a target describes: its Type, ARN and type-specific fields (the Listener adds name, formatter and batching). */
export type DestinationTargetFields = Omit<DestinationRecord, 'Name' | 'Formatter' | 'Batching' | 'MaxQueuedPackets' | 'MaxInFlightBatches'>;

export interface DestinationTarget {
  /** Grants `grantee` (the fleet) what delivery needs and returns the record fields. */
  bind(grantee: iam.IGrantable): DestinationTargetFields;
}
