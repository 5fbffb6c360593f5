import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';

/** What a gateway creates for each of its Listeners. */
export interface ListenerWiring {
  /** The load balancer's security group with the Listener's port as default port. */
  readonly connections: ec2.Connections;
  readonly loadBalancerListener: elbv2.NetworkListener;
  readonly targetGroup: elbv2.NetworkTargetGroup;
}
