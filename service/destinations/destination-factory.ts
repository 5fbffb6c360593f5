/**
 * Creates destinations by `Type`. A new AWS service is one module exporting a
 * {@link DestinationConstructor} and one line in {@link DESTINATION_FACTORIES}.
 */
import type { Destination, DestinationConstructor, DestinationContext } from './destination';
import { createLambdaDestination } from './lambda-destination';
import { createLocalDestination } from './local-destination';
import { createLogDestination } from './log-destination';
import { createSqsDestination } from './sqs-destination';
import type { DestinationRecord, DestinationTypeName, ListenerRecord } from '../../lib/private/records';

export const DESTINATION_FACTORIES: Readonly<Record<DestinationTypeName, DestinationConstructor>> = {
  lambda: createLambdaDestination,
  sqs: createSqsDestination,
  local: createLocalDestination,
  log: createLogDestination,
};

/** Creates the destination for `record` of `listener`. Rejects with a message naming both when it cannot. */
export async function createDestination(record: DestinationRecord, listener: ListenerRecord, context: DestinationContext): Promise<Destination> {
  const factory = DESTINATION_FACTORIES[record.Type];
  if (!factory) {
    throw new Error(`Listener ${listener.Name}, destination ${record.Name}: Type ${JSON.stringify(record.Type)} is not supported (allowed: ${Object.keys(DESTINATION_FACTORIES).join(', ')})`);
  }
  try {
    return await factory(record, listener, context);
  } catch (err) {
    const message = (err as Error)?.message ?? String(err);
    throw new Error(`Listener ${listener.Name}, destination ${record.Name}: ${message}`);
  }
}
