/** The construct side of SNS destinations: grants and the record of a topic. */
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { DestinationTarget, DestinationTargetFields } from './destination-target';

/** Publishes packets to an SNS topic, one message per packet. */
export class SnsDestinationTarget implements DestinationTarget {
  public constructor(private readonly topic: sns.ITopic) {}

  /** Grants `sns:Publish` on the topic and, when it is encrypted with a KMS key, use of that key. */
  public bind(grantee: iam.IGrantable): DestinationTargetFields {
    this.topic.grantPublish(grantee);
    return { Type: 'sns', Arn: this.topic.topicArn };
  }
}
