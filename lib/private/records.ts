/**
 * Configuration records shared by the constructs (lib/), the registration Lambda (lambda/) and
 * the data plane (service/). In AWS they are items of the gateway's DynamoDB table; in local mode
 * they are read from a JSON file of shape {@link GatewayConfigDocument}.
 *
 * Field names are PascalCase, like the CloudFormation properties that produce them. Changing a
 * name here changes a stored format: add, never rename.
 */

import type { RegionalArnMap } from './region-map';

/** Encodings of `Data` in packets, replies and sourced messages. */
export const FORMATTERS = ['base64', 'hex', 'ascii', 'utf8', 'coap'] as const;
export type FormatterName = (typeof FORMATTERS)[number];

/**
 * Destination arguments computed from each packet's payload: `<Name>Expression` (a binary range
 * expression, binary-expression.ts) selects bytes, `<Name>Formatter` (one of
 * {@link ARGUMENT_FORMATTERS}) renders them as text, e.g. `PartitionKeyExpression` and
 * `PartitionKeyFormatter`.
 */
export const PACKET_ARGUMENTS = ['PartitionKey', 'MessageGroupId', 'MessageDeduplicationId', 'TenantId'] as const;
export type PacketArgumentName = (typeof PACKET_ARGUMENTS)[number];

/** Formatters a packet argument's bytes can be rendered with: the text encodings (every Formatter but coap, which describes a whole CoAP message). */
export const ARGUMENT_FORMATTERS = ['base64', 'hex', 'ascii', 'utf8'] as const;
export type ArgumentFormatterName = (typeof ARGUMENT_FORMATTERS)[number];

/** Wire protocol of a Listener: plain UDP or WireGuard. Values appear in `Local.Protocol`. */
export const LISTENER_PROTOCOLS = ['udp', 'wg'] as const;
export type ListenerProtocolName = (typeof LISTENER_PROTOCOLS)[number];

/** Destination types the data plane can deliver to. A new AWS service is a new value here plus one module in service/destinations/. */
export const DESTINATION_TYPES = [
  'lambda', 'sqs', 'local', 'log',
  // request/response: Step Functions (EXPRESS; STANDARD is write-only), API Gateway
  'stepfunctions', 'apigateway',
  // write-only: CloudWatch Logs, S3, DynamoDB, SNS, Kinesis, Firehose, EventBridge
  'logs', 's3', 'dynamodb', 'sns', 'kinesis', 'firehose', 'eventbridge',
] as const;
export type DestinationTypeName = (typeof DESTINATION_TYPES)[number];

/** Step Functions workflow types: EXPRESS runs synchronously (StartSyncExecution) and may reply; STANDARD is started (StartExecution) and never replies. */
export const STATE_MACHINE_TYPES = ['EXPRESS', 'STANDARD'] as const;
export type StateMachineTypeName = (typeof STATE_MACHINE_TYPES)[number];

/** Batching of packets towards one destination; flushes on whichever limit is reached first. */
export interface BatchingRecord {
  /** Packets per batch (1–10000; SQS caps its own batches at 10 messages per call). */
  readonly Count?: number;
  /** Longest time a packet waits for its batch, in seconds; fractional (0–60). */
  readonly TimeoutInSeconds?: number;
  /** Largest serialized batch in bytes (1 KiB–6 MiB; Lambda's synchronous payload limit is 6 MB). */
  readonly SizeInBytes?: number;
}

export interface DestinationRecord {
  /** Unique within the Listener; used in logs and metrics. */
  readonly Name: string;
  readonly Type: DestinationTypeName;
  /**
   * Lambda function ARN (lambda), queue ARN (sqs), state machine ARN (stepfunctions), execute-api
   * ARN of a stage, method and path (apigateway), log group ARN (logs), bucket ARN (s3), table
   * ARN (dynamodb), topic ARN (sns), stream ARN (kinesis), delivery stream ARN (firehose), event
   * bus ARN (eventbridge). Lambda also takes a map of region → function
   * ARN with `*` as the fallback key: a gateway uses its own region's ARN, then `*`'s, then the
   * nearest region's (region-map.ts).
   */
  readonly Arn?: string | RegionalArnMap;
  /** SQS queue URL (sqs); derived from Arn when absent. */
  readonly QueueUrl?: string;
  /** Module path of a local handler (local): a JS/TS file exporting `handler(event)`. Relative paths resolve against the config file. */
  readonly Module?: string;
  /** Export name of the local handler (local). @default handler */
  readonly Handler?: string;
  /** Encoding of `Data` towards this destination and in its Replies. @default the Listener's Formatter */
  readonly Formatter?: FormatterName;
  readonly Batching?: BatchingRecord;
  /** Packets that may wait for this destination before new ones are dropped (and counted). @default 10000 */
  readonly MaxQueuedPackets?: number;
  /** Batches delivered to this destination at the same time (1–1000); further batches wait in the queue. @default 4 */
  readonly MaxInFlightBatches?: number;
  /**
   * Emit this destination's traffic metrics (metrics.ts `PacketsIn`, `BytesIn`, `PacketsOut`,
   * `BytesOut`, dimensions Listener and Destination), as Proxylity's `MetricsEnabled`. Off by
   * default: each series is a CloudWatch custom metric. @default false
   */
  readonly MetricsEnabled?: boolean;
  /**
   * CloudWatch Logs log group (a name, in the gateway's account and region) that receives this
   * destination's delivery errors as JSON log events, as Proxylity's `LogGroupName`.
   * @default - delivery errors go to the gateway's own log only
   */
  readonly LogGroupName?: string;
  /**
   * Role the gateway assumes to deliver to this destination (a destination in another account).
   * @default - the gateway fleet's own role
   */
  readonly Role?: DestinationRoleRecord;
  /**
   * Options of the destination's service, as Proxylity's `Arguments`: each Type takes the fields
   * of its own `<Type>ArgumentsRecord` below and no other (validate-destination-arguments.ts).
   */
  readonly Arguments?: DestinationArgumentsRecord;
}

/** Arguments of a Lambda destination (Proxylity's, plus `InvocationType`). */
export interface LambdaArgumentsRecord {
  /** `RequestResponse` (replies) or `Event` (asynchronous, write-only). Packet Gateway's own argument. @default RequestResponse */
  readonly InvocationType?: LambdaInvocationTypeName;
  /** Invoke with InvokeWithResponseStream; each streamed reply is sent as soon as it arrives. @default false */
  readonly UseResponseStreaming?: boolean;
  /** Tenant id of every invocation (functions in tenant isolation mode). @default - none */
  readonly TenantId?: string;
  /** Binary range expression over the payload whose bytes are each packet's tenant id; batches are split by tenant. @default - none */
  readonly TenantIdExpression?: string;
  /** Encoding of the TenantIdExpression bytes in the tenant id. @default hex */
  readonly TenantIdFormatter?: ArgumentFormatterName;
}

/** Arguments of an SQS destination (Proxylity's). */
export interface SqsArgumentsRecord {
  /** The message body is the packet's `Data` (in the destination's Formatter) instead of the packet's JSON. @default false */
  readonly SendRaw?: boolean;
  /** Adds message attributes `LocalDomain`, `LocalPort`, `RemoteAddress`, `RemotePort`. @default false */
  readonly UseMessageAttributes?: boolean;
  /** Binary range expression over the payload whose value is the message group id. @default - FIFO queues: the client endpoint; standard queues: none */
  readonly MessageGroupIdExpression?: string;
  /** Encoding of the MessageGroupIdExpression value. @default hex */
  readonly MessageGroupIdFormatter?: ArgumentFormatterName;
  /** FIFO queues: binary range expression over the payload whose value is the deduplication id. @default - the packet's Tag */
  readonly MessageDeduplicationIdExpression?: string;
  /** Encoding of the MessageDeduplicationIdExpression value. @default hex */
  readonly MessageDeduplicationIdFormatter?: ArgumentFormatterName;
}

/** Arguments of a Step Functions destination (Packet Gateway's own). */
export interface StepFunctionsArgumentsRecord {
  /** Workflow type of the state machine. @default - detected once with DescribeStateMachine */
  readonly StateMachineType?: StateMachineTypeName;
}

/** Arguments of a Kinesis destination (Proxylity's). */
export interface KinesisArgumentsRecord {
  /** Binary range expression over the payload whose bytes are the record's partition key. @default - a random key per record */
  readonly PartitionKeyExpression?: string;
  /** Encoding of the PartitionKeyExpression bytes in the partition key. @default hex */
  readonly PartitionKeyFormatter?: ArgumentFormatterName;
}

/** Arguments of an EventBridge destination (Packet Gateway's own). */
export interface EventBridgeArgumentsRecord {
  /** `source` of each event (`Source` of PutEvents). @default proxylity */
  readonly EventSource?: string;
  /** `detail-type` of each event (`DetailType` of PutEvents). @default udp-gateway-packet-ingress */
  readonly EventDetailType?: string;
}

/** Arguments of an S3 destination (Packet Gateway's own). */
export interface S3ArgumentsRecord {
  /** Text put before every object key (s3-object-key.ts). @default - none */
  readonly KeyPrefix?: string;
  /** Layout of object keys after KeyPrefix, with placeholders (s3-object-key.ts). @default S3_DEFAULT_KEY_FORMAT */
  readonly KeyFormat?: string;
}

/** Arguments of a DynamoDB destination (Packet Gateway's own). */
export interface DynamoDbArgumentsRecord {
  /** Name of the table's partition key attribute (type S). @default pk */
  readonly PartitionKeyAttribute?: string;
  /** Name of the table's sort key attribute (type S). @default sk */
  readonly SortKeyAttribute?: string;
}

/**
 * A destination's `Arguments` as destination modules read them: the fields of every Type's
 * arguments record, of which a valid record holds only its own Type's
 * (validate-destination-arguments.ts `DESTINATION_ARGUMENTS`).
 */
export type DestinationArgumentsRecord = LambdaArgumentsRecord & SqsArgumentsRecord & StepFunctionsArgumentsRecord & KinesisArgumentsRecord
& EventBridgeArgumentsRecord & S3ArgumentsRecord & DynamoDbArgumentsRecord;

/** Invocation types of a Lambda destination. */
export const LAMBDA_INVOCATION_TYPES = ['RequestResponse', 'Event'] as const;
export type LambdaInvocationTypeName = (typeof LAMBDA_INVOCATION_TYPES)[number];

/** A role the gateway assumes for one destination (Proxylity's `Role: {Arn}`). */
export interface DestinationRoleRecord {
  /** The role's ARN. */
  readonly Arn: string;
  /**
   * `sts:ExternalId` of the AssumeRole call. In AWS the registration function sets it to the
   * 12-digit account id of the stack that registers the Listener and refuses another value, so a
   * Listener of one account can never act as a role that trusts the gateway for another account.
   * @default - none (local mode configuration files only)
   */
  readonly ExternalId?: string;
}

/** A destination record as destination modules receive it: a region-map `Arn` already resolved for the gateway's region. */
export type ResolvedDestinationRecord = Omit<DestinationRecord, 'Arn'> & { readonly Arn?: string };

export interface WireGuardPeerRecord {
  /** Peer's Curve25519 public key, base64 (44 characters). */
  readonly PublicKey: string;
  /** Inner source addresses the peer may use (CIDRs, IPv4 or IPv6). @default every address (limits.ts `DEFAULT_ALLOWED_IPS`: 0.0.0.0/0 and ::/0, as Proxylity's) */
  readonly AllowedIPs?: readonly string[];
  /** Optional preshared key; in AWS the ARN of a Secrets Manager secret holding it, locally the base64 key. */
  readonly PresharedKey?: string;
  /** Environment variable that carries the peer's preshared key into the task (an ECS secret); instead of PresharedKey. */
  readonly PresharedKeyEnvironmentVariable?: string;
  /** Known endpoint (`host:port` / `[v6]:port`), used to initiate before the peer has spoken. */
  readonly Endpoint?: string;
}

export interface WireGuardRecord {
  /** Listener private key, base64. Local mode only: in AWS it arrives through PrivateKeySecretArn / the task's secrets. */
  readonly PrivateKey?: string;
  /** Secrets Manager secret holding the private key (AWS). */
  readonly PrivateKeySecretArn?: string;
  /** Environment variable that carries the private key into the task (an ECS secret). */
  readonly PrivateKeyEnvironmentVariable?: string;
  /** Listener public key, base64 (informational; derived from the private key at start). */
  readonly PublicKey?: string;
  readonly Peers?: readonly WireGuardPeerRecord[];
  /** Accept handshakes from any peer key (AllowedIPs: everything). @default false */
  readonly AllowUnknownPeers?: boolean;
  /** Deliver the inner UDP payload plus `Inner`, instead of the whole inner IP packet. @default false (limits.ts `DEFAULT_DECAPSULATED_DELIVERY`, as Proxylity's) */
  readonly DecapsulatedDelivery?: boolean;
}

export interface ListenerRecord {
  /** Unique name: 1–64 of [A-Za-z0-9_-]. */
  readonly Name: string;
  /**
   * The Listener's protocol. A config file or a `Custom::PacketGatewayListener` may give
   * `Protocols` instead; records handed to the data plane and stored by the registration function
   * always carry `Protocol` (listener-protocol.ts `withListenerProtocol`).
   */
  readonly Protocol: ListenerProtocolName;
  /** Proxylity's form of `Protocol`: a list of exactly one protocol (`["udp"]`, `["wg"]`); with `Protocol`, both must agree. */
  readonly Protocols?: readonly ListenerProtocolName[];
  /** UDP port, 1–65535. */
  readonly Port: number;
  /** Address the socket binds. @default 0.0.0.0 (AWS), 127.0.0.1 (local mode) */
  readonly BindAddress?: string;
  /** Host label reported in `Local.Domain`. @default the Listener name */
  readonly Domain?: string;
  /** Public address reported in `Local.IpAddress`. @default the bound address */
  readonly PublicAddress?: string;
  /** @default base64 */
  readonly Formatter?: FormatterName;
  readonly Destinations: readonly DestinationRecord[];
  /** Only datagrams from these CIDRs (IPv4/IPv6) are accepted; others fail with ClientRestricted. @default - every client */
  readonly ClientRestrictions?: { readonly Networks: readonly string[] };
  /** CIDRs that replies and sourced packets may reach despite the egress safety rules (loopback, private VPC ranges…). @default - none */
  readonly EgressAllowedNetworks?: readonly string[];
  /** Largest payload of a reply or sourced packet, in bytes (limits.ts `PAYLOAD_BYTES`). @default limits.ts `defaultMaxPayloadBytes(Protocol)` (1452 udp, 1372 wg); `MAX_UDP_PAYLOAD_BYTES` (65507) in local mode */
  readonly MaxPayloadBytes?: number;
  /** Seconds a reply Tag stays valid (limits.ts `REPLY_TAG_TTL_SECONDS`: 1–3600). @default 900 (limits.ts `DEFAULT_REPLY_TAG_TTL_SECONDS`: 15 minutes, the longest Lambda run) */
  readonly ReplyTagTtlSeconds?: number;
  readonly WireGuard?: WireGuardRecord;
}

export interface PacketSourceRecord {
  /** The user's topic; the binding key. */
  readonly TopicArn: string;
  readonly ListenerName: string;
  /** false keeps the binding but drops its packets with SourceDisabled. @default true */
  readonly Enabled?: boolean;
  /** Failure records go here (as SQS messages) when set. */
  readonly DeadLetterQueueArn?: string;
  /** Delivery errors for this source are written here when set. */
  readonly DeliveryLogGroupArn?: string;
  /** Region whose gateway sends messages without an EgressRegion attribute. */
  readonly HomeRegion?: string;
  /** Stable identifier of the binding (custom-resource attribute BindingId). */
  readonly BindingId?: string;
  /** Stack that owns the binding (CloudFormation stack id); one stack can never take over another's topic. */
  readonly OwnerStackId?: string;
  /** `PendingConfirmation` until the gateway has confirmed the SNS subscription. */
  readonly SubscriptionState?: 'PendingConfirmation' | 'Confirmed';
  readonly SubscriptionArns?: readonly string[];
  readonly Description?: string;
  /** Role in the topic's account that the gateway assumes (with ExternalId) for this binding: subscription management, and writing to DeliveryLogGroupArn / DeadLetterQueueArn. */
  readonly RoleArn?: string;
  /** Value the role's trust policy requires as `sts:ExternalId`. A confused-deputy guard, not a secret. */
  readonly ExternalId?: string;
  /** Regions whose gateways send this binding's packets, HomeRegion first; each has a subscription of its delivery queue. */
  readonly EgressRegions?: readonly string[];
}

/** The local-mode config file, and the in-memory view of the DynamoDB table. */
export interface GatewayConfigDocument {
  readonly Listeners: readonly ListenerRecord[];
  readonly PacketSources?: readonly PacketSourceRecord[];
}

/**
 * DynamoDB layout of the configuration table: one item per record.
 * Partition key `pk`: `LISTENER#<name>` or `SOURCE#<topicArn>`; `kind` says which; `record` holds
 * the record as a map. A single table scan loads the whole configuration.
 */
export const TABLE_PARTITION_KEY = 'pk';
export const LISTENER_KEY_PREFIX = 'LISTENER#';
export const SOURCE_KEY_PREFIX = 'SOURCE#';
export const RECORD_ATTRIBUTE = 'record';
export const KIND_ATTRIBUTE = 'kind';

/** Values of the `kind` attribute. */
export const LISTENER_KIND = 'Listener';
export const SOURCE_KIND = 'PacketSource';
/**
 * Item attributes kept by the registration function beside `record`; the data plane ignores them.
 * `owner`: `{ StackId, LogicalResourceId }` of the custom resource that wrote the item.
 * `previous`: `{ record, owner }` of the item a resource of the same stack took over (restored
 * when that resource is rolled back, dropped when the old resource is deleted).
 * `version`: incremented by every write; each write is conditional on the version it read.
 * `pendingSince`: epoch milliseconds at which a binding's subscriptions were requested.
 */
export const OWNER_ATTRIBUTE = 'owner';
export const PREVIOUS_ATTRIBUTE = 'previous';
export const VERSION_ATTRIBUTE = 'version';
export const PENDING_SINCE_ATTRIBUTE = 'pendingSince';
