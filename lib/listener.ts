import { Arn, ArnFormat, CustomResource, Duration, Lazy, Size, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elbv2 from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { Construct, IConstruct } from 'constructs';
import { Destination, DestinationConfig } from './destination';
import { Formatter } from './formatter';
import type { PacketGateway } from './gateway';
import type { DestinationRecord, ListenerProtocolName, ListenerRecord } from './private/records';
import { LISTENER_RESOURCE_TYPE, ListenerProperty, METRICS_NAMESPACE, METRICS_SERVICE_DIMENSION } from './private/resource-properties';
import { fail, validateCidrs, validateInteger, validateName, validateRange } from './private/validation';


/** Host name reported in `Local.Domain`: dot-separated labels of 1-63 characters. */
const DOMAIN_PATTERN = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Largest UDP payload over IPv4. */
const MAX_UDP_PAYLOAD_BYTES = 65_507;

/** Wire protocol of a Listener. */
export class ListenerProtocol {
  /** Plain UDP: each datagram is one packet. */
  public static readonly UDP = new ListenerProtocol('udp');

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
   * ARNs (or ARN patterns) of the delivery queues a PacketSource of this Listener subscribes,
   * one per gateway region. PacketSource roles may subscribe only these endpoints.
   */
  readonly deliveryQueueArns: string[];
}

/** Attributes of a Listener in another stack or account, as exported by its gateway. */
export interface ListenerAttributes {
  /** Name of the Listener in its gateway. */
  readonly listenerName: string;

  /** The gateway's `serviceToken`. */
  readonly serviceToken: string;

  /** The gateway's `registrationPrincipalArn`. */
  readonly registrationPrincipalArn: string;

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
   * Largest payload of a reply or sourced packet (1 byte to 65507 bytes).
   *
   * @default Size.bytes(65507)
   */
  readonly maxPayloadSize?: Size;

  /**
   * How long a reply Tag stays valid (1 second to 1 hour).
   *
   * @default Duration.minutes(5)
   */
  readonly replyTagTtl?: Duration;

  /**
   * Host label reported to destinations in `Local.Domain`.
   *
   * @default - the Listener name
   */
  readonly domain?: string;
}

/** Properties of a {@link Listener}. */
export interface ListenerProps extends ListenerOptions {
  /** The gateway whose fleet and load balancer serve this Listener. */
  readonly gateway: PacketGateway;
}

/**
 * A UDP port of a gateway: a load-balancer listener and target group, the fleet's port mapping,
 * and a `Custom::PacketGatewayListener` record in the gateway's table that running tasks load
 * without a redeploy.
 */
export class Listener extends Construct implements IListener, ec2.IConnectable {
  /** A Listener of a gateway in another stack or account, from the gateway's exported attributes. */
  public static fromListenerAttributes(scope: Construct, id: string, attrs: ListenerAttributes): IListener {
    return new ImportedListener(scope, id, attrs);
  }

  public readonly listenerName: string;
  public readonly serviceToken: string;
  public readonly registrationPrincipalArn: string;
  public readonly deliveryQueueArns: string[];

  /** UDP port of the Listener. */
  public readonly port: number;

  /** Wire protocol of the Listener. */
  public readonly protocol: ListenerProtocol;

  /** The gateway serving this Listener. */
  public readonly gateway: PacketGateway;

  /** The load balancer's security group, with the Listener's port as default port. */
  public readonly connections: ec2.Connections;

  /** The `Custom::PacketGatewayListener` resource holding the Listener record. */
  public readonly resource: CustomResource;

  /** The load balancer's UDP listener. */
  public readonly loadBalancerListener: elbv2.NetworkListener;

  /** The target group of the fleet's tasks on this port. */
  public readonly targetGroup: elbv2.NetworkTargetGroup;

  private readonly formatter: Formatter;
  private readonly destinations: Array<{ readonly destination: Destination; readonly config: DestinationConfig; readonly name: string }> = [];
  private readonly props: ListenerProps;

  constructor(scope: Construct, id: string, props: ListenerProps) {
    super(scope, id);
    this.props = props;
    this.gateway = props.gateway;
    this.listenerName = props.listenerName ?? id;
    this.port = props.port;
    this.protocol = props.protocol ?? ListenerProtocol.UDP;
    this.formatter = props.formatter ?? Formatter.BASE64;
    this.serviceToken = props.gateway.serviceToken;
    this.registrationPrincipalArn = props.gateway.registrationPrincipalArn;
    this.deliveryQueueArns = props.gateway.deliveryQueueArns;

    validateName(this, 'listenerName', this.listenerName);
    validateInteger(this, 'port', this.port, 1, 65_535);
    validateCidrs(this, 'clientRestrictions', props.clientRestrictions);
    validateCidrs(this, 'egressAllowedNetworks', props.egressAllowedNetworks);
    if (props.maxPayloadSize) {
      validateInteger(this, 'maxPayloadSize (bytes)', props.maxPayloadSize.toBytes(), 1, MAX_UDP_PAYLOAD_BYTES);
    }
    if (props.replyTagTtl) {
      validateRange(this, 'replyTagTtl', props.replyTagTtl.toSeconds(), 1, 3600, ' s');
    }
    if (props.domain !== undefined && !Token.isUnresolved(props.domain) && !DOMAIN_PATTERN.test(props.domain)) {
      fail(this, `domain must be a host name (labels of 1-63 characters of A-Z, a-z, 0-9 and inner -, joined by .), got ${JSON.stringify(props.domain)}`);
    }

    for (const destination of props.destinations ?? []) this.addDestination(destination);

    const wiring = props.gateway._attachListener(this, props.clientRestrictions);
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
    this.resource.node.addDependency(props.gateway.accessRole);

    this.node.addValidation({
      validate: () => (this.destinations.length === 0 ? [`Listener ${this.listenerName} has no destinations: pass destinations or call addDestination()`] : []),
    });
  }

  /** Adds a destination: grants the fleet what delivery needs and adds it to the Listener record. */
  public addDestination(destination: Destination): void {
    const options = destination.options;
    const index = this.destinations.length;
    const config = destination.bind(this, { grantee: this.gateway.accessRole, listenerName: this.listenerName });
    const name = options.destinationName ?? `${config.type}-${index}`;
    validateName(this, 'destinationName', name);
    if (this.destinations.some((d) => d.name === name)) {
      fail(this, `destinationName ${JSON.stringify(name)} is used twice in Listener ${this.listenerName}; destination names must be unique in a Listener`);
    }
    validateInteger(this, `destination ${name}: batchSize`, options.batchSize, 1, 10_000);
    if (options.maxBatchingWindow) validateRange(this, `destination ${name}: maxBatchingWindow`, options.maxBatchingWindow.toMilliseconds(), 0, 60_000, ' ms');
    if (options.maxBatchPayloadSize) {
      validateInteger(this, `destination ${name}: maxBatchPayloadSize (bytes)`, options.maxBatchPayloadSize.toBytes(), 1024, 6 * 1024 * 1024);
    }
    validateInteger(this, `destination ${name}: maxQueuedPackets`, options.maxQueuedPackets, 1, 1_000_000);
    this.destinations.push({ destination, config, name });
  }

  /** A metric of this Listener emitted by the fleet (namespace `PacketGateway`, dimensions Service and Listener). */
  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { ...METRICS_SERVICE_DIMENSION, Listener: this.listenerName },
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(1),
      ...props,
    });
  }

  /** Datagrams received by this Listener. Sum over 1 minute by default. */
  public metricDatagramsIn(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('DatagramsIn', props);
  }

  /** Replies sent to clients by this Listener. Sum over 1 minute by default. */
  public metricRepliesOut(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('RepliesOut', props);
  }

  /** The Listener record stored in the gateway's table. */
  private renderRecord(): ListenerRecord {
    const p = this.props;
    const destinations: DestinationRecord[] = this.destinations.map(({ destination, config, name }) => {
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
        ...(o.formatter ? { Formatter: o.formatter } : {}),
        ...(Object.keys(batching).length > 0 ? { Batching: batching } : {}),
        ...(o.maxQueuedPackets !== undefined ? { MaxQueuedPackets: o.maxQueuedPackets } : {}),
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
      ...(p.maxPayloadSize ? { MaxPayloadBytes: p.maxPayloadSize.toBytes() } : {}),
      ...(p.replyTagTtl ? { ReplyTagTtlSeconds: p.replyTagTtl.toSeconds() } : {}),
    };
  }
}

class ImportedListener extends Construct implements IListener {
  public readonly listenerName: string;
  public readonly serviceToken: string;
  public readonly registrationPrincipalArn: string;
  public readonly deliveryQueueArns: string[];

  constructor(scope: Construct, id: string, attrs: ListenerAttributes) {
    super(scope, id);
    validateName(this, 'listenerName', attrs.listenerName);
    this.listenerName = attrs.listenerName;
    this.serviceToken = attrs.serviceToken;
    this.registrationPrincipalArn = attrs.registrationPrincipalArn;
    if (attrs.deliveryQueueArns && attrs.deliveryQueueArns.length === 0) {
      fail(this, 'deliveryQueueArns must not be empty; leave it undefined to allow any queue of the gateway account');
    }
    const gatewayAccount = Arn.split(attrs.registrationPrincipalArn, ArnFormat.SLASH_RESOURCE_NAME).account;
    this.deliveryQueueArns = attrs.deliveryQueueArns ?? [`arn:${Stack.of(this).partition}:sqs:*:${gatewayAccount}:*`];
  }
}
