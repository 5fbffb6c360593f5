/**
 * Creates destinations by `Type` from a table of constructors. A new AWS service is one module
 * exporting a {@link DestinationConstructor} and one line in {@link AWS_DESTINATION_FACTORIES}.
 * Local mode adds its own types (service/local/local-destination-factories.ts); the AWS data
 * plane cannot build them.
 */
import { createApiGatewayDestination } from './api-gateway-destination';
import { createCloudWatchLogsDestination } from './cloudwatch-logs-destination';
import type { Destination, DestinationConstructor, DestinationContext } from './destination';
import { createDynamoDbDestination } from './dynamodb-destination';
import { createEventBridgeDestination } from './eventbridge-destination';
import { createFirehoseDestination } from './firehose-destination';
import { createKinesisDestination } from './kinesis-destination';
import { createLambdaDestination } from './lambda-destination';
import { createS3Destination } from './s3-destination';
import { createSnsDestination } from './sns-destination';
import { createSqsDestination } from './sqs-destination';
import { createStepFunctionsDestination } from './step-functions-destination';
import type { DestinationRecord, DestinationTypeName, ListenerRecord, ResolvedDestinationRecord } from '../../lib/private/records';
import { isRegionalArnMap, resolveRegionalArn } from '../../lib/private/region-map';

/** Constructors by destination type; a type without an entry cannot be built. */
export type DestinationFactories = Readonly<Partial<Record<DestinationTypeName, DestinationConstructor>>>;

/** The destinations of an AWS deployment. */
export const AWS_DESTINATION_FACTORIES: DestinationFactories = Object.freeze({
  lambda: createLambdaDestination,
  sqs: createSqsDestination,
  stepfunctions: createStepFunctionsDestination,
  apigateway: createApiGatewayDestination,
  logs: createCloudWatchLogsDestination,
  s3: createS3Destination,
  dynamodb: createDynamoDbDestination,
  sns: createSnsDestination,
  kinesis: createKinesisDestination,
  firehose: createFirehoseDestination,
  eventbridge: createEventBridgeDestination,
});

/**
 * Creates the destination for `record` of `listener` from `factories`; a record with a `Role` is
 * built in the role's context, so every client it uses signs with the role's credentials. Rejects
 * with a message naming both (and the types `factories` allows) when it cannot.
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
    const scoped = record.Role ? context.forRole(record.Role) : context;
    return await factory(resolveDestinationArn(record, context.region), listener, scoped);
  } catch (err) {
    const message = (err as Error)?.message ?? String(err);
    throw new Error(`Listener ${listener.Name}, destination ${record.Name}: ${message}`);
  }
}

/**
 * The record with a region-map `Arn` replaced by the ARN a gateway in `region` uses (its own
 * region's, then `*`'s, then the nearest region's: lib/private/region-map.ts).
 * @throws Error naming the map's regions when none fits (every entry in another partition).
 */
export function resolveDestinationArn(record: DestinationRecord, region: string): ResolvedDestinationRecord {
  const arn = record.Arn;
  if (!isRegionalArnMap(arn)) return record as ResolvedDestinationRecord;
  const chosen = resolveRegionalArn(arn, region);
  if (chosen === undefined) {
    throw new Error(`Arn has no entry this gateway (region ${region}) can use (entries: ${Object.keys(arn).join(', ')}; allowed: ${region}, *, or a region of the same partition)`);
  }
  return { ...record, Arn: chosen };
}
