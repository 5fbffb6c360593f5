/** The construct side of Firehose destinations: grants and the record of a delivery stream. */
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import type { DestinationTarget, DestinationTargetFields } from './destination-target';

/**
 * Puts packets into a Firehose delivery stream, one newline-terminated JSON record per packet.
 * A delivery stream encrypted with a customer-managed key uses it through its own grant, so
 * producers need no KMS permission.
 */
export class FirehoseDestinationTarget implements DestinationTarget {
  public constructor(private readonly deliveryStream: firehose.IDeliveryStream) {}

  /** Grants `firehose:PutRecordBatch` on the delivery stream. */
  public bind(grantee: iam.IGrantable): DestinationTargetFields {
    this.deliveryStream.grant(grantee, 'firehose:PutRecordBatch');
    return { Type: 'firehose', Arn: this.deliveryStream.deliveryStreamArn };
  }
}
