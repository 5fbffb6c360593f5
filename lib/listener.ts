import { Arn, ArnFormat, CustomResource, Duration, Lazy, Size, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct, IConstruct } from 'constructs';
import { Destination, DestinationConfig } from './destination';
import { Formatter } from './formatter';
import { IPacketGateway } from './gateway-interface';
import {
  BATCH_COUNT, BATCH_SIZE_BYTES, BATCH_TIMEOUT_SECONDS, defaultMaxPayloadBytes, DOMAIN, MAX_IN_FLIGHT_BATCHES, MAX_QUEUED_PACKETS, PAYLOAD_BYTES,
  PORT, REPLY_TAG_TTL_SECONDS,
} from './private/limits';
import { ListenerHost, listenerHostOf } from './private/listener-host';
import { ListenerWireGuard, validateNoWireGuardOptions } from './private/listener-wireguard';
import { METRICS_NAMESPACE, MetricDimension, MetricName } from './private/metrics';
import { checkListenerRecord } from './private/record-check';
import type { DestinationRecord, ListenerProtocolName, ListenerRecord } from './private/records';
import { LISTENER_RESOURCE_TYPE, ListenerProperty } from './private/resource-properties';
import { fail, validateCidrs, validateIntegerRange, validateName, validateRange } from './private/validation';
import type { WireGuardPeer } from './wireguard-peer';


/** Wire protocol of a Listener. */
export class ListenerProtocol {
  /** Plain UDP: each datagram is one packet. */
  public static readonly UDP = new ListenerProtocol('udp');

  /**
   * WireGuard: clients are WireGuard peers; each datagram they send through the tunnel is one
   * packet (with `Remote.PeerKey`), and replies and sourced packets are encrypted for the peer.
   * The Listener holds a key pair whose private key lives in Secrets Manager.
   */
  public static readonly WIREGUARD = new ListenerProtocol('wg');

  /** Value stored in the Listener record and reported in `Local.Protocol`. */
  public readonly value: string;

  private constructor(value: ListenerProtocolName) {
    this.value = value;
  }
}

/** A Listener of a gateway, as PacketSources see it: where to register and which queues to subscribe. */
export interface IListener extends IConstruct {
  /** Name of the Listener in its gateway. */
  readonly listenerName: string;

  /** Service token of the gateway's registration provider (a Lambda function ARN, same region). */
  readonly serviceToken: string;

  /** ARN of the principal that PacketSource roles must trust (the gateway's access role). */
  readonly registrationPrincipalArn: string;

  /**
   * Principals of the gateway's peers in other regions, which send the messages published for
   * their regions and write their failure records as the PacketSource's role: PacketSource roles
   * trust them too, with the same ExternalId.
   *
   * @default - none
   */
  readonly peerPrincipalArns?: string[];

  /**
   * ARNs (or ARN patterns) of the delivery queues a PacketSource of this Listener subscribes,
   * one per gateway region. PacketSource roles may subscribe only these endpoints.
   */
  readonly deliveryQueueArns: string[];
}

/** Attributes of a Listener in another stack or account, as exported by its gateway. */
export interface ListenerAttributes {
  /** Name of the Listener in its gateway. */
  readonly listenerName: string;

  /**
   * The gateway's `packetSourceServiceToken` (stacks of another account may invoke only that one);
   * in the gateway's own account, its `serviceToken` works too.
   */
  readonly serviceToken: string;

  /** The gateway's `registrationPrincipalArn`. */
  readonly registrationPrincipalArn: string;

  /**
   * The gateway's `peerPrincipalArns` (its peers' registration principals).
   *
   * @default - none: only the gateway itself writes this PacketSource's failure records
   */
  readonly peerPrincipalArns?: string[];

  /**
   * The gateway's `deliveryQueueArns`.
   *
   * @default - any SQS queue in the gateway's account (the account of `registrationPrincipalArn`)
   */
  readonly deliveryQueueArns?: string[];
}

/** Options of a Listener created with `gateway.addListener(id, options)`. */
export interface ListenerOptions {
  /**
   * Name of the Listener: 1-64 characters of A-Z, a-z, 0-9, _ and -. Unique in its gateway;
   * PacketSources refer to it.
   *
   * @default - the construct id
   */
  readonly listenerName?: string;

  /** UDP port the load balancer listens on (and the fleet binds), 1-65535. Unique in its gateway. */
  readonly port: number;

  /**
   * Wire protocol.
   *
   * @default ListenerProtocol.UDP
   */
  readonly protocol?: ListenerProtocol;

  /** Where received packets are delivered; at least one. More can be added with `addDestination`. */
  readonly destinations?: Destination[];

  /**
   * Encoding of `Data` towards destinations that set no formatter of their own.
   *
   * @default Formatter.BASE64
   */
  readonly formatter?: Formatter;

  /**
   * Only datagrams from these CIDR blocks are accepted (others fail with `ClientRestricted`); the
   * load balancer's security group admits only these blocks on the Listener's port.
   *
   * @default - every client; the port is open to 0.0.0.0/0
   */
  readonly clientRestrictions?: string[];

  /**
   * CIDR blocks that replies and sourced packets may reach although the egress safety rules deny
   * them (private, loopback or VPC ranges).
   *
   * @default - none
   */
  readonly egressAllowedNetworks?: string[];

  /**
   * Largest payload of a reply or sourced packet (1 byte to 65507 bytes). Larger datagrams are
   * fragmented or dropped on a 1500-byte internet path: a UDP payload crosses it whole up to
   * 1472 bytes over IPv4 and 1452 bytes over IPv6; inside WireGuard, 32 bytes of tunnel overhead
   * and the inner IP and UDP headers (28 bytes IPv4, 48 bytes IPv6) come off as well.
   *
   * @default - Size.bytes(1452) for UDP Listeners (fits IPv4 and IPv6); Size.bytes(1372) for
   * WireGuard Listeners (1452 − 32 − 48)
   */
  readonly maxPayloadSize?: Size;

  /**
   * How long a reply Tag stays valid (1 second to 1 hour): a reply that comes back later is
   * dropped (`ReplyUnknownTag`). The default covers the longest run of a Lambda function.
   *
   * @default Duration.minutes(15)
   */
  readonly replyTagTtl?: Duration;

  /**
   * Host label reported to destinations in `Local.Domain`.
   *
   * @default - the Listener name
   */
  readonly domain?: string;

  /**
   * WireGuard peers that may connect (WireGuard Listeners only). More can be added with
   * `addWireGuardPeer`. A WireGuard Listener needs at least one peer, or `allowUnknownPeers`.
   *
   * @default - none
   */
  readonly wireGuardPeers?: WireGuardPeer[];

  /**
   * Accept handshakes from any WireGuard key (WireGuard Listeners only); such peers may use any
   * inner address. Anyone who knows the Listener's public key can then send packets.
   *
   * @default false
   */
  readonly allowUnknownPeers?: boolean;

  /**
   * Deliver the inner UDP payload with its `Inner` addressing (true), or the whole inner IP packet
   * (false). WireGuard Listeners only. With false (Proxylity's default) destinations see every
   * packet the peer tunnels (UDP, ICMP, …) and reply with whole IP packets.
   *
   * @default false
   */
  readonly decapsulatedDelivery?: boolean;

  /**
   * Secret holding the Listener's WireGuard private key (WireGuard Listeners only): 32 bytes in
   * base64 (44 characters, as printed by `wg genkey`), as plain text. It needs a complete ARN.
   * The gateway's registration function reads it to derive `publicKey`; the fleet receives it as
   * an ECS secret.
   *
   * @default - a new secret, into which the gateway writes a generated key
   */
  readonly privateKey?: secretsmanager.ISecret;

  /**
   * Generation of the WireGuard key pair (WireGuard Listeners only). With a generated key, a new
   * value generates a new key pair (`publicKey` changes: every peer must learn it); going back to
   * an earlier value restores that generation's key. With your own `privateKey`, a new value makes
   * the gateway read the secret again after you changed it.
   *
   * @default 1
   */
  readonly privateKeyGeneration?: number;

  /**
   * Regions the generated WireGuard private key is replicated to (WireGuard Listeners only, not
   * with `privateKey`): the secret gets a Secrets Manager replica in each, so the same Listener in
   * those regions' gateways (behind one `GlobalFront`) serves the same key. There, pass
   * `WireGuardKeyReplica` as `privateKey`. Needs `privateKeySecretName`.
   *
   * @default - no replicas
   */
  readonly privateKeyReplicaRegions?: string[];

  /**
   * Name of the secret the generated WireGuard private key is kept in (WireGuard Listeners only,
   * not with `privateKey`). The replicas carry the same name, which is how the other regions find
   * them (`WireGuardKeyReplica`).
   *
   * @default - a name CloudFormation generates
   */
  readonly privateKeySecretName?: string;
}

/** Properties of a {@link Listener}. */
export interface ListenerProps extends ListenerOptions {
  /** The gateway whose fleet and load balancer serve this Listener (a `PacketGateway`). */
  readonly gateway: IPacketGateway;
}

/**
 * A UDP port of a gateway: a load-balancer listener and target group, the fleet's port mapping,
 * and a `Custom::PacketGatewayListener` record in the gateway's table that running tasks load
 * without a redeploy. A WireGuard Listener also has a key pair: its private key in Secrets
 * Manager (passed to the fleet as an ECS secret) and its public key as `publicKey`.
 */
export class Listener extends Construct implements IListener, ec2.IConnectable {
  /** A Listener of a gateway in another stack or account, from the gateway's exported attributes. */
  public static fromListenerAttributes(scope: Construct, id: string, attrs: ListenerAttributes): IListener {
    return new ImportedListener(scope, id, attrs);
  }

  public readonly listenerName: string;
  public readonly serviceToken: string;
  public readonly registrationPrincipalArn: string;
  public readonly peerPrincipalArns?: string[];
  public readonly deliveryQueueArns: string[];

  /** UDP port of the Listener. */
  public readonly port: number;

  /** Wire protocol of the Listener. */
  public readonly protocol: ListenerProtocol;

  /** The gateway serving this Listener. */
  public readonly gateway: IPacketGateway;

  /** The load balancer's security group, with the Listener's port as default port. */
  public readonly connections: ec2.Connections;

  /** The `Custom::PacketGatewayListener` resource holding the Listener record. */
  public readonly resource: CustomResource;

  /** The load balancer's UDP listener. */
  public readonly loadBalancerListener: elbv2.NetworkListener;

  /** The target group of the fleet's tasks on this port. */
  public readonly targetGroup: elbv2.NetworkTargetGroup;

  /**
   * The WireGuard public key of the Listener (base64, 44 characters), known at deploy time: give it
   * to the peers, or put it in a `CfnOutput`. Undefined for UDP Listeners.
   */
  public readonly publicKey?: string;

  /** The secret holding the WireGuard private key (generated or given). Undefined for UDP Listeners. */
  public readonly privateKeySecret?: secretsmanager.ISecret;

  private readonly formatter: Formatter;
  private readonly destinations: Array<{
    readonly destination: Destination; readonly config: DestinationConfig; readonly name: string; readonly errorLogGroup?: logs.ILogGroup;
  }> = [];
  private readonly props: ListenerProps;
  private readonly wireGuard?: ListenerWireGuard;
  private readonly host: ListenerHost<Listener>;

  constructor(scope: Construct, id: string, props: ListenerProps) {
    super(scope, id);
    this.props = props;
    this.gateway = props.gateway;
    this.host = listenerHostOf<Listener>(this, props.gateway);
    this.listenerName = props.listenerName ?? id;
    this.port = props.port;
    this.protocol = props.protocol ?? ListenerProtocol.UDP;
    this.formatter = props.formatter ?? Formatter.BASE64;
    this.serviceToken = this.host.serviceToken;
    this.registrationPrincipalArn = this.host.registrationPrincipalArn;
    this.peerPrincipalArns = this.host.peerPrincipalArns;
    this.deliveryQueueArns = this.host.deliveryQueueArns;

    validateName(this, 'listenerName', this.listenerName);
    validateIntegerRange(this, 'port', this.port, PORT);
    validateCidrs(this, 'clientRestrictions', props.clientRestrictions);
    validateCidrs(this, 'egressAllowedNetworks', props.egressAllowedNetworks);
    if (props.maxPayloadSize) {
      validateIntegerRange(this, 'maxPayloadSize (bytes)', props.maxPayloadSize.toBytes(), PAYLOAD_BYTES);
    }
    if (props.replyTagTtl) {
      validateRange(this, 'replyTagTtl', props.replyTagTtl.toSeconds(), REPLY_TAG_TTL_SECONDS.min, REPLY_TAG_TTL_SECONDS.max, ' s');
    }
    if (props.domain !== undefined && !Token.isUnresolved(props.domain) && !DOMAIN.pattern.test(props.domain)) {
      fail(this, `domain must be a host name (${DOMAIN.allowed}), got ${JSON.stringify(props.domain)}`);
    }

    if (this.protocol !== ListenerProtocol.WIREGUARD) validateNoWireGuardOptions(this, this.protocol.value, props);

    for (const destination of props.destinations ?? []) this.addDestination(destination);

    const wiring = this.host.attachListener(this, props.clientRestrictions);
    this.connections = wiring.connections;
    this.loadBalancerListener = wiring.loadBalancerListener;
    this.targetGroup = wiring.targetGroup;

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: this.serviceToken,
      resourceType: LISTENER_RESOURCE_TYPE,
      properties: {
        [ListenerProperty.ListenerName]: this.listenerName,
        [ListenerProperty.Configuration]: Lazy.string({ produce: () => Stack.of(this).toJsonString(this.renderRecord()) }),
      },
    });
    // The record goes live only once the fleet may reach every destination.
    this.resource.node.addDependency(this.host.fleetRole);

    if (this.protocol === ListenerProtocol.WIREGUARD) {
      this.wireGuard = new ListenerWireGuard(this, this.host, props);
      this.publicKey = this.wireGuard.publicKey;
      this.privateKeySecret = this.wireGuard.privateKeySecret;
      // Running tasks pick the record up at once; it names key variables that only tasks started
      // with this deployment's task definition carry, so it goes live after the fleet has rolled.
      this.resource.node.addDependency(this.host.fleet);
    }

    checkListenerRecord(this, this.renderRecord());

    this.node.addValidation({
      validate: () => [
        ...(this.destinations.length === 0 ? [`Listener ${this.listenerName} has no destinations: pass destinations or call addDestination()`] : []),
        ...(this.wireGuard?.validate() ?? []),
      ],
    });
  }

  /** Adds a peer to a WireGuard Listener: validated, its preshared key passed to the fleet, and added to the Listener record. */
  public addWireGuardPeer(peer: WireGuardPeer): void {
    if (!this.wireGuard) fail(this, `addWireGuardPeer applies only to WireGuard Listeners, got protocol ${this.protocol.value}; set protocol: ListenerProtocol.WIREGUARD`);
    this.wireGuard.addPeer(peer);
    checkListenerRecord(this, this.renderRecord());
  }

  /** Adds a destination: grants the fleet what delivery needs and adds it to the Listener record. */
  public addDestination(destination: Destination): void {
    const options = destination.options;
    const index = this.destinations.length;
    // With a role, the role gets the destination's permissions and the fleet may only assume it.
    const role = options.role;
    if (role) iam.Grant.addToPrincipal({ grantee: this.host.fleetRole, actions: ['sts:AssumeRole'], resourceArns: [role.roleArn] });
    const config = destination.bind(this, { grantee: role ?? this.host.fleetRole, listenerName: this.listenerName });
    const name = options.destinationName ?? `${config.type}-${index}`;
    validateName(this, 'destinationName', name);
    if (this.destinations.some((d) => d.name === name)) {
      fail(this, `destinationName ${JSON.stringify(name)} is used twice in Listener ${this.listenerName}; destination names must be unique in a Listener`);
    }
    validateIntegerRange(this, `destination ${name}: batchSize`, options.batchSize, BATCH_COUNT);
    if (options.maxBatchingWindow) validateRange(this, `destination ${name}: maxBatchingWindow`, options.maxBatchingWindow.toMilliseconds(), BATCH_TIMEOUT_SECONDS.min * 1000, BATCH_TIMEOUT_SECONDS.max * 1000, ' ms');
    if (options.maxBatchPayloadSize) {
      validateIntegerRange(this, `destination ${name}: maxBatchPayloadSize (bytes)`, options.maxBatchPayloadSize.toBytes(), BATCH_SIZE_BYTES);
    }
    validateIntegerRange(this, `destination ${name}: maxQueuedPackets`, options.maxQueuedPackets, MAX_QUEUED_PACKETS);
    validateIntegerRange(this, `destination ${name}: maxInFlightBatches`, options.maxInFlightBatches, MAX_IN_FLIGHT_BATCHES);
    const errorLogGroup = this.deliveryErrorLogGroup(name, options);
    this.destinations.push({ destination, config, name, errorLogGroup });
    checkListenerRecord(this, this.renderRecord());
  }

  /**
   * The log group of a destination's delivery errors (given, or new with `logDeliveryErrors`); the
   * fleet may create streams and put events in it only.
   */
  private deliveryErrorLogGroup(name: string, options: Destination['options']): logs.ILogGroup | undefined {
    if (options.logDeliveryErrors === false && options.deliveryErrorLogGroup) {
      fail(this, `destination ${name}: deliveryErrorLogGroup is given but logDeliveryErrors is false; leave logDeliveryErrors out, or the log group`);
    }
    if (!options.deliveryErrorLogGroup && options.logDeliveryErrors !== true) return undefined;
    const logGroup = options.deliveryErrorLogGroup ?? new logs.LogGroup(this, `DeliveryErrors-${name}`, { retention: logs.RetentionDays.ONE_MONTH });
    iam.Grant.addToPrincipal({
      grantee: this.host.fleetRole,
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      // the log group's ARN ends in `:*`, which covers its log streams
      resourceArns: [logGroup.logGroupArn],
    });
    return logGroup;
  }

  /** A metric of this Listener emitted by the fleet (namespace `PacketGateway`, dimensions Service, Gateway and Listener). */
  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { ...this.host.metricDimensions, [MetricDimension.Listener]: this.listenerName },
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(1),
      ...props,
    });
  }

  /** Datagrams received by this Listener. Sum over 1 minute by default. */
  public metricDatagramsIn(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.DatagramsIn, props);
  }

  /** Replies sent to clients by this Listener. Sum over 1 minute by default. */
  public metricRepliesOut(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.RepliesOut, props);
  }

  /** Completed WireGuard handshakes of this Listener. Sum over 1 minute by default. */
  public metricWireGuardHandshakes(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.WireGuardHandshakes, props);
  }

  /**
   * Handshakes a task initiated for a WireGuard peer of this Listener that spoke to it without a
   * session there (after a restart, a deploy, a move). Sum over 1 minute by default.
   */
  public metricWireGuardSessionsResumed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(MetricName.WireGuardSessionsResumed, props);
  }

  /**
   * A metric of one destination of this Listener (dimension `Destination` added), such as
   * `PacketsIn`, `BytesIn`, `PacketsOut` and `BytesOut`, which the fleet emits for destinations
   * with `metricsEnabled`. Sum over 1 minute by default.
   */
  public metricDestination(destinationName: string, metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(metricName, {
      ...props,
      dimensionsMap: {
        ...this.host.metricDimensions,
        [MetricDimension.Listener]: this.listenerName,
        [MetricDimension.Destination]: destinationName,
        ...props?.dimensionsMap,
      },
    });
  }

  /** The Listener record stored in the gateway's table. */
  private renderRecord(): ListenerRecord {
    const p = this.props;
    const destinations: DestinationRecord[] = this.destinations.map(({ destination, config, name, errorLogGroup }) => {
      const o = destination.options;
      const batching = {
        ...(o.batchSize !== undefined ? { Count: o.batchSize } : {}),
        ...(o.maxBatchingWindow ? { TimeoutInSeconds: o.maxBatchingWindow.toMilliseconds() / 1000 } : {}),
        ...(o.maxBatchPayloadSize ? { SizeInBytes: o.maxBatchPayloadSize.toBytes() } : {}),
      };
      return {
        Name: name,
        Type: config.type as DestinationRecord['Type'],
        ...(config.arn !== undefined ? { Arn: config.arn } : {}),
        ...(config.queueUrl !== undefined ? { QueueUrl: config.queueUrl } : {}),
        ...(config.arguments !== undefined ? { Arguments: config.arguments } : {}),
        ...(o.formatter ? { Formatter: o.formatter } : {}),
        ...(Object.keys(batching).length > 0 ? { Batching: batching } : {}),
        ...(o.maxQueuedPackets !== undefined ? { MaxQueuedPackets: o.maxQueuedPackets } : {}),
        ...(o.maxInFlightBatches !== undefined ? { MaxInFlightBatches: o.maxInFlightBatches } : {}),
        ...destinationArguments(config, o.role),
        ...(o.metricsEnabled !== undefined ? { MetricsEnabled: o.metricsEnabled } : {}),
        ...(errorLogGroup ? { LogGroupName: errorLogGroup.logGroupName } : {}),
      };
    });
    return {
      Name: this.listenerName,
      Protocol: this.protocol.value as ListenerProtocolName,
      Port: this.port,
      Formatter: this.formatter,
      Destinations: destinations,
      ...(p.domain !== undefined ? { Domain: p.domain } : {}),
      ...(p.clientRestrictions ? { ClientRestrictions: { Networks: p.clientRestrictions } } : {}),
      ...(p.egressAllowedNetworks ? { EgressAllowedNetworks: p.egressAllowedNetworks } : {}),
      MaxPayloadBytes: p.maxPayloadSize?.toBytes() ?? defaultMaxPayloadBytes(this.protocol.value as ListenerProtocolName),
      ...(p.replyTagTtl ? { ReplyTagTtlSeconds: p.replyTagTtl.toSeconds() } : {}),
      ...(this.wireGuard ? { WireGuard: this.wireGuard.render() } : {}),
    };
  }
}

class ImportedListener extends Construct implements IListener {
  public readonly listenerName: string;
  public readonly serviceToken: string;
  public readonly registrationPrincipalArn: string;
  public readonly peerPrincipalArns?: string[];
  public readonly deliveryQueueArns: string[];

  constructor(scope: Construct, id: string, attrs: ListenerAttributes) {
    super(scope, id);
    validateName(this, 'listenerName', attrs.listenerName);
    this.listenerName = attrs.listenerName;
    this.serviceToken = attrs.serviceToken;
    this.registrationPrincipalArn = attrs.registrationPrincipalArn;
    this.peerPrincipalArns = attrs.peerPrincipalArns ?? [];
    if (attrs.deliveryQueueArns && attrs.deliveryQueueArns.length === 0) {
      fail(this, 'deliveryQueueArns must not be empty; leave it undefined to allow any queue of the gateway account');
    }
    const gatewayAccount = Arn.split(attrs.registrationPrincipalArn, ArnFormat.SLASH_RESOURCE_NAME).account;
    this.deliveryQueueArns = attrs.deliveryQueueArns ?? [`arn:${Stack.of(this).partition}:sqs:*:${gatewayAccount}:*`];
  }
}

/** Region-map ARN and Role of a destination record. */
function destinationArguments(config: DestinationConfig, role: iam.IRole | undefined): Partial<DestinationRecord> {
  return {
    ...(config.arnByRegion !== undefined ? { Arn: config.arnByRegion } : {}),
    ...(role ? { Role: { Arn: role.roleArn } } : {}),
  };
}
