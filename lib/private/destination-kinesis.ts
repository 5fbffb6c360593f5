/** The construct side of Kinesis Data Streams destinations: grants and the record of a stream. */
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kinesis from 'aws-cdk-lib/aws-kinesis';
import type { DestinationTarget, DestinationTargetFields } from './destination-target';
import type { ArgumentFormatterName, KinesisArgumentsRecord } from './records';
import type { Formatter } from '../formatter';

/** Puts packets into a Kinesis data stream, one record per packet. */
export class KinesisDestinationTarget implements DestinationTarget {
  public constructor(
    private readonly stream: kinesis.IStream,
    private readonly partitionKeyExpression: string | undefined,
    private readonly partitionKeyFormatter: Formatter | undefined,
  ) {}

  /** Grants `kinesis:PutRecords` on the stream and, when it is encrypted with a customer-managed KMS key, `kms:GenerateDataKey` on that key. */
  public bind(grantee: iam.IGrantable): DestinationTargetFields {
    this.stream.grant(grantee, 'kinesis:PutRecords');
    this.stream.encryptionKey?.grant(grantee, 'kms:GenerateDataKey');
    const args: KinesisArgumentsRecord = {
      ...(this.partitionKeyExpression !== undefined ? { PartitionKeyExpression: this.partitionKeyExpression } : {}),
      ...(this.partitionKeyFormatter !== undefined ? { PartitionKeyFormatter: this.partitionKeyFormatter as string as ArgumentFormatterName } : {}),
    };
    return {
      Type: 'kinesis',
      Arn: this.stream.streamArn,
      ...(Object.keys(args).length > 0 ? { Arguments: args } : {}),
    };
  }
}
