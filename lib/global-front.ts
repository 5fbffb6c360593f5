import { ArnFormat, Stack, Token } from 'aws-cdk-lib';
import * as globalaccelerator from 'aws-cdk-lib/aws-globalaccelerator';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import type { PacketGateway } from './gateway';
import { NETWORK_LOAD_BALANCER_ARN, parseArn } from './private/arn';
import { PORT } from './private/limits';
import { sdkLookup } from './private/sdk-lookup';
import { fail, validateArn, validateIntegerRange, validateRange, validateRegion } from './private/validation';

/** Addresses a {@link GlobalFront} gives its clients. */
export enum GlobalFrontIpAddressType {
  /** Two static anycast IPv4 addresses. */
  IPV4 = 'IPV4',
  /** Two static anycast IPv4 and two IPv6 addresses. */
  DUAL_STACK = 'DUAL_STACK',
}

/** One regional gateway behind a {@link GlobalFront}. */
export interface GlobalFrontRegion {
  /** Region of the gateway, such as `eu-west-1`. */
  readonly region: string;

  /**
   * ARN of the gateway's Network Load Balancer (`gateway.loadBalancer.loadBalancerArn`, as a
   * literal: a token of a stack in another region cannot cross regions). Give this or
   * `loadBalancerArnParameterName`. A literal is checked at synth: a Network Load Balancer ARN
   * (`arn:<partition>:elasticloadbalancing:<region>:<account>:loadbalancer/net/<name>/<id>`) of `region`.
   *
   * @default - read from `loadBalancerArnParameterName`
   */
  readonly loadBalancerArn?: string;

  /**
   * Name of the SSM parameter, in `region`, that holds the load balancer's ARN (created by
   * `GlobalFront.exportLoadBalancerArn` in the gateway's stack). Read at deploy time, so deploy the
   * regional stacks first.
   *
   * @default - `loadBalancerArn` is given
   */
  readonly loadBalancerArnParameterName?: string;

  /**
   * Share of the traffic for this region that the accelerator sends to it; the rest goes to the
   * next-nearest region. 0 takes the region out of service (for a deployment or a drill).
   *
   * @default 100
   */
  readonly trafficDialPercentage?: number;
}

/** Properties of a {@link GlobalFront}. */
export interface GlobalFrontProps {
  /** The regional gateways, one entry per region. */
  readonly regions: GlobalFrontRegion[];

  /**
   * UDP ports of the gateways' Listeners (the same in every region): one accelerator listener
   * each, forwarding to the same port of every region's load balancer.
   */
  readonly listenerPorts: number[];

  /**
   * Addresses of the accelerator.
   *
   * @default GlobalFrontIpAddressType.IPV4
   */
  readonly ipAddressType?: GlobalFrontIpAddressType;

  /**
   * Name of the accelerator.
   *
   * @default - the construct's unique id
   */
  readonly acceleratorName?: string;
}

/**
 * One set of anycast addresses for Packet Gateways in several regions: a standard AWS Global
 * Accelerator with a UDP listener per Listener port and, on each, one endpoint group per region
 * whose endpoint is that region's Network Load Balancer, with the client's IP address preserved
 * (the gateway sees, and answers, the client itself). The accelerator sends each client to its
 * nearest region whose load balancer has healthy targets (the endpoint group's health is the load
 * balancer's target health) and moves it to the next region when that one fails.
 *
 * Global Accelerator is managed through us-west-2: put this construct in a stack of that region.
 * Its UDP flows end after 30 s of silence (the load balancer's end after 120 s), so clients behind
 * it keep their flows with keepalives of at most 25 s (WireGuard `PersistentKeepalive = 25`).
 */
export class GlobalFront extends Construct {
  /** The region whose API serves Global Accelerator: a `GlobalFront` lives in a stack of this region. */
  public static readonly API_REGION = 'us-west-2';

  /**
   * Publishes the ARN of `gateway`'s load balancer in an SSM parameter of the gateway's region,
   * where a `GlobalFront` in us-west-2 reads it (`loadBalancerArnParameterName`).
   */
  public static exportLoadBalancerArn(gateway: PacketGateway, parameterName: string): ssm.StringParameter {
    return new ssm.StringParameter(gateway, 'GlobalFrontLoadBalancerArn', {
      parameterName,
      stringValue: gateway.loadBalancer.loadBalancerArn,
      description: 'Packet Gateway: ARN of the load balancer that a GlobalFront puts behind its accelerator',
    });
  }

  /** The accelerator. */
  public readonly accelerator: globalaccelerator.Accelerator;

  /** The accelerator's UDP listeners, in the order of `listenerPorts`. */
  public readonly listeners: globalaccelerator.Listener[] = [];

  /** The endpoint groups: for each listener, one per region, in the order of `regions`. */
  public readonly endpointGroups: globalaccelerator.EndpointGroup[] = [];

  /** The accelerator's DNS name (resolves to its anycast addresses). */
  public readonly dnsName: string;

  constructor(scope: Construct, id: string, props: GlobalFrontProps) {
    super(scope, id);
    const region = Stack.of(this).region;
    if (!Token.isUnresolved(region) && region !== GlobalFront.API_REGION) {
      fail(this, `a GlobalFront must be in a stack of ${GlobalFront.API_REGION} (Global Accelerator's API region), got a stack in ${region}`);
    }
    validatePorts(this, props.listenerPorts);
    validateRegions(this, props.regions);

    this.accelerator = new globalaccelerator.Accelerator(this, 'Accelerator', {
      acceleratorName: props.acceleratorName,
      ipAddressType: props.ipAddressType === GlobalFrontIpAddressType.DUAL_STACK
        ? globalaccelerator.IpAddressType.DUAL_STACK
        : globalaccelerator.IpAddressType.IPV4,
    });
    this.dnsName = this.accelerator.dnsName;

    const loadBalancerArns = props.regions.map((entry, i) => this.loadBalancerArn(entry, i));
    for (const port of props.listenerPorts) {
      // Client affinity NONE: the accelerator keeps a flow by its 5-tuple, as the load balancer does.
      const listener = this.accelerator.addListener(`Udp${port}`, {
        protocol: globalaccelerator.ConnectionProtocol.UDP,
        portRanges: [{ fromPort: port, toPort: port }],
        clientAffinity: globalaccelerator.ClientAffinity.NONE,
      });
      this.listeners.push(listener);
      props.regions.forEach((entry, i) => {
        this.endpointGroups.push(listener.addEndpointGroup(entry.region, {
          region: entry.region,
          trafficDialPercentage: entry.trafficDialPercentage,
          endpoints: [new globalaccelerator.RawEndpoint({ endpointId: loadBalancerArns[i], preserveClientIp: true, region: entry.region })],
        }));
      });
    }
  }

  /** The load balancer ARN of `entry`: given, or read from its SSM parameter in its region. */
  private loadBalancerArn(entry: GlobalFrontRegion, index: number): string {
    if (entry.loadBalancerArn !== undefined) return entry.loadBalancerArn;
    const name = entry.loadBalancerArnParameterName!;
    const parameterArn = Stack.of(this).formatArn({
      service: 'ssm', region: entry.region, resource: 'parameter', resourceName: name.replace(/^\//, ''), arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    return sdkLookup(this, `LoadBalancerArn${index}`, {
      service: 'SSM',
      action: 'getParameter',
      parameters: { Name: name },
      region: entry.region,
      field: 'Parameter.Value',
      resources: [parameterArn],
      physicalId: `${entry.region}:${name}`,
    });
  }
}

function validatePorts(scope: Construct, ports: number[]): void {
  if (Token.isUnresolved(ports)) return;
  if (ports.length === 0) fail(scope, 'listenerPorts must hold at least one port (the UDP port of a Listener of the regional gateways)');
  ports.forEach((port, i) => {
    validateIntegerRange(scope, `listenerPorts[${i}]`, port, PORT);
    const first = ports.indexOf(port);
    if (first !== i) fail(scope, `listenerPorts[${i}] ${port} is already listenerPorts[${first}]; name each port once`);
  });
}

function validateRegions(scope: Construct, regions: GlobalFrontRegion[]): void {
  if (regions.length === 0) fail(scope, 'regions must hold at least one region with the ARN of its gateway\'s load balancer');
  regions.forEach((entry, i) => {
    const path = `regions[${i}]`;
    validateRegion(scope, `${path}.region`, entry.region);
    const first = regions.findIndex((other) => other.region === entry.region);
    if (first !== i && !Token.isUnresolved(entry.region)) {
      fail(scope, `${path}.region ${JSON.stringify(entry.region)} is already regions[${first}].region; one endpoint group per region`);
    }
    validateRange(scope, `${path}.trafficDialPercentage`, entry.trafficDialPercentage, 0, 100, '%');
    const given = [entry.loadBalancerArn, entry.loadBalancerArnParameterName].filter((v) => v !== undefined).length;
    if (given !== 1) {
      fail(scope, `${path} must give exactly one of loadBalancerArn and loadBalancerArnParameterName, got ${given === 0 ? 'neither' : 'both'}`);
    }
    if (entry.loadBalancerArn !== undefined && !Token.isUnresolved(entry.loadBalancerArn)) {
      validateArn(scope, `${path}.loadBalancerArn`, entry.loadBalancerArn, NETWORK_LOAD_BALANCER_ARN);
      const arnRegion = parseArn(entry.loadBalancerArn)?.region;
      if (!Token.isUnresolved(entry.region) && arnRegion !== entry.region) {
        fail(scope, `${path}.loadBalancerArn is a load balancer in ${arnRegion}, not in ${path}.region ${entry.region}`);
      }
    }
  });
}
