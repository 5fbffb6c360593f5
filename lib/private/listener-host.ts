/**
 * The port between a Listener and the gateway that serves it. The gateway registers a
 * {@link ListenerHost} on itself; a Listener looks it up from the gateway it is given and wires
 * itself through it, so Listener code depends on this interface, never on the gateway class.
 */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { IConstruct } from 'constructs';
import { fail } from './validation';

/** The parts of a Listener its host works with. */
export interface HostedListener extends IConstruct {
  readonly listenerName: string;
  readonly port: number;
}

/** What a gateway creates for each of its Listeners. */
export interface ListenerWiring {
  /** The load balancer's security group with the Listener's port as default port. */
  readonly connections: ec2.Connections;
  readonly loadBalancerListener: elbv2.NetworkListener;
  readonly targetGroup: elbv2.NetworkTargetGroup;
}

/** How a secret reaches the fleet as an environment variable. */
export interface FleetSecretOptions {
  /** Key of a JSON secret whose value the variable gets. @default - the whole secret value */
  readonly field?: string;
  /** Version the tasks read. @default - the current version when a task starts */
  readonly versionId?: string;
}

/** What a Listener needs from the gateway that serves it. */
export interface ListenerHost<L extends HostedListener = HostedListener> {
  /** Service token of the registration provider. */
  readonly serviceToken: string;
  /** The principal PacketSource roles trust. */
  readonly registrationPrincipalArn: string;
  /** The peers' registration principals, which PacketSource roles trust too. */
  readonly peerPrincipalArns: string[];
  /** Delivery queues a PacketSource of the Listener subscribes. */
  readonly deliveryQueueArns: string[];
  /** The fleet's identity: destinations grant it delivery, and the Listener record waits for its policies. */
  readonly fleetRole: iam.IRole;
  /** The identity that reads and writes WireGuard key secrets (the registration function). */
  readonly registrationGrantee: iam.IGrantable;
  /** The fleet's service: records that name new task-definition settings wait until it has rolled. */
  readonly fleet: IConstruct;
  /** What happens to a WireGuard private-key secret the Listener creates when it leaves the stack. */
  readonly keyRemovalPolicy: RemovalPolicy;
  /** Dimensions every metric of the gateway's fleet carries (`Service`, `Gateway`); a Listener's metrics add `Listener`. */
  readonly metricDimensions: Readonly<Record<string, string>>;

  /** Checks that the Listener fits the gateway, then creates its port mapping, load-balancer listener, target group and rules. */
  attachListener(listener: L, clientRestrictions: readonly string[] | undefined): ListenerWiring;

  /**
   * Passes `secret` to the fleet in the first free environment variable among `baseName`,
   * `baseName_2`, `baseName_3`…, and returns that name.
   */
  addSecretVariable(baseName: string, secret: secretsmanager.ISecret, options?: FleetSecretOptions): string;
}

/** Where a gateway keeps its host: a property of the gateway construct, not module state. */
const LISTENER_HOST = Symbol.for('cdk-packet-gateway.ListenerHost');

/** Makes `host` the Listener host of `gateway`. */
export function registerListenerHost<L extends HostedListener>(gateway: IConstruct, host: ListenerHost<L>): void {
  Object.defineProperty(gateway, LISTENER_HOST, { value: host, enumerable: false, writable: false });
}

/** The Listener host of `gateway`; fails, naming `scope`, when `gateway` is not a PacketGateway of this library. */
export function listenerHostOf<L extends HostedListener>(scope: IConstruct, gateway: IConstruct): ListenerHost<L> {
  const host = (gateway as unknown as { [LISTENER_HOST]?: ListenerHost<L> })[LISTENER_HOST];
  if (!host) fail(scope, `gateway must be a PacketGateway of cdk-packet-gateway, got ${gateway.node.path}; create the Listener with gateway.addListener()`);
  return host;
}
