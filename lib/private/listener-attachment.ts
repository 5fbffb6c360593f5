/**
 * Per-Listener wiring of a gateway: the fleet's UDP port mapping, the load-balancer listener and
 * target group, and the security-group rules for clients and for the load balancer's traffic to
 * the tasks. Checks that each Listener's name and port are unique in its gateway.
 */
import { Duration, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { listenerHealthPath } from './health-paths';
import { MAX_TARGET_GROUPS_PER_SERVICE } from './limits';
import { HostedListener, ListenerWiring } from './listener-host';
import { fail } from './validation';

/** The parts of the gateway that Listeners are wired into. */
export interface ListenerAttachmentProps {
  readonly vpc: ec2.IVpc;
  readonly loadBalancer: elbv2.NetworkLoadBalancer;
  readonly service: ecs.FargateService;
  readonly taskDefinition: ecs.FargateTaskDefinition;
  readonly container: ecs.ContainerDefinition;
  /** Port of the service's health server; each target group checks its Listener's path there over HTTP. */
  readonly healthPort: number;
  /** Deregistration delay of each target group (the tasks' stop timeout). */
  readonly deregistrationDelay: Duration;
}

/** Wires Listeners into a gateway's load balancer and fleet. */
export class ListenerAttachments {
  private readonly attached: HostedListener[] = [];
  private privilegedPortsAllowed = false;

  constructor(private readonly props: ListenerAttachmentProps) {}

  /** Checks that `listener` fits the gateway, then creates its wiring (constructs under the Listener). */
  public attach(listener: HostedListener, clientRestrictions: readonly string[] | undefined): ListenerWiring {
    this.checkFits(listener);
    this.attached.push(listener);
    const { loadBalancer, service } = this.props;
    const port = listener.port;

    this.mapPort(port);
    const loadBalancerListener = new elbv2.NetworkListener(listener, 'LoadBalancerListener', {
      loadBalancer,
      port,
      protocol: elbv2.Protocol.UDP,
    });
    const targetGroup = new elbv2.NetworkTargetGroup(listener, 'TargetGroup', {
      vpc: this.props.vpc,
      port,
      protocol: elbv2.Protocol.UDP,
      targetType: elbv2.TargetType.IP,
      deregistrationDelay: this.props.deregistrationDelay,
      connectionTermination: true,
      // HTTP on the Listener's own path: a task whose socket for this Listener is not bound leaves
      // this target group only, and the task's other Listeners keep serving.
      healthCheck: {
        protocol: elbv2.Protocol.HTTP,
        port: String(this.props.healthPort),
        path: listenerHealthPath(listener.listenerName),
        healthyHttpCodes: '200',
        interval: Duration.seconds(10),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 2,
      },
      targets: [service.loadBalancerTarget({ containerName: this.props.container.containerName, containerPort: port, protocol: ecs.Protocol.UDP })],
    });
    loadBalancerListener.addTargetGroups('Fleet', targetGroup);
    (service.node.defaultChild as ecs.CfnService).healthCheckGracePeriodSeconds = 60;
    service.node.addDependency(loadBalancerListener);

    const connections = new ec2.Connections({ securityGroups: loadBalancer.connections.securityGroups, defaultPort: ec2.Port.udp(port) });
    const peers = clientRestrictions
      ? clientRestrictions.map((cidr) => (cidr.includes(':') ? ec2.Peer.ipv6(cidr) : ec2.Peer.ipv4(cidr)))
      : [ec2.Peer.anyIpv4()];
    for (const peer of peers) connections.allowDefaultPortFrom(peer, `clients of Listener ${listener.listenerName}`);
    service.connections.allowFrom(loadBalancer, ec2.Port.udp(port), `Listener ${listener.listenerName}`);
    return { connections, loadBalancerListener, targetGroup };
  }

  private checkFits(listener: HostedListener): void {
    const port = listener.port;
    if (this.attached.some((l) => l.listenerName === listener.listenerName && !Token.isUnresolved(l.listenerName))) {
      fail(listener, `listenerName ${JSON.stringify(listener.listenerName)} is already used by another Listener of this gateway; Listener names must be unique`);
    }
    if (!Token.isUnresolved(port) && this.attached.some((l) => l.port === port)) {
      fail(listener, `port ${port} is already used by another Listener of this gateway; each Listener needs its own port`);
    }
    if (this.attached.length >= MAX_TARGET_GROUPS_PER_SERVICE) {
      fail(listener, `Listener ${listener.listenerName} would be Listener number ${this.attached.length + 1} of this gateway; a gateway serves at most `
        + `${MAX_TARGET_GROUPS_PER_SERVICE} Listeners, because each Listener has a target group and an ECS service registers with at most `
        + `${MAX_TARGET_GROUPS_PER_SERVICE} target groups; create another PacketGateway for more Listeners`);
    }
  }

  /** The container's UDP port mapping; ports below 1024 also let the unprivileged service bind them. */
  private mapPort(port: number): void {
    this.props.container.addPortMappings({ containerPort: port, protocol: ecs.Protocol.UDP });
    if ((Token.isUnresolved(port) || port < 1024) && !this.privilegedPortsAllowed) {
      // The service runs as an unprivileged user; let it bind ports below 1024 (DNS, NTP, CoAP…) in its own network namespace.
      this.privilegedPortsAllowed = true;
      (this.props.taskDefinition.node.defaultChild as ecs.CfnTaskDefinition)
        .addPropertyOverride('ContainerDefinitions.0.SystemControls', [{ Namespace: 'net.ipv4.ip_unprivileged_port_start', Value: '0' }]);
    }
  }
}
