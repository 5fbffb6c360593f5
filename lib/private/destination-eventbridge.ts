/** The construct side of EventBridge destinations: grants and the record of an event bus. */
import type * as events from 'aws-cdk-lib/aws-events';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { DestinationTarget, DestinationTargetFields } from './destination-target';
import type { EventBridgeArgumentsRecord } from './records';

/**
 * Puts one event per packet on an event bus. A bus encrypted with a customer-managed key uses it
 * through the key's policy for EventBridge, so senders need no KMS permission.
 */
export class EventBridgeDestinationTarget implements DestinationTarget {
  public constructor(
    private readonly bus: events.IEventBus,
    private readonly source: string | undefined,
    private readonly detailType: string | undefined,
  ) {}

  /** Grants `events:PutEvents` on the bus. */
  public bind(grantee: iam.IGrantable): DestinationTargetFields {
    this.bus.grantPutEventsTo(grantee);
    const args: EventBridgeArgumentsRecord = {
      ...(this.source !== undefined ? { EventSource: this.source } : {}),
      ...(this.detailType !== undefined ? { EventDetailType: this.detailType } : {}),
    };
    return { Type: 'eventbridge', Arn: this.bus.eventBusArn, ...(Object.keys(args).length > 0 ? { Arguments: args } : {}) };
  }
}
