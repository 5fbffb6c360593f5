/**
 * Creates destinations by `Type` from a table of constructors. A new AWS service is one module
 * exporting a {@link DestinationConstructor} and one line in {@link AWS_DESTINATION_FACTORIES}.
 * Local mode adds its own types (service/local/local-destination-factories.ts); the AWS data
 * plane cannot build them.
 */
import type { Destination, DestinationConstructor, DestinationContext } from './destination';
import { createEventBridgeDestination } from './eventbridge-destination';
import { createFirehoseDestination } from './firehose-destination';
import { createKinesisDestination } from './kinesis-destination';
import { createLambdaDestination } from './lambda-destination';
import { createSnsDestination } from './sns-destination';
import { createSqsDestination } from './sqs-destination';
import type { DestinationRecord, DestinationTypeName, ListenerRecord } from '../../lib/private/records';

/** Constructors by destination type; a type without an entry cannot be built. */
export type DestinationFactories = Readonly<Partial<Record<DestinationTypeName, DestinationConstructor>>>;

/** The destinations of an AWS deployment. */
export const AWS_DESTINATION_FACTORIES: DestinationFactories = Object.freeze({
  lambda: createLambdaDestination,
  sqs: createSqsDestination,
  sns: createSnsDestination,
  kinesis: createKinesisDestination,
  firehose: createFirehoseDestination,
  eventbridge: createEventBridgeDestination,
});

/**
 * Creates the destination for `record` of `listener` from `factories`. Rejects with a message
 * naming both (and the types `factories` allows) when it cannot.
 */
export async function createDestination(
  record: DestinationRecord,
  listener: ListenerRecord,
  context: DestinationContext,
  factories: DestinationFactories = AWS_DESTINATION_FACTORIES,
): Promise<Destination> {
  const factory = Object.prototype.hasOwnProperty.call(factories, record.Type) ? factories[record.Type] : undefined;
  if (!factory) {
    throw new Error(`Listener ${listener.Name}, destination ${record.Name}: Type ${JSON.stringify(record.Type)} is not supported (allowed: ${Object.keys(factories).join(', ')})`);
  }
  try {
    return await factory(record, listener, context);
  } catch (err) {
    const message = (err as Error)?.message ?? String(err);
    throw new Error(`Listener ${listener.Name}, destination ${record.Name}: ${message}`);
  }
}
