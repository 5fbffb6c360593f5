/**
 * The global lab's stand-in for an SNS subscription across regions: in AWS, a topic of one region
 * delivers to the delivery queues of the other regions' gateways, each subscribed with the filter
 * policy `{"EgressRegion":[<its region>]}` (lambda/registration/subscriptions.ts). The lab's regions
 * have API servers of their own, so the topic's region gets a bridge queue subscribed with that
 * filter policy, and this bridge moves what arrives there to the other region's delivery queue,
 * message bodies (the SNS notifications) unchanged. Lag: one long poll of at most 1 s.
 */
import { SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { filterPolicyFor } from '../../lambda/registration/subscriptions';

export interface SnsBridgeOptions {
  /** The topic's region and API endpoints (SNS and SQS). */
  readonly from: { readonly region: string; readonly sns: string; readonly sqs: string };
  readonly topicArn: string;
  /** The region whose gateway the subscription is for, and its delivery queue (URL on its own SQS endpoint). */
  readonly to: { readonly region: string; readonly sqs: string; readonly deliveryQueueUrl: string };
  /** Name of the bridge queue in the topic's region. */
  readonly queueName: string;
}

export interface SnsBridge {
  /** Notifications moved so far. */
  readonly moved: number;
  stop(): Promise<void>;
}

const credentials = { accessKeyId: 'fleet', secretAccessKey: 'fleet' };

export async function startSnsBridge(options: SnsBridgeOptions): Promise<SnsBridge> {
  const sns = new SNSClient({ region: options.from.region, endpoint: options.from.sns, credentials });
  const source = new SQSClient({ region: options.from.region, endpoint: options.from.sqs, credentials });
  const target = new SQSClient({ region: options.to.region, endpoint: options.to.sqs, credentials });
  const destroy = (): void => [sns, source, target].forEach((c) => c.destroy());
  let queueUrl: string;
  try {
    queueUrl = (await source.send(new CreateQueueCommand({ QueueName: options.queueName }))).QueueUrl!;
    const arn = (await source.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
    if (!arn) throw new Error(`SQS returned no QueueArn for ${queueUrl}`);
    const filterPolicy = filterPolicyFor(options.to.region, options.from.region);
    await sns.send(new SubscribeCommand({
      TopicArn: options.topicArn,
      Protocol: 'sqs',
      Endpoint: arn,
      ...(filterPolicy ? { Attributes: { FilterPolicy: filterPolicy } } : {}),
    }));
  } catch (err) {
    destroy();
    throw err;
  }
  let moved = 0;
  let stopped = false;
  const abort = new AbortController();
  const loop = (async () => {
    while (!stopped) {
      try {
        const receive = new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 });
        const out = await source.send(receive, { abortSignal: abort.signal });
        const messages = out.Messages ?? [];
        for (const m of messages) {
          await target.send(new SendMessageCommand({ QueueUrl: options.to.deliveryQueueUrl, MessageBody: m.Body ?? '' }));
          moved++;
        }
        if (messages.length > 0) {
          await source.send(new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
          }));
        }
      } catch {
        // a region's API servers stopping; try again unless stopped
        if (!stopped) await new Promise((done) => setTimeout(done, 200));
      }
    }
  })();
  return {
    get moved() {
      return moved;
    },
    async stop() {
      stopped = true;
      abort.abort();
      await loop;
      destroy();
    },
  };
}
