/**
 * Validation of configuration records (records.ts), shared by the data plane (config file and
 * DynamoDB table) and the registration Lambda. Every error names the field path, the value and
 * what is allowed, e.g. `Listeners[0].Port: 70000 is not a valid port (allowed: integer 1–65535)`;
 * all errors are collected, not just the first.
 */
import { isIP } from 'node:net';
import {
  DEAD_LETTER_QUEUE_ALLOWED, deadLetterQueueProblem,
  IAM_ROLE_ARN, LAMBDA_FUNCTION, LOG_GROUP_ARN, queueOfUrl, queueUrlMismatch, SECRET_ARN, SNS_TOPIC_ARN, SQS_QUEUE_ARN, SQS_QUEUE_URL_ALLOWED,
  LAMBDA_FUNCTION_ARN, parseArn,
  EXECUTE_API_ARN, STATE_MACHINE_ARN,
  EVENT_BUS_ARN, FIREHOSE_DELIVERY_STREAM_ARN, KINESIS_STREAM_ARN,
} from './arn';
import {
  BATCH_COUNT, BATCH_SIZE_BYTES, BATCH_TIMEOUT_SECONDS, DESTINATION_NAME, DOMAIN, ENVIRONMENT_VARIABLE_NAME, EXTERNAL_ID, IDENTIFIER,
  inIntegerRange, inNumberRange, LOG_GROUP_NAME, MAX_IN_FLIGHT_BATCHES, MAX_LISTENER_RECORD_BYTES, MAX_QUEUED_PACKETS, MAX_WIREGUARD_PEERS,
  NAME, NumericRange, PAYLOAD_BYTES, PORT, REGION,
  REPLY_TAG_TTL_SECONDS, TextPattern, WIREGUARD_KEY,
} from './limits';
import { CIDR_ALLOWED, cidrProblem, ENDPOINT_ALLOWED, isEndpoint } from './network';
import {
  BatchingRecord, DESTINATION_TYPES, DestinationRecord, FORMATTERS, GatewayConfigDocument, LISTENER_PROTOCOLS, ListenerRecord, PacketSourceRecord,
  WireGuardPeerRecord, WireGuardRecord,
  DestinationRoleRecord,
} from './records';
import { isRegionalArnMap, regionMapKeyProblems } from './region-map';
import {
  DESTINATION_ARGUMENT_NAMES, destinationArgumentErrors, flatArgumentErrors, writeOnlyDestinationArnProblem,
} from './validate-destination-arguments';

export { validatePacketArgument } from './validate-destination-arguments';

export interface RecordValidationOptions {
  /**
   * Report fields the schema does not know (typos in a config file). Readers of stored records
   * written by a newer version turn this off.
   * @default true
   */
  readonly rejectUnknownFields?: boolean;

  /**
   * Origins of SQS endpoints an SQS destination's `QueueUrl` may name besides AWS's regional
   * endpoints: the data plane's configured SDK endpoint (`AWS_ENDPOINT_URL_SQS`) in tests and labs.
   * @default - AWS's regional SQS endpoints only
   */
  readonly queueEndpoints?: readonly string[];
}

/** Thrown by {@link assertValidConfigDocument}; `errors` holds every problem found. */
export class ConfigValidationError extends Error {
  public readonly errors: readonly string[];

  public constructor(errors: readonly string[], source = 'configuration') {
    super(`${source} is invalid (${errors.length} error${errors.length === 1 ? '' : 's'}):\n  ${errors.join('\n  ')}`);
    this.name = 'ConfigValidationError';
    this.errors = errors;
  }
}

/**
 * The field names of record type `T`, in the order given. The argument must name every field of
 * `T` and no other (excess property check), so a field added to a record interface in records.ts
 * without being added here is a compile error, not an "unknown field" at run time.
 */
export function recordFields<T>(fields: { readonly [K in keyof Required<T>]: true }): readonly (keyof T & string)[] {
  return Object.keys(fields) as (keyof T & string)[];
}

const LISTENER_FIELDS = recordFields<ListenerRecord>({
  Name: true,
  Protocol: true,
  Protocols: true,
  Port: true,
  BindAddress: true,
  Domain: true,
  PublicAddress: true,
  Formatter: true,
  Destinations: true,
  ClientRestrictions: true,
  EgressAllowedNetworks: true,
  MaxPayloadBytes: true,
  ReplyTagTtlSeconds: true,
  WireGuard: true,
});
const CLIENT_RESTRICTIONS_FIELDS = recordFields<NonNullable<ListenerRecord['ClientRestrictions']>>({ Networks: true });
const DESTINATION_FIELDS = recordFields<DestinationRecord>({
  Name: true,
  Type: true,
  Arn: true,
  QueueUrl: true,
  Module: true,
  Handler: true,
  Formatter: true,
  Batching: true,
  MaxQueuedPackets: true,
  MaxInFlightBatches: true,
  Arguments: true,
  Role: true,
  MetricsEnabled: true,
  LogGroupName: true,
});
const ROLE_FIELDS = recordFields<DestinationRoleRecord>({ Arn: true, ExternalId: true });
const BATCHING_FIELDS = recordFields<BatchingRecord>({ Count: true, TimeoutInSeconds: true, SizeInBytes: true });
const WIREGUARD_FIELDS = recordFields<WireGuardRecord>({
  PrivateKey: true,
  PrivateKeySecretArn: true,
  PrivateKeyEnvironmentVariable: true,
  PublicKey: true,
  Peers: true,
  AllowUnknownPeers: true,
  DecapsulatedDelivery: true,
});
const PEER_FIELDS = recordFields<WireGuardPeerRecord>({
  PublicKey: true,
  AllowedIPs: true,
  PresharedKey: true,
  PresharedKeyEnvironmentVariable: true,
  Endpoint: true,
});
const SOURCE_FIELDS = recordFields<PacketSourceRecord>({
  TopicArn: true,
  ListenerName: true,
  Enabled: true,
  DeadLetterQueueArn: true,
  DeliveryLogGroupArn: true,
  HomeRegion: true,
  BindingId: true,
  OwnerStackId: true,
  SubscriptionState: true,
  SubscriptionArns: true,
  Description: true,
  RoleArn: true,
  ExternalId: true,
  EgressRegions: true,
});
/** `$schema` lets editors validate a config file; it is not part of the stored document. */
const DOCUMENT_FIELDS = recordFields<GatewayConfigDocument & { readonly $schema?: string }>({ $schema: true, Listeners: true, PacketSources: true });

/** Fields that only some destination types use. */
const DESTINATION_TYPE_FIELDS: Readonly<Record<string, readonly string[]>> = {
  Arn: ['lambda', 'sqs', 'stepfunctions', 'apigateway', 'logs', 's3', 'dynamodb', 'sns', 'kinesis', 'firehose', 'eventbridge'],
  QueueUrl: ['sqs'],
  Module: ['local'],
  Handler: ['local'],
};

/** Destination types whose `Arn` may be a region map, with the ARN each value must be. */
const REGION_MAP_ARNS: Readonly<Record<string, TextPattern & { readonly service: string }>> = {
  lambda: { ...LAMBDA_FUNCTION_ARN, service: 'lambda' },
};

/** Validates a whole configuration document, including references between records. */
export function validateConfigDocument(value: unknown, options: RecordValidationOptions = {}): string[] {
  const v = new Validator(options);
  const doc = v.object(value, '', DOCUMENT_FIELDS, true);
  if (doc === undefined) return v.errors;
  const listeners = v.array(doc.Listeners, 'Listeners', true);
  const names = new Map<string, string>();
  const ports = new Map<number, string>();
  listeners?.forEach((item, i) => {
    const path = `Listeners[${i}]`;
    v.listener(item, path);
    if (!isRecord(item)) return;
    if (typeof item.Name === 'string') {
      const first = names.get(item.Name);
      if (first !== undefined) v.error(`${path}.Name`, item.Name, `is used by ${first}`, 'unique Listener names');
      else names.set(item.Name, path);
    }
    if (isPort(item.Port)) {
      const first = ports.get(item.Port);
      if (first !== undefined) v.error(`${path}.Port`, item.Port, `is used by ${first}`, 'one Listener per port');
      else ports.set(item.Port, path);
    }
  });
  const sources = doc.PacketSources === undefined ? undefined : v.array(doc.PacketSources, 'PacketSources', false);
  const topics = new Map<string, string>();
  sources?.forEach((item, i) => {
    const path = `PacketSources[${i}]`;
    v.packetSource(item, path);
    if (!isRecord(item)) return;
    if (typeof item.TopicArn === 'string') {
      const first = topics.get(item.TopicArn);
      if (first !== undefined) v.error(`${path}.TopicArn`, item.TopicArn, `is bound by ${first}`, 'one PacketSource per topic');
      else topics.set(item.TopicArn, path);
    }
    if (listeners !== undefined && typeof item.ListenerName === 'string' && !names.has(item.ListenerName)) {
      const known = [...names.keys()];
      v.error(`${path}.ListenerName`, item.ListenerName, 'is not a Listener of this configuration', known.length > 0 ? known.join(', ') : 'no Listener is defined');
    }
  });
  return v.errors;
}

/** Validates one Listener record (`path` prefixes the messages). */
export function validateListenerRecord(value: unknown, path = 'Listener', options: RecordValidationOptions = {}): string[] {
  const v = new Validator(options);
  v.listener(value, path);
  const bytes = Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
  if (bytes > MAX_LISTENER_RECORD_BYTES) {
    v.errors.push(`${path}: the record takes ${bytes} bytes as JSON (allowed: at most ${MAX_LISTENER_RECORD_BYTES}, to stay under DynamoDB's 400 KB item limit; `
      + 'fewer WireGuard peers or AllowedIPs, or fewer destinations)');
  }
  return v.errors;
}

/** Validates one PacketSource record (`path` prefixes the messages). */
export function validatePacketSourceRecord(value: unknown, path = 'PacketSource', options: RecordValidationOptions = {}): string[] {
  const v = new Validator(options);
  v.packetSource(value, path);
  return v.errors;
}

/** Throws a {@link ConfigValidationError} listing every problem unless `value` is a valid document. */
export function assertValidConfigDocument(
  value: unknown,
  source?: string,
  options?: RecordValidationOptions,
): asserts value is GatewayConfigDocument {
  const errors = validateConfigDocument(value, options);
  if (errors.length > 0) throw new ConfigValidationError(errors, source);
}

class Validator {
  public readonly errors: string[] = [];
  private readonly rejectUnknown: boolean;
  private readonly queueEndpoints: readonly string[];

  public constructor(options: RecordValidationOptions) {
    this.rejectUnknown = options.rejectUnknownFields ?? true;
    this.queueEndpoints = options.queueEndpoints ?? [];
  }

  public error(path: string, value: unknown, problem: string, allowed: string): void {
    this.errors.push(`${path || '(document)'}: ${show(value)} ${problem} (allowed: ${allowed})`);
  }

  public missing(path: string, allowed: string): void {
    this.errors.push(`${path}: missing (required; allowed: ${allowed})`);
  }

  /** `value` as an object of `fields`; keys in `reported` are left to the caller (no "unknown field"). */
  public object(
    value: unknown, path: string, fields: readonly string[], required: boolean, reported: readonly string[] = [],
  ): Record<string, unknown> | undefined {
    if (value === undefined) {
      if (required) this.missing(path || '(document)', 'an object');
      return undefined;
    }
    if (!isRecord(value)) {
      this.error(path, value, 'is not an object', `an object with ${fields.filter((f) => f !== '$schema').join(', ')}`);
      return undefined;
    }
    if (this.rejectUnknown) {
      for (const key of Object.keys(value)) {
        if (!fields.includes(key) && !reported.includes(key)) this.errors.push(`${join(path, key)}: unknown field (allowed: ${fields.filter((f) => f !== '$schema').join(', ')})`);
      }
    }
    return value;
  }

  public array(value: unknown, path: string, required: boolean): unknown[] | undefined {
    if (value === undefined) {
      if (required) this.missing(path, 'an array');
      return undefined;
    }
    if (!Array.isArray(value)) {
      this.error(path, value, 'is not an array', 'an array');
      return undefined;
    }
    return value;
  }

  public listener(value: unknown, path: string): void {
    const r = this.object(value, path, LISTENER_FIELDS, true);
    if (r === undefined) return;
    this.pattern(r.Name, `${path}.Name`, NAME, 'is not a valid name', true);
    const protocol = this.listenerProtocol(r, path);
    this.integer(r.Port, `${path}.Port`, PORT, 'is not a valid port', true);
    this.ipAddress(r.BindAddress, `${path}.BindAddress`);
    this.pattern(r.Domain, `${path}.Domain`, DOMAIN, 'is not a host name', false);
    this.ipAddress(r.PublicAddress, `${path}.PublicAddress`);
    this.oneOf(r.Formatter, `${path}.Formatter`, FORMATTERS, 'is not a Formatter', false);
    const destinations = this.array(r.Destinations, `${path}.Destinations`, true);
    const destinationNames = new Map<string, string>();
    destinations?.forEach((d, i) => {
      const dPath = `${path}.Destinations[${i}]`;
      this.destination(d, dPath);
      if (isRecord(d) && typeof d.Name === 'string') {
        const first = destinationNames.get(d.Name);
        if (first !== undefined) this.error(`${dPath}.Name`, d.Name, `is used by ${first}`, 'unique destination names within a Listener');
        else destinationNames.set(d.Name, dPath);
      }
    });
    const restrictions = this.object(r.ClientRestrictions, `${path}.ClientRestrictions`, CLIENT_RESTRICTIONS_FIELDS, false);
    if (restrictions !== undefined) this.cidrs(restrictions.Networks, `${path}.ClientRestrictions.Networks`, true);
    this.cidrs(r.EgressAllowedNetworks, `${path}.EgressAllowedNetworks`, false);
    this.integer(r.MaxPayloadBytes, `${path}.MaxPayloadBytes`, PAYLOAD_BYTES, 'is not a valid payload limit', false);
    this.integer(r.ReplyTagTtlSeconds, `${path}.ReplyTagTtlSeconds`, REPLY_TAG_TTL_SECONDS, 'is not a valid tag lifetime', false);
    if (r.WireGuard !== undefined) {
      if (protocol !== 'wg') this.error(`${path}.WireGuard`, r.WireGuard, `is set on a Listener with Protocol ${show(protocol ?? r.Protocol)}`, 'WireGuard only when Protocol is wg');
      else this.wireGuard(r.WireGuard, `${path}.WireGuard`);
    }
  }

  /**
   * The protocol of Listener `r`: `Protocol`, or Proxylity's `Protocols` list of exactly one
   * protocol, or both naming the same one.
   */
  private listenerProtocol(r: Record<string, unknown>, path: string): string | undefined {
    if (r.Protocols === undefined) return this.oneOf(r.Protocol, `${path}.Protocol`, LISTENER_PROTOCOLS, 'is not a protocol', true);
    const single = r.Protocol === undefined ? undefined : this.oneOf(r.Protocol, `${path}.Protocol`, LISTENER_PROTOCOLS, 'is not a protocol', false);
    const list = this.array(r.Protocols, `${path}.Protocols`, true);
    if (list === undefined) return single;
    if (list.length !== 1) {
      this.errors.push(`${path}.Protocols: ${JSON.stringify(list).slice(0, 80)} holds ${list.length} protocols (allowed: exactly one of `
        + `${LISTENER_PROTOCOLS.join(', ')}, e.g. ["udp"]: a Listener speaks one protocol; define one Listener per protocol)`);
      return single;
    }
    const listed = this.oneOf(list[0], `${path}.Protocols[0]`, LISTENER_PROTOCOLS, 'is not a protocol', true);
    if (single !== undefined && listed !== undefined && single !== listed) {
      this.error(`${path}.Protocol`, single, `differs from Protocols[0] ${show(listed)}`, 'Protocol or Protocols, or both naming the same protocol');
      return undefined;
    }
    return single ?? listed;
  }

  public destination(value: unknown, path: string): void {
    const r = this.object(value, path, DESTINATION_FIELDS, true, DESTINATION_ARGUMENT_NAMES);
    if (r === undefined) return;
    this.pattern(r.Name, `${path}.Name`, DESTINATION_NAME, 'is not a valid name', true);
    const type = this.oneOf(r.Type, `${path}.Type`, DESTINATION_TYPES, 'is not a destination type', true);
    this.errors.push(...flatArgumentErrors(r, path, type));
    if (type !== undefined) {
      for (const [field, types] of Object.entries(DESTINATION_TYPE_FIELDS)) {
        if (r[field] !== undefined && !types.includes(type)) {
          this.error(`${path}.${field}`, r[field], `is set on a destination of Type ${type}`, `${field} only for Type ${types.join(' or ')}`);
        }
      }
    }
    const regionMap = type !== undefined && isRegionalArnMap(r.Arn) ? REGION_MAP_ARNS[type] : undefined;
    if (regionMap !== undefined) {
      this.regionMap(r.Arn as Record<string, unknown>, `${path}.Arn`, regionMap);
    } else if (type === 'lambda') {
      this.pattern(r.Arn, `${path}.Arn`, LAMBDA_FUNCTION, 'is not a Lambda function', true);
    } else if (type === 'sqs') {
      if (r.Arn === undefined && r.QueueUrl === undefined) this.missing(`${path}.Arn`, 'an SQS queue ARN, or QueueUrl');
      this.pattern(r.Arn, `${path}.Arn`, SQS_QUEUE_ARN, 'is not an SQS queue ARN', false);
      this.queueUrl(r.QueueUrl, r.Arn, `${path}.QueueUrl`);
    } else if (type === 'local') {
      if (r.Module === undefined) this.missing(`${path}.Module`, 'path of a .js/.cjs/.mjs/.ts module');
      else if (typeof r.Module !== 'string' || r.Module.trim() === '') this.error(`${path}.Module`, r.Module, 'is not a module path', 'path of a .js/.cjs/.mjs/.ts module');
      this.pattern(r.Handler, `${path}.Handler`, IDENTIFIER, 'is not an export name', false);
    } else if (type === 'stepfunctions') {
      this.pattern(r.Arn, `${path}.Arn`, STATE_MACHINE_ARN, 'is not a state machine ARN', true);
    } else if (type === 'apigateway') {
      this.pattern(r.Arn, `${path}.Arn`, EXECUTE_API_ARN, 'is not the execute-api ARN of a stage, method and path', true);
    } else if (type === 'sns') {
      this.pattern(r.Arn, `${path}.Arn`, SNS_TOPIC_ARN, 'is not an SNS topic ARN', true);
    } else if (type === 'kinesis') {
      this.pattern(r.Arn, `${path}.Arn`, KINESIS_STREAM_ARN, 'is not a Kinesis stream ARN', true);
    } else if (type === 'firehose') {
      this.pattern(r.Arn, `${path}.Arn`, FIREHOSE_DELIVERY_STREAM_ARN, 'is not a Firehose delivery stream ARN', true);
    } else if (type === 'eventbridge') {
      this.pattern(r.Arn, `${path}.Arn`, EVENT_BUS_ARN, 'is not an EventBridge event bus ARN', true);
    } else if (type !== undefined) {
      const arnProblem = writeOnlyDestinationArnProblem(type, r.Arn);
      if (arnProblem !== undefined) this.errors.push(`${path}.Arn: ${arnProblem}`);
    }
    this.errors.push(...destinationArgumentErrors(r, path, type, { rejectUnknownArguments: this.rejectUnknown }));
    this.oneOf(r.Formatter, `${path}.Formatter`, FORMATTERS, 'is not a Formatter', false);
    const batching = this.object(r.Batching, `${path}.Batching`, BATCHING_FIELDS, false);
    if (batching !== undefined) {
      this.integer(batching.Count, `${path}.Batching.Count`, BATCH_COUNT, 'is not a valid batch count', false);
      this.number(batching.TimeoutInSeconds, `${path}.Batching.TimeoutInSeconds`, BATCH_TIMEOUT_SECONDS, 'is not a valid batch timeout');
      this.integer(batching.SizeInBytes, `${path}.Batching.SizeInBytes`, BATCH_SIZE_BYTES, 'is not a valid batch size', false);
    }
    this.integer(r.MaxQueuedPackets, `${path}.MaxQueuedPackets`, MAX_QUEUED_PACKETS, 'is not a valid queue limit', false);
    this.integer(r.MaxInFlightBatches, `${path}.MaxInFlightBatches`, MAX_IN_FLIGHT_BATCHES, 'is not a valid in-flight limit', false);
    this.boolean(r.MetricsEnabled, `${path}.MetricsEnabled`);
    this.pattern(r.LogGroupName, `${path}.LogGroupName`, LOG_GROUP_NAME, 'is not a log group name', false);
    this.destinationRole(r.Role, `${path}.Role`);
  }

  /** A region map: keys are region names or `*`, values ARNs of `arn`'s service, in the key's region. */
  public regionMap(map: Record<string, unknown>, path: string, arn: TextPattern & { readonly service: string }): void {
    for (const problem of regionMapKeyProblems(map as Record<string, string>)) this.errors.push(`${path}.${problem}`);
    for (const [key, value] of Object.entries(map)) {
      if (!this.pattern(value, `${path}.${key}`, arn, `is not a ${arn.service} ARN`, true)) continue;
      const region = parseArn(value as string)?.region;
      if (key !== '*' && region !== key) this.error(`${path}.${key}`, value, `is in region ${region}, not ${key}`, `an ARN in region ${key}`);
    }
  }

  /** A destination's Role: the role ARN and the ExternalId of the AssumeRole call. */
  public destinationRole(value: unknown, path: string): void {
    const role = this.object(value, path, ROLE_FIELDS, false);
    if (role === undefined) return;
    this.pattern(role.Arn, `${path}.Arn`, IAM_ROLE_ARN, 'is not an IAM role ARN', true);
    this.pattern(role.ExternalId, `${path}.ExternalId`, EXTERNAL_ID, 'is not a valid external id', false);
  }

  /** A queue URL names the host the request (with the sender's credentials) goes to: only the SQS endpoint of the ARN's queue. */
  public queueUrl(value: unknown, arn: unknown, path: string): void {
    if (value === undefined) return;
    if (typeof value !== 'string') {
      this.error(path, value, 'is not a queue URL', SQS_QUEUE_URL_ALLOWED);
      return;
    }
    const problem = typeof arn === 'string'
      ? queueUrlMismatch(value, arn, this.queueEndpoints)
      : queueOfUrl(value, this.queueEndpoints) ? undefined : `is not the URL of an SQS queue on its regional endpoint (allowed: ${SQS_QUEUE_URL_ALLOWED})`;
    if (problem) this.errors.push(`${path}: ${show(value)} ${problem}`);
  }

  public wireGuard(value: unknown, path: string): void {
    const r = this.object(value, path, WIREGUARD_FIELDS, true);
    if (r === undefined) return;
    this.pattern(r.PrivateKey, `${path}.PrivateKey`, WIREGUARD_KEY, 'is not a WireGuard key', false, true);
    this.pattern(r.PrivateKeySecretArn, `${path}.PrivateKeySecretArn`, SECRET_ARN, 'is not a Secrets Manager secret ARN', false);
    this.pattern(r.PrivateKeyEnvironmentVariable, `${path}.PrivateKeyEnvironmentVariable`, ENVIRONMENT_VARIABLE_NAME, 'is not an environment variable name', false);
    this.pattern(r.PublicKey, `${path}.PublicKey`, WIREGUARD_KEY, 'is not a WireGuard key', false);
    this.boolean(r.AllowUnknownPeers, `${path}.AllowUnknownPeers`);
    this.boolean(r.DecapsulatedDelivery, `${path}.DecapsulatedDelivery`);
    const peers = this.array(r.Peers, `${path}.Peers`, false);
    if (peers !== undefined && peers.length > MAX_WIREGUARD_PEERS) {
      this.errors.push(`${path}.Peers: ${peers.length} peers (allowed: at most ${MAX_WIREGUARD_PEERS}, so that the Listener record stays under DynamoDB's 400 KB item limit; `
        + 'a peer takes about 200 bytes; split the peers over several Listeners)');
    }
    const keys = new Map<string, string>();
    peers?.forEach((p, i) => {
      const pPath = `${path}.Peers[${i}]`;
      const peer = this.object(p, pPath, PEER_FIELDS, true);
      if (peer === undefined) return;
      if (this.pattern(peer.PublicKey, `${pPath}.PublicKey`, WIREGUARD_KEY, 'is not a WireGuard key', true)) {
        const key = peer.PublicKey as string;
        const first = keys.get(key);
        if (first !== undefined) this.error(`${pPath}.PublicKey`, key, `is used by ${first}`, 'one entry per peer key');
        else keys.set(key, pPath);
      }
      this.cidrs(peer.AllowedIPs, `${pPath}.AllowedIPs`, false);
      if (peer.PresharedKey !== undefined && !(typeof peer.PresharedKey === 'string' && (WIREGUARD_KEY.pattern.test(peer.PresharedKey) || SECRET_ARN.pattern.test(peer.PresharedKey)))) {
        this.errors.push(`${pPath}.PresharedKey: not a valid preshared key (allowed: ${WIREGUARD_KEY.allowed}, or a Secrets Manager secret ARN)`);
      }
      if (this.pattern(peer.PresharedKeyEnvironmentVariable, `${pPath}.PresharedKeyEnvironmentVariable`, ENVIRONMENT_VARIABLE_NAME, 'is not an environment variable name', false) && peer.PresharedKey !== undefined) {
        this.errors.push(`${pPath}: PresharedKey and PresharedKeyEnvironmentVariable are both set (allowed: one of them)`);
      }
      if (peer.Endpoint !== undefined && !isEndpoint(peer.Endpoint)) {
        this.error(`${pPath}.Endpoint`, peer.Endpoint, 'is not an endpoint', ENDPOINT_ALLOWED);
      }
    });
  }

  public packetSource(value: unknown, path: string): void {
    const r = this.object(value, path, SOURCE_FIELDS, true);
    if (r === undefined) return;
    this.pattern(r.TopicArn, `${path}.TopicArn`, SNS_TOPIC_ARN, 'is not an SNS topic ARN', true);
    this.pattern(r.ListenerName, `${path}.ListenerName`, NAME, 'is not a valid Listener name', true);
    this.boolean(r.Enabled, `${path}.Enabled`);
    this.pattern(r.DeadLetterQueueArn, `${path}.DeadLetterQueueArn`, SQS_QUEUE_ARN, 'is not an SQS queue ARN', false);
    const deadLetterProblem = typeof r.DeadLetterQueueArn === 'string' && SQS_QUEUE_ARN.pattern.test(r.DeadLetterQueueArn) ? deadLetterQueueProblem(r.DeadLetterQueueArn) : undefined;
    if (deadLetterProblem) this.error(`${path}.DeadLetterQueueArn`, r.DeadLetterQueueArn, deadLetterProblem, DEAD_LETTER_QUEUE_ALLOWED);
    this.pattern(r.DeliveryLogGroupArn, `${path}.DeliveryLogGroupArn`, LOG_GROUP_ARN, 'is not a log group ARN', false);
    this.pattern(r.HomeRegion, `${path}.HomeRegion`, REGION, 'is not a region', false);
    this.text(r.BindingId, `${path}.BindingId`, 256);
    this.text(r.OwnerStackId, `${path}.OwnerStackId`, 2048);
    this.oneOf(r.SubscriptionState, `${path}.SubscriptionState`, ['PendingConfirmation', 'Confirmed'], 'is not a subscription state', false);
    const arns = this.array(r.SubscriptionArns, `${path}.SubscriptionArns`, false);
    arns?.forEach((a, i) => this.text(a, `${path}.SubscriptionArns[${i}]`, 2048));
    this.text(r.Description, `${path}.Description`, 1024);
    this.pattern(r.RoleArn, `${path}.RoleArn`, IAM_ROLE_ARN, 'is not an IAM role ARN', false);
    this.pattern(r.ExternalId, `${path}.ExternalId`, EXTERNAL_ID, 'is not a valid external id', false);
    const regions = this.array(r.EgressRegions, `${path}.EgressRegions`, false);
    regions?.forEach((region, i) => this.pattern(region, `${path}.EgressRegions[${i}]`, REGION, 'is not a region', true));
  }

  private pattern(value: unknown, path: string, text: TextPattern, problem: string, required: boolean, secret = false): boolean {
    if (value === undefined) {
      if (required) this.missing(path, text.allowed);
      return false;
    }
    if (typeof value !== 'string' || !text.pattern.test(value)) {
      if (secret) this.errors.push(`${path}: not valid (allowed: ${text.allowed})`);
      else this.error(path, value, problem, text.allowed);
      return false;
    }
    return true;
  }

  private oneOf<T extends string>(value: unknown, path: string, allowed: readonly T[], problem: string, required: boolean): T | undefined {
    if (value === undefined) {
      if (required) this.missing(path, allowed.join(', '));
      return undefined;
    }
    if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
      this.error(path, value, problem, allowed.join(', '));
      return undefined;
    }
    return value as T;
  }

  private integer(value: unknown, path: string, range: NumericRange, problem: string, required: boolean): void {
    if (value === undefined) {
      if (required) this.missing(path, range.allowed);
      return;
    }
    if (!inIntegerRange(value, range)) this.error(path, value, problem, range.allowed);
  }

  private number(value: unknown, path: string, range: NumericRange, problem: string): void {
    if (value === undefined) return;
    if (!inNumberRange(value, range)) this.error(path, value, problem, range.allowed);
  }

  private boolean(value: unknown, path: string): void {
    if (value !== undefined && typeof value !== 'boolean') this.error(path, value, 'is not a boolean', 'true or false');
  }

  private text(value: unknown, path: string, maxLength: number): void {
    if (value === undefined) return;
    if (typeof value !== 'string' || value.length > maxLength) this.error(path, value, 'is not valid text', `a string of at most ${maxLength} characters`);
  }

  private ipAddress(value: unknown, path: string): void {
    if (value === undefined) return;
    if (typeof value !== 'string' || isIP(value) === 0) this.error(path, value, 'is not an IP address', 'IPv4 dotted quad or IPv6');
  }

  private cidrs(value: unknown, path: string, required: boolean): void {
    const list = this.array(value, path, required);
    list?.forEach((c, i) => {
      const problem = cidrProblem(c);
      if (problem !== undefined) this.error(`${path}[${i}]`, c, problem, CIDR_ALLOWED);
    });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPort(value: unknown): value is number {
  return inIntegerRange(value, PORT);
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** The value as it appears in messages: JSON, shortened. */
function show(value: unknown): string {
  let text: string;
  if (value === undefined) return 'missing';
  try {
    text = typeof value === 'object' && value !== null ? (Array.isArray(value) ? 'an array' : 'an object') : JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}…` : text;
}
