import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';

/**
 * A Packet Gateway as its Listeners and PacketSources see it: where to register, whom to trust,
 * and how clients reach it. Implemented by `PacketGateway`.
 */
export interface IPacketGateway extends IConstruct, ec2.IConnectable {
  /** Service token of the registration provider, for Listener and PacketSource resources. */
  readonly serviceToken: string;

  /** ARN of `accessRole`: the principal that PacketSource roles trust. */
  readonly registrationPrincipalArn: string;

  /** Delivery queues a PacketSource registered here subscribes: this region's, then the peers'. */
  readonly deliveryQueueArns: string[];

  /** The identity the fleet runs as, which destinations grant what delivery needs. */
  readonly accessRole: iam.IRole;

  /** DNS name of the load balancer. */
  readonly loadBalancerDnsName: string;

  /** Public addresses of the load balancer (one per subnet) when `assignElasticIps` is on; else empty. */
  readonly elasticIpAddresses: string[];
}
