/**
 * One PacketSource per SNS topic in an app. The registration lets a newer resource of a stack
 * take a topic's binding over (a construct moved to a new logical id is created before the old
 * one is deleted), so two PacketSources of one app on one topic would not fail at deployment: the
 * second would silently replace the first. The constructs refuse it when the app is built.
 */
import { Token } from 'aws-cdk-lib';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { IConstruct } from 'constructs';
import { fail } from './validation';

/** Marks a construct that binds a topic (a property, so copies of this library in one app see each other). */
const BOUND_TOPIC = Symbol.for('cdk-packet-gateway.PacketSource.topic');

type TopicBinder = IConstruct & { [BOUND_TOPIC]?: sns.ITopic };

/**
 * Records that `source` binds `topic`; throws naming the topic and both construct paths when
 * another construct of the app already binds it (the same topic construct, or the same ARN).
 */
export function bindTopicOnce(source: IConstruct, topic: sns.ITopic): void {
  for (const other of source.node.root.node.findAll() as TopicBinder[]) {
    const bound = other[BOUND_TOPIC];
    if (other === source || bound === undefined) continue;
    if (bound === topic || bound.topicArn === topic.topicArn) {
      const name = Token.isUnresolved(topic.topicArn) ? `topic ${topic.node.path}` : `topic ${topic.topicArn}`;
      fail(source, `${name} is already bound by PacketSource ${other.node.path}; a topic is bound by one PacketSource `
        + '(the second would take the binding over from the first): use another topic, or remove one of them');
    }
  }
  (source as TopicBinder)[BOUND_TOPIC] = topic;
}
