/**
 * The target of a destination record whose `Arn` names it (SNS topic, Kinesis stream, Firehose
 * delivery stream, EventBridge bus): checked against its pattern and against the region the
 * gateway's clients send to, when the destination is created.
 */
import { parseArn, ParsedArn } from '../../lib/private/arn';
import type { TextPattern } from '../../lib/private/limits';
import type { ResolvedDestinationRecord } from '../../lib/private/records';

/** A destination's target ARN and its fields. */
export interface DestinationArn extends ParsedArn {
  readonly arn: string;
}

/**
 * The `Arn` of `record`, parsed.
 * @throws Error naming the value and what is allowed when it is missing, does not match `pattern`
 * (`what` names the resource) or is in another region than `region`.
 */
export function destinationArn(record: ResolvedDestinationRecord, pattern: TextPattern, what: string, region: string): DestinationArn {
  const arn = record.Arn;
  if (arn === undefined) throw new Error(`Arn is required for Type ${record.Type} (allowed: ${pattern.allowed})`);
  const parsed = pattern.pattern.test(arn) ? parseArn(arn) : undefined;
  if (!parsed) throw new Error(`Arn ${JSON.stringify(arn)} is not ${what} (allowed: ${pattern.allowed})`);
  if (parsed.region !== region) {
    throw new Error(`Arn ${JSON.stringify(arn)} is in region ${parsed.region} (allowed: ${what} in the gateway's region ${region})`);
  }
  return { ...parsed, arn };
}
