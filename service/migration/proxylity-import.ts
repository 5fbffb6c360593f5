/**
 * Converts a Proxylity UDP Gateway CloudFormation template (JSON) into the equivalent Packet Gateway
 * CDK app, a local-mode configuration, and the list of properties that could not be carried over.
 * Pure: no file system, no aws-cdk-lib. See docs/MIGRATING.md.
 */
import { BATCH_COUNT, BATCH_SIZE_BYTES, BATCH_TIMEOUT_SECONDS, DESTINATION_NAME, inIntegerRange, inNumberRange, matches, NAME } from '../../lib/private/limits';
import type { DestinationTypeName } from '../../lib/private/records';
import { DESTINATION_ARGUMENTS, destinationArgumentErrors } from '../../lib/private/validate-destination-arguments';

export const PROXYLITY_LISTENER_TYPE = 'Custom::ProxylityUdpGatewayListener';
export const PROXYLITY_PACKET_SOURCE_TYPE = 'Custom::ProxylityUdpGatewayPacketSource';
export const PROXYLITY_DESTINATION_ARN_TYPE = 'Custom::ProxylityUdpGatewayDestinationArn';

/** A template property the conversion did not carry over, and why. */
export interface Leftover {
  /** Where it is: `<logical id>.<property path>`. */
  readonly path: string;
  readonly reason: string;
}

export interface ProxylityImportOptions {
  /** Class name of the generated stack. @default 'MigratedGatewayStack' */
  readonly stackClassName?: string;
  /** Import path of the construct library in the generated code. @default 'cdk-packet-gateway' */
  readonly libraryImport?: string;
  /** Port of the first Listener (Proxylity assigns ports; here they are chosen). @default 5555 */
  readonly firstPort?: number;
}

export interface ProxylityImport {
  /** TypeScript source of the CDK stack. */
  readonly cdkCode: string;
  /** A local-mode configuration in the `examples/local/gateway.json` shape. */
  readonly localConfig: LocalConfig;
  readonly leftovers: Leftover[];
}

export interface LocalConfig {
  readonly Listeners: Array<Record<string, unknown>>;
  readonly PacketSources: Array<Record<string, unknown>>;
}

/** An input that is not a Proxylity template this command can read. */
export class ProxylityTemplateError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProxylityTemplateError';
  }
}

/** Terraform input names of Proxylity's `udp-gateway` module and the Listener properties they fill. */
const TERRAFORM_LISTENER_INPUTS: Record<string, string> = { listener_name: 'ListenerName', protocols: 'Protocols', client_restrictions: 'ClientRestrictions', destinations: 'Destinations', tags: 'Tags' };
const TERRAFORM_DESTINATION_INPUTS: Record<string, string> = {
  name: 'Name', description: 'Description', destination_arn: 'DestinationArn', role: 'Role', batching: 'Batching', metrics_enabled: 'MetricsEnabled', formatter: 'Formatter',
};
const TERRAFORM_BATCHING_INPUTS: Record<string, string> = { count: 'Count', timeout_in_seconds: 'TimeoutInSeconds', size_in_mb: 'SizeInMb' };

/**
 * The template Proxylity's Terraform module builds from its inputs (a `.tfvars.json` object):
 * one Listener named by `listener_name`. Inputs it does not know keep their names, so they are
 * listed as not carried over.
 */
function terraformInputsToTemplate(inputs: Json, source: string): Json {
  const rename = (value: Json, names: Record<string, string>): Json =>
    Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null).map(([k, v]) => [names[k] ?? k, v]));
  const properties = rename(inputs, TERRAFORM_LISTENER_INPUTS);
  if (properties.Destinations !== undefined) {
    if (!Array.isArray(properties.Destinations)) {
      throw new ProxylityTemplateError(`${source}: destinations is ${describe(properties.Destinations)}, expected a list of destination objects`);
    }
    properties.Destinations = properties.Destinations.map((d: unknown) => {
      if (!isObject(d)) return d;
      const destination = rename(d, TERRAFORM_DESTINATION_INPUTS);
      if (isObject(destination.Role)) destination.Role = rename(destination.Role, { role_arn: 'Arn' });
      if (isObject(destination.Batching)) destination.Batching = rename(destination.Batching, TERRAFORM_BATCHING_INPUTS);
      return destination;
    });
  }
  const id = (inputs.listener_name as string).split(/[^A-Za-z0-9]+/).map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
  return { Resources: { [/^[A-Za-z]/.test(id) ? id : `Listener${id}`]: { Type: PROXYLITY_LISTENER_TYPE, Properties: properties } } };
}

/**
 * Parses a Proxylity CloudFormation template, or the inputs of Proxylity's Terraform module, as
 * JSON (YAML templates must be converted to JSON first).
 */
export function parseProxylityTemplate(text: string, source: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const yamlHint = /^\s*[A-Za-z]+:/m.test(text) ? ' (it looks like YAML: only JSON templates are read; convert it to JSON first)' : '';
    throw new ProxylityTemplateError(`${source} is not valid JSON: ${(err as Error).message}${yamlHint}`);
  }
  if (!isObject(value)) throw new ProxylityTemplateError(`${source} is not a template: expected a JSON object with "Resources", got ${describe(value)}`);
  if (value.Resources === undefined && typeof value.listener_name === 'string') return terraformInputsToTemplate(value, source);
  if (!isObject(value.Resources)) throw new ProxylityTemplateError(`${source} has no "Resources" object: expected a CloudFormation template`);
  return value;
}

type Json = Record<string, unknown>;

/** A reference to a template resource, parameter or pseudo parameter, or a literal. */
type Operand =
  | { readonly kind: 'literal'; readonly value: string | number | boolean }
  | { readonly kind: 'parameter'; readonly name: string }
  | { readonly kind: 'pseudo'; readonly name: string }
  | { readonly kind: 'resource'; readonly name: string; readonly attribute: string };

/** A destination's factory (`Destination.<name>`), its record Type and the code of the factory's first argument. */
interface DestinationTarget {
  readonly name: string;
  readonly type: DestinationTypeName;
  readonly target: string;
}

/** What a template resource type becomes in CDK. */
interface ResourceKind {
  readonly factory?: string;
  /** The destination record's Type. */
  readonly type?: DestinationTypeName;
  /** `inTemplate`: a resource of the template itself, deployed in the account and region of the stack. */
  readonly importCode: (id: string, arnOrName: string, props: Json, inTemplate: boolean) => string;
}

const LAMBDA: ResourceKind = {
  factory: 'lambda',
  type: 'lambda',

  // A function of the template lives in the account and region the stack deploys to: IAM grants suffice.
  importCode: (id, arn, _props, inTemplate) => (inTemplate
    ? `lambda.Function.fromFunctionAttributes(this, '${id}', { functionArn: ${arn}, sameEnvironment: true })`
    : `lambda.Function.fromFunctionArn(this, '${id}', ${arn})`),
};
const SQS: ResourceKind = {
  factory: 'sqs',
  type: 'sqs',

  importCode: (id, arn, props) => `sqs.Queue.fromQueueAttributes(this, '${id}', { queueArn: ${arn}${props.FifoQueue === true || props.FifoQueue === 'true' ? ', fifo: true' : ''} })`,
};
const STATE_MACHINE: ResourceKind = { factory: 'stepFunctions', type: 'stepfunctions', importCode: (id, arn) => `sfn.StateMachine.fromStateMachineArn(this, '${id}', ${arn})` };
const LOG_GROUP: ResourceKind = { factory: 'cloudWatchLogs', type: 'logs', importCode: (id, arn) => `logs.LogGroup.fromLogGroupArn(this, '${id}', ${arn})` };
const BUCKET: ResourceKind = { factory: 's3', type: 's3', importCode: (id, arn) => `s3.Bucket.fromBucketArn(this, '${id}', ${arn})` };
const ROLE: ResourceKind = { importCode: (id, arn) => `iam.Role.fromRoleArn(this, '${id}', ${arn})` };
const TOPIC: ResourceKind = { factory: 'sns', type: 'sns', importCode: (id, arn) => `sns.Topic.fromTopicArn(this, '${id}', ${arn})` };
const STREAM: ResourceKind = { factory: 'kinesis', type: 'kinesis', importCode: (id, arn) => `kinesis.Stream.fromStreamArn(this, '${id}', ${arn})` };
const DELIVERY_STREAM: ResourceKind = { factory: 'firehose', type: 'firehose', importCode: (id, arn) => `firehose.DeliveryStream.fromDeliveryStreamArn(this, '${id}', ${arn})` };
const EVENT_BUS: ResourceKind = { factory: 'eventBridge', type: 'eventbridge', importCode: (id, arn) => `events.EventBus.fromEventBusArn(this, '${id}', ${arn})` };

const KIND_BY_RESOURCE_TYPE: Record<string, ResourceKind> = {
  'AWS::Lambda::Function': LAMBDA,
  'AWS::Serverless::Function': LAMBDA,
  'AWS::SQS::Queue': SQS,
  'AWS::StepFunctions::StateMachine': STATE_MACHINE,
  'AWS::Serverless::StateMachine': STATE_MACHINE,
  'AWS::Logs::LogGroup': LOG_GROUP,
  'AWS::S3::Bucket': BUCKET,
  'AWS::IAM::Role': ROLE,
  'AWS::SNS::Topic': TOPIC,
  'AWS::Kinesis::Stream': STREAM,
  'AWS::KinesisFirehose::DeliveryStream': DELIVERY_STREAM,
  'AWS::Events::EventBus': EVENT_BUS,
};
const KIND_BY_ARN_SERVICE: Record<string, ResourceKind> = {
  lambda: LAMBDA,
  sqs: SQS,
  states: STATE_MACHINE,
  logs: LOG_GROUP,
  s3: BUCKET,
  iam: ROLE,
  sns: TOPIC,
  kinesis: STREAM,
  firehose: DELIVERY_STREAM,
  events: EVENT_BUS,
};

/**
 * The construct option of each destination argument a Proxylity template can hold, and how its
 * value is written in code. Which arguments a destination takes is validate-destination-arguments.ts
 * `DESTINATION_ARGUMENTS` of its Type; Packet Gateway's own arguments with enum values
 * (`InvocationType`, `StateMachineType`) are not in Proxylity templates.
 */
const ARGUMENT_OPTIONS: Readonly<Record<string, { readonly option: string; readonly kind: 'boolean' | 'string' | 'formatter' }>> = {
  SendRaw: { option: 'sendRaw', kind: 'boolean' },
  UseMessageAttributes: { option: 'useMessageAttributes', kind: 'boolean' },
  MessageGroupIdExpression: { option: 'messageGroupIdExpression', kind: 'string' },
  MessageGroupIdFormatter: { option: 'messageGroupIdFormatter', kind: 'formatter' },
  MessageDeduplicationIdExpression: { option: 'messageDeduplicationIdExpression', kind: 'string' },
  MessageDeduplicationIdFormatter: { option: 'messageDeduplicationIdFormatter', kind: 'formatter' },
  TenantId: { option: 'tenantId', kind: 'string' },
  TenantIdExpression: { option: 'tenantIdExpression', kind: 'string' },
  TenantIdFormatter: { option: 'tenantIdFormatter', kind: 'formatter' },
  UseResponseStreaming: { option: 'responseStreaming', kind: 'boolean' },
  PartitionKeyExpression: { option: 'partitionKeyExpression', kind: 'string' },
  PartitionKeyFormatter: { option: 'partitionKeyFormatter', kind: 'formatter' },
  EventSource: { option: 'source', kind: 'string' },
  EventDetailType: { option: 'detailType', kind: 'string' },
};
/** Other spellings of an argument in Proxylity's published templates (its Kinesis example names the Formatter `PartitionKeyExpressionFormatter`). */
const ARGUMENT_SYNONYMS: Readonly<Record<string, string>> = { PartitionKeyExpressionFormatter: 'PartitionKeyFormatter' };
const FORMATTERS: Record<string, string> = { base64: 'BASE64', hex: 'HEX', ascii: 'ASCII', utf8: 'UTF8', coap: 'COAP' };
const LISTENER_PROPERTIES = new Set(['ServiceToken', 'ApiKey', 'ListenerName', 'Protocols', 'ClientRestrictions', 'Destinations', 'Peers', 'AllowUnknownPeers', 'DecapsulatedDelivery']);
const DESTINATION_PROPERTIES = new Set(['Name', 'Description', 'DestinationArn', 'Role', 'Batching', 'Formatter', 'MetricsEnabled', 'LogGroupName', 'Arguments']);
const PACKET_SOURCE_PROPERTIES = new Set(['ServiceToken', 'ApiKey', 'ListenerName', 'SnsTopicSource', 'DeadLetterQueueArn', 'DeliveryLogGroupArn', 'Enabled', 'Description']);
/** CloudFormation logical ids: the generated code uses them as construct ids and in names. */
const LOGICAL_ID = /^[A-Za-z0-9]{1,255}$/;

/** Networks local mode always allows, so a restricted Listener can be tried from this machine. */
const LOCAL_CLIENT_NETWORKS: readonly string[] = ['127.0.0.0/8', '::1/128'];
const PROXYLITY_ACCOUNT_REASON = "Proxylity's own account setting: the gateway in your account replaces it";

/** Converts a parsed Proxylity template. Throws `ProxylityTemplateError` when it holds no Listener. */
export function convertProxylityTemplate(template: Json, options: ProxylityImportOptions = {}): ProxylityImport {
  return new Converter(template, options).convert();
}

class Converter {
  private readonly resources: Json;
  private readonly parameters: Json;
  private readonly parameterNames: ReadonlySet<string>;
  private readonly leftovers: Leftover[] = [];
  private readonly declarations: string[] = [];
  private readonly declared = new Map<string, string>();
  private readonly listenerVariables = new Map<string, string>();
  private readonly localListeners: Array<Record<string, unknown>> = [];
  private readonly localSources: Array<Record<string, unknown>> = [];
  private readonly body: string[] = [];
  /** `Custom::ProxylityUdpGatewayDestinationArn` bindings: destination name → ingress region key → ARN. */
  private readonly bindings = new Map<string, { readonly ids: string[]; readonly arnByRegion: Map<string, unknown> }>();

  constructor(template: Json, private readonly options: ProxylityImportOptions) {
    this.resources = template.Resources as Json;
    this.parameters = isObject(template.Parameters) ? template.Parameters : {};
    this.parameterNames = new Set(Object.keys(this.parameters));
  }

  convert(): ProxylityImport {
    for (const [what, ids] of [['resource', Object.keys(this.resources)], ['parameter', [...this.parameterNames]]] as const) {
      const bad = ids.find((id) => !LOGICAL_ID.test(id));
      if (bad !== undefined) throw new ProxylityTemplateError(`${what} ${JSON.stringify(bad)} is not a CloudFormation logical id (allowed: 1–255 characters of A-Z a-z 0-9)`);
    }
    const listeners = Object.entries(this.resources).filter(([, r]) => isObject(r) && r.Type === PROXYLITY_LISTENER_TYPE);
    if (listeners.length === 0) throw new ProxylityTemplateError(`the template has no ${PROXYLITY_LISTENER_TYPE} resource: nothing to convert`);
    for (const [id, resource] of Object.entries(this.resources)) {
      if (isObject(resource) && resource.Type === PROXYLITY_DESTINATION_ARN_TYPE) this.binding(id, resource);
    }
    let port = this.options.firstPort ?? 5555;
    for (const [id, resource] of listeners) this.listener(id, resource as Json, port++);
    for (const [id, resource] of Object.entries(this.resources)) {
      if (!isObject(resource)) continue;
      if (resource.Type === PROXYLITY_PACKET_SOURCE_TYPE) this.packetSource(id, resource);
    }
    for (const [name, binding] of this.bindings) {
      for (const id of binding.ids) {
        this.leave(id, 'Destination', `${JSON.stringify(name)} is not a destination of a Listener of the template that lacks a DestinationArn: the binding is left out`);
      }
    }
    return { cdkCode: this.code(), localConfig: { Listeners: this.localListeners, PacketSources: this.localSources }, leftovers: this.leftovers };
  }

  private leave(id: string, path: string, reason: string): void {
    this.leftovers.push({ path: `${id}.${path}`, reason });
  }

  /** Records a DestinationArn binding; the destination of that name takes it as its DestinationArn. */
  private binding(id: string, resource: Json): void {
    const props = isObject(resource.Properties) ? resource.Properties : {};
    for (const key of Object.keys(props)) {
      if (key === 'ServiceToken' || key === 'ApiKey') this.leave(id, key, PROXYLITY_ACCOUNT_REASON);
      else if (!['Destination', 'IngressRegionKey', 'Arn'].includes(key)) this.leave(id, key, 'not a Proxylity DestinationArn property this conversion knows');
    }
    if (typeof props.Destination !== 'string' || props.Arn === undefined) {
      this.leave(id, 'Destination', `${describe(props.Destination)} with Arn ${describe(props.Arn)} does not bind an ARN to a destination name: the binding is left out`);
      return;
    }
    const region = props.IngressRegionKey === undefined ? '*' : props.IngressRegionKey;
    if (typeof region !== 'string') {
      this.leave(id, 'IngressRegionKey', `${describe(region)} is not a region name or "*": the binding is left out`);
      return;
    }
    const binding = this.bindings.get(props.Destination) ?? { ids: [], arnByRegion: new Map<string, unknown>() };
    binding.ids.push(id);
    binding.arnByRegion.set(region, props.Arn);
    this.bindings.set(props.Destination, binding);
  }

  /** The DestinationArn bound to a destination name by DestinationArn resources (one ARN, or a region map). */
  private boundArn(name: unknown): unknown {
    const binding = typeof name === 'string' ? this.bindings.get(name) : undefined;
    if (binding === undefined) return undefined;
    this.bindings.delete(name as string);
    const map = binding.arnByRegion;
    return map.size === 1 ? [...map.values()][0] : Object.fromEntries(map);
  }

  private listener(id: string, resource: Json, port: number): void {
    const props = isObject(resource.Properties) ? resource.Properties : {};
    const variable = identifier(id);
    this.listenerVariables.set(id, variable);
    const given = typeof props.ListenerName === 'string' && matches(props.ListenerName, NAME) ? props.ListenerName : undefined;
    if (props.ListenerName !== undefined && given === undefined) this.leave(id, 'ListenerName', `${describe(props.ListenerName)} is not a Listener name here (${NAME.allowed}): the logical id is used`);
    const name = given ?? (NAME.pattern.test(id) ? id : id.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64));
    const lines: string[] = [`listenerName: '${name}'`, `port: ${port}`];
    const local: Record<string, unknown> = { Name: name, Protocol: 'udp', Port: port, BindAddress: '127.0.0.1', Formatter: 'base64' };
    this.leave(id, 'Port', `Proxylity assigns the port (GetAtt ${id}.Port); the generated code uses ${port}: point clients at the new address and port`);
    for (const key of Object.keys(props)) {
      if (key === 'ServiceToken' || key === 'ApiKey') this.leave(id, key, PROXYLITY_ACCOUNT_REASON);
      else if (key === 'Tags') this.leave(id, key, 'tags are not carried over: tag the stack or its constructs with Tags.of(…).add');
      else if (!LISTENER_PROPERTIES.has(key)) this.leave(id, key, 'not a Proxylity Listener property this conversion knows');
    }
    const protocols = props.Protocols;
    let wireGuard = false;
    if (protocols !== undefined) {
      if (Array.isArray(protocols) && protocols.length === 1 && (protocols[0] === 'udp' || protocols[0] === 'wg')) {
        wireGuard = protocols[0] === 'wg';
      } else {
        this.leave(id, 'Protocols', `${JSON.stringify(protocols)} is not ["udp"] or ["wg"]: a Packet Gateway Listener speaks one protocol; converted as udp`);
      }
    }
    if (wireGuard) {
      lines.push('protocol: ListenerProtocol.WIREGUARD');
      local.Protocol = 'wg';
    }
    this.clientRestrictions(id, props.ClientRestrictions, lines, local);
    const wg: Record<string, unknown> = {};
    if (props.Peers !== undefined) this.peers(id, props.Peers, wireGuard, lines, wg);
    for (const key of ['AllowUnknownPeers', 'DecapsulatedDelivery'] as const) {
      const value = props[key];
      if (value === undefined) continue;
      const flag = booleanValue(value);
      if (flag === undefined) {
        this.leave(id, key, `${JSON.stringify(value)} is not true or false`);
      } else if (!wireGuard) {
        this.leave(id, key, 'applies to WireGuard Listeners only (Protocols is not ["wg"])');
      } else {
        lines.push(`${key === 'AllowUnknownPeers' ? 'allowUnknownPeers' : 'decapsulatedDelivery'}: ${flag}`);
        wg[key] = flag;
      }
    }
    if (wireGuard) local.WireGuard = { AllowUnknownPeers: wg.AllowUnknownPeers ?? (wg.Peers === undefined), ...wg };
    const destinations: string[] = [];
    const localDestinations: Array<Record<string, unknown>> = [];
    const list = props.Destinations;
    if (!Array.isArray(list)) this.leave(id, 'Destinations', `${describe(list)} is not a list of destinations: the Listener has none`);
    else list.forEach((d, i) => this.destination(id, i, d, destinations, localDestinations));
    lines.push(`destinations: [${destinations.length === 0 ? '' : `\n${destinations.map((d) => `        ${d},`).join('\n')}\n      `}]`);
    local.Destinations = localDestinations.length > 0 ? localDestinations : [{ Name: 'log', Type: 'log' }];
    this.localListeners.push(local);
    this.body.push(`    const ${variable} = gateway.addListener('${id}', {\n${lines.map((l) => `      ${l},`).join('\n')}\n    });`);
  }

  private clientRestrictions(id: string, value: unknown, lines: string[], local: Record<string, unknown>): void {
    if (value === undefined) return;
    if (Array.isArray(value)) {
      this.clientRestrictions(id, { Networks: value }, lines, local);
      return;
    }
    if (!isObject(value)) {
      this.leave(id, 'ClientRestrictions', `${describe(value)} is not an object with Networks`);
      return;
    }
    for (const key of Object.keys(value)) {
      if (key === 'Domains') this.leave(id, 'ClientRestrictions.Domains', 'restricting clients by domain name is not supported: list their networks in ClientRestrictions.Networks');
      else if (key !== 'Networks') this.leave(id, `ClientRestrictions.${key}`, 'not a Proxylity ClientRestrictions property this conversion knows');
    }
    if (value.Networks === undefined) return;
    if (!Array.isArray(value.Networks)) {
      this.leave(id, 'ClientRestrictions.Networks', `${describe(value.Networks)} is not a list of CIDRs`);
      return;
    }
    const codes: string[] = [];
    const locals: string[] = [];
    value.Networks.forEach((n, i) => {
      const code = this.stringCode(id, `ClientRestrictions.Networks[${i}]`, n);
      if (code === undefined) return;
      codes.push(code);
      const localValue = this.localString(n);
      if (localValue !== undefined) locals.push(localValue);
    });
    if (codes.length > 0) lines.push(`clientRestrictions: [${codes.join(', ')}]`);
    // Local mode is tried from this machine: loopback stays allowed beside the template's networks.
    if (locals.length > 0) local.ClientRestrictions = { Networks: [...locals, ...LOCAL_CLIENT_NETWORKS] };
  }

  private peers(id: string, value: unknown, wireGuard: boolean, lines: string[], wg: Record<string, unknown>): void {
    if (!wireGuard) {
      this.leave(id, 'Peers', 'applies to WireGuard Listeners only (Protocols is not ["wg"])');
      return;
    }
    if (!Array.isArray(value)) {
      this.leave(id, 'Peers', `${describe(value)} is not a list of peers`);
      return;
    }
    const codes: string[] = [];
    const locals: Array<Record<string, unknown>> = [];
    value.forEach((peer, i) => {
      const path = `Peers[${i}]`;
      if (!isObject(peer)) {
        this.leave(id, path, `${describe(peer)} is not a peer object`);
        return;
      }
      for (const key of Object.keys(peer)) {
        if (key !== 'PublicKey' && key !== 'AllowedIPs') this.leave(id, `${path}.${key}`, 'not a Proxylity peer property this conversion knows');
      }
      const key = this.stringCode(id, `${path}.PublicKey`, peer.PublicKey);
      if (key === undefined) return;
      const parts = [`publicKey: ${key}`];
      const local: Record<string, unknown> = {};
      const localKey = this.localString(peer.PublicKey);
      if (localKey === undefined) this.leave(id, `${path}.PublicKey`, 'has no value for local mode (a parameter without Default): the local configuration leaves this peer out');
      else local.PublicKey = localKey;
      if (Array.isArray(peer.AllowedIPs)) {
        const ips = peer.AllowedIPs.map((ip, j) => this.stringCode(id, `${path}.AllowedIPs[${j}]`, ip)).filter((c): c is string => c !== undefined);
        parts.push(`allowedIps: [${ips.join(', ')}]`);
        local.AllowedIPs = peer.AllowedIPs.map((ip) => this.localString(ip)).filter((s) => s !== undefined);
      } else if (peer.AllowedIPs !== undefined) {
        this.leave(id, `${path}.AllowedIPs`, `${describe(peer.AllowedIPs)} is not a list of CIDRs`);
      }
      codes.push(`{ ${parts.join(', ')} }`);
      if (local.PublicKey !== undefined) locals.push(local);
    });
    if (codes.length > 0) lines.push(`wireGuardPeers: [${codes.join(', ')}]`);
    if (locals.length > 0) wg.Peers = locals;
  }

  private destination(listenerId: string, index: number, value: unknown, out: string[], localOut: Array<Record<string, unknown>>): void {
    const path = `Destinations[${index}]`;
    if (!isObject(value)) {
      this.leave(listenerId, path, `${describe(value)} is not a destination object`);
      return;
    }
    for (const key of Object.keys(value)) {
      if (!DESTINATION_PROPERTIES.has(key)) this.leave(listenerId, `${path}.${key}`, 'not a Proxylity destination property this conversion knows');
    }
    const options: string[] = [];
    const local: Record<string, unknown> = { Type: 'log' };
    if (value.Name !== undefined) {
      if (typeof value.Name === 'string' && matches(value.Name, DESTINATION_NAME)) {
        options.push(`destinationName: ${JSON.stringify(value.Name)}`);
        local.Name = value.Name;
      } else {
        this.leave(listenerId, `${path}.Name`, `${JSON.stringify(value.Name)} is not a destination name (${DESTINATION_NAME.allowed}): a default name is used`);
      }
    }
    if (local.Name === undefined) local.Name = `destination-${index}`;
    if (value.Description !== undefined) this.leave(listenerId, `${path}.Description`, 'destinations have no description here: kept as a comment in the generated code');
    this.batching(listenerId, path, value.Batching, options, local);
    if (value.Formatter !== undefined) {
      const f = typeof value.Formatter === 'string' ? FORMATTERS[value.Formatter] : undefined;
      if (f === undefined) {
        this.leave(listenerId, `${path}.Formatter`, `${JSON.stringify(value.Formatter)} is not a Formatter (base64, hex, ascii, utf8, coap)`);
      } else {
        options.push(`formatter: Formatter.${f}`);
        local.Formatter = value.Formatter;
      }
    }
    if (value.MetricsEnabled !== undefined) {
      const flag = booleanValue(value.MetricsEnabled);
      if (flag === undefined) this.leave(listenerId, `${path}.MetricsEnabled`, `${JSON.stringify(value.MetricsEnabled)} is not true or false`);
      else options.push(`metricsEnabled: ${flag}`);
    }
    if (value.LogGroupName !== undefined) {
      const group = this.logGroupByName(listenerId, `${path}.LogGroupName`, value.LogGroupName);
      if (group !== undefined) options.push('logDeliveryErrors: true', `deliveryErrorLogGroup: ${group}`);
    }
    if (value.Role !== undefined) {
      const arn = isObject(value.Role) ? value.Role.Arn : undefined;
      const role = arn === undefined ? undefined : this.imported(listenerId, `${path}.Role.Arn`, arn, ROLE);
      if (role === undefined && arn === undefined) this.leave(listenerId, `${path}.Role`, `${describe(value.Role)} is not {"Arn": …}`);
      else if (role !== undefined) options.push(`role: ${role}`);
    }
    const factory = this.destinationTarget(listenerId, `${path}.DestinationArn`, value.DestinationArn ?? this.boundArn(value.Name));
    if (factory === undefined) return;
    this.arguments(listenerId, path, factory, value.Arguments, options);
    const comment = typeof value.Description === 'string' ? `// ${value.Description.replace(/\s+/g, ' ').slice(0, 200)}\n        ` : '';
    out.push(`${comment}Destination.${factory.name}(${factory.target}${options.length > 0 ? `, {\n${options.map((o) => `          ${o},`).join('\n')}\n        }` : ''})`);
    localOut.push(local);
  }

  private batching(id: string, path: string, value: unknown, options: string[], local: Record<string, unknown>): void {
    if (value === undefined) return;
    if (!isObject(value)) {
      this.leave(id, `${path}.Batching`, `${describe(value)} is not an object with Count, TimeoutInSeconds, SizeInMb`);
      return;
    }
    const batching: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
      if (key === 'Count') {
        if (inIntegerRange(n, BATCH_COUNT)) {
          options.push(`batchSize: ${n}`);
          batching.Count = n;
        } else {
          this.leave(id, `${path}.Batching.Count`, `${JSON.stringify(v)} is not ${BATCH_COUNT.allowed}`);
        }
      } else if (key === 'TimeoutInSeconds') {
        if (inNumberRange(n, BATCH_TIMEOUT_SECONDS)) {
          options.push(`maxBatchingWindow: Duration.millis(${Math.round(n * 1000)})`);
          batching.TimeoutInSeconds = n;
        } else {
          this.leave(id, `${path}.Batching.TimeoutInSeconds`, `${JSON.stringify(v)} is not a ${BATCH_TIMEOUT_SECONDS.allowed}`);
        }
      } else if (key === 'SizeInMb') {
        const bytes = typeof n === 'number' ? Math.round(n * 1024 * 1024) : NaN;
        if (inIntegerRange(bytes, BATCH_SIZE_BYTES)) {
          options.push(`maxBatchPayloadSize: Size.kibibytes(${Math.round(bytes / 1024)})`);
          batching.SizeInBytes = bytes;
        } else {
          this.leave(id, `${path}.Batching.SizeInMb`, `${JSON.stringify(v)} is outside the batch size here (${BATCH_SIZE_BYTES.allowed} bytes, i.e. 1 KiB–6 MiB)`);
        }
      } else {
        this.leave(id, `${path}.Batching.${key}`, 'not a Proxylity Batching property this conversion knows');
      }
    }
    if (Object.keys(batching).length > 0) local.Batching = batching;
  }

  /**
   * A destination's `Arguments`, as they are: each argument its destination type takes becomes
   * its construct option, after the shared argument check (validate-destination-arguments.ts) of
   * its value; anything else is listed as not carried over, with the reason.
   */
  private arguments(id: string, path: string, destination: DestinationTarget, value: unknown, options: string[]): void {
    if (value === undefined) return;
    if (!isObject(value)) {
      this.leave(id, `${path}.Arguments`, `${describe(value)} is not an object`);
      return;
    }
    const taken = DESTINATION_ARGUMENTS[destination.type];
    const args: Record<string, unknown> = {};
    for (const [given, v] of Object.entries(value)) {
      const key = ARGUMENT_SYNONYMS[given] ?? given;
      const argument = ARGUMENT_OPTIONS[key];
      if (argument === undefined || !taken.includes(key)) {
        this.leave(id, `${path}.Arguments.${given}`, `not an argument of the ${destination.name} destination here`);
      } else if (argument.kind === 'boolean') {
        const flag = booleanValue(v);
        if (flag === undefined) this.leave(id, `${path}.Arguments.${given}`, `${JSON.stringify(v)} is not true or false`);
        else args[key] = flag;
      } else if (typeof v === 'string') {
        args[key] = v;
      } else {
        this.leave(id, `${path}.Arguments.${given}`, `${describe(v)} is not a string`);
      }
    }
    const refused = new Set<string>();
    for (const error of destinationArgumentErrors({ Type: destination.type, Arguments: args }, path, destination.type)) {
      const key = Object.keys(args).find((k) => error.startsWith(`${path}.Arguments.${k}:`));
      if (key !== undefined) refused.add(key);
      this.leave(id, key === undefined ? `${path}.Arguments` : `${path}.Arguments.${key}`, error.slice(error.indexOf(': ') + 2));
    }
    for (const [key, v] of Object.entries(args)) {
      if (refused.has(key)) continue;
      const argument = ARGUMENT_OPTIONS[key]!;
      if (argument.kind === 'formatter') options.push(`${argument.option}: Formatter.${FORMATTERS[v as string]}`);
      else options.push(`${argument.option}: ${JSON.stringify(v)}`);
    }
  }

  /** The factory and its first argument for a DestinationArn (a reference, an ARN, or a region map). */
  private destinationTarget(id: string, path: string, value: unknown): DestinationTarget | undefined {
    if (value === undefined) {
      this.leave(id, path.replace(/\.DestinationArn$/, ''), 'has no DestinationArn (and no DestinationArn resource binds its Name): the destination is left out');
      return undefined;
    }
    if (isObject(value) && !isIntrinsic(value)) {
      const entries = Object.entries(value);
      const codes: string[] = [];
      for (const [region, arn] of entries) {
        const kind = this.kindOf(arn);
        if (kind !== LAMBDA) {
          this.leave(id, `${path}.${region}`, 'region maps are supported for Lambda functions only: the destination is left out');
          return undefined;
        }
        const code = this.stringCode(id, `${path}.${region}`, arn);
        if (code === undefined) return undefined;
        codes.push(`${JSON.stringify(region)}: ${code}`);
      }
      return { name: 'lambdaRegionMap', type: 'lambda', target: `{ ${codes.join(', ')} }` };
    }
    if (operandOf(value, this.parameterNames) === undefined) {
      this.leave(id, path, `${describe(value)} uses an intrinsic function this conversion cannot carry over (only literals, Ref and Fn::GetAtt): the destination is left out`);
      return undefined;
    }
    const kind = this.kindOf(value);
    if (kind?.factory === undefined || kind.type === undefined) {
      this.leave(id, path, `${describe(value)} names no destination type the conversion knows (Lambda, SQS, SNS, Kinesis, Firehose, EventBridge, Step Functions, CloudWatch Logs, S3): the destination is left out`);
      return undefined;
    }
    const target = this.imported(id, path, value, kind);
    return target === undefined ? undefined : { name: kind.factory, type: kind.type, target };
  }

  private kindOf(value: unknown): ResourceKind | undefined {
    const operand = operandOf(value, this.parameterNames);
    if (operand === undefined) return undefined;
    if (operand.kind === 'resource') {
      const resource = this.resources[operand.name];
      return isObject(resource) && typeof resource.Type === 'string' ? KIND_BY_RESOURCE_TYPE[resource.Type] : undefined;
    }
    if (operand.kind === 'literal' && typeof operand.value === 'string') {
      const service = /^arn:aws[a-z-]*:([a-z0-9-]+):/.exec(operand.value)?.[1];
      return service === undefined ? undefined : KIND_BY_ARN_SERVICE[service];
    }
    return undefined;
  }

  /** A variable holding the imported construct for an ARN (declared once per referenced resource). */
  private imported(id: string, path: string, value: unknown, kind: ResourceKind): string | undefined {
    const operand = operandOf(value, this.parameterNames);
    if (operand?.kind === 'resource') {
      const resource = this.resources[operand.name];
      if (!isObject(resource)) {
        this.leave(id, path, `refers to ${operand.name}, which is not a resource of the template`);
        return undefined;
      }
      const key = `resource:${operand.name}`;
      const existing = this.declared.get(key);
      if (existing !== undefined) return existing;
      const variable = identifier(operand.name);
      const props = isObject(resource.Properties) ? resource.Properties : {};
      this.declarations.push(
        `    // ${operand.name} (${String(resource.Type)}) stays defined outside this stack: pass its ARN, or define it here instead.\n` +
        `    const ${variable}Arn = new CfnParameter(this, '${operand.name}Arn', { type: 'String', description: 'ARN of ${operand.name} from the Proxylity template' });\n` +
        `    const ${variable} = ${kind.importCode(operand.name, `${variable}Arn.valueAsString`, props, true)};`,
      );
      this.declared.set(key, variable);
      return variable;
    }
    const code = this.stringCode(id, path, value);
    if (code === undefined) return undefined;
    const key = `arn:${code}`;
    const existing = this.declared.get(key);
    if (existing !== undefined) return existing;
    const variable = `imported${this.declared.size}`;
    this.declarations.push(`    const ${variable} = ${kind.importCode(`Imported${this.declared.size}`, code, {}, false)};`);
    this.declared.set(key, variable);
    return variable;
  }

  private logGroupByName(id: string, path: string, value: unknown): string | undefined {
    const operand = operandOf(value, this.parameterNames);
    if (operand?.kind === 'resource' && operand.attribute === 'Ref') {
      const resource = this.resources[operand.name];
      if (isObject(resource) && resource.Type === 'AWS::Logs::LogGroup') {
        const key = `logname:${operand.name}`;
        const existing = this.declared.get(key);
        if (existing !== undefined) return existing;
        const props = isObject(resource.Properties) ? resource.Properties : {};
        const variable = identifier(operand.name);
        const name = typeof props.LogGroupName === 'string' ? JSON.stringify(props.LogGroupName) : undefined;
        if (name !== undefined) {
          this.declarations.push(`    // ${operand.name} stays defined outside this stack, or define it here instead.\n    const ${variable} = logs.LogGroup.fromLogGroupName(this, '${operand.name}', ${name});`);
        } else {
          this.declarations.push(
            `    const ${variable}Name = new CfnParameter(this, '${operand.name}Name', { type: 'String', description: 'Name of ${operand.name} from the Proxylity template' });\n` +
            `    const ${variable} = logs.LogGroup.fromLogGroupName(this, '${operand.name}', ${variable}Name.valueAsString);`,
          );
        }
        this.declared.set(key, variable);
        return variable;
      }
    }
    const code = this.stringCode(id, path, value);
    if (code === undefined) return undefined;
    const variable = `logGroup${this.declared.size}`;
    this.declarations.push(`    const ${variable} = logs.LogGroup.fromLogGroupName(this, 'LogGroup${this.declared.size}', ${code});`);
    this.declared.set(`logname:${code}`, variable);
    return variable;
  }

  private packetSource(id: string, resource: Json): void {
    const props = isObject(resource.Properties) ? resource.Properties : {};
    for (const key of Object.keys(props)) {
      if (key === 'ServiceToken' || key === 'ApiKey') this.leave(id, key, PROXYLITY_ACCOUNT_REASON);
      else if (!PACKET_SOURCE_PROPERTIES.has(key)) this.leave(id, key, 'not a Proxylity PacketSource property this conversion knows');
    }
    const listenerRef = operandOf(props.ListenerName, this.parameterNames);
    const listener = listenerRef?.kind === 'resource' ? this.listenerVariables.get(listenerRef.name) : undefined;
    if (listener === undefined || listenerRef?.kind !== 'resource') {
      this.leave(id, 'ListenerName', `${describe(props.ListenerName)} does not refer to a Listener of this template: the PacketSource is left out`);
      return;
    }
    const lines = [`listener: ${listener}`];
    const listenerName = this.localListeners.find((l) => identifier(String(l.Name)) === listener)?.Name ?? listenerRef.name;
    const local: Record<string, unknown> = { TopicArn: `arn:aws:sns:us-east-1:000000000000:${listenerName}-source`, ListenerName: listenerName };
    const source = props.SnsTopicSource;
    if (isObject(source)) {
      for (const key of Object.keys(source)) {
        if (key === 'Role') {
          this.leave(id, 'SnsTopicSource.Role', 'the PacketSource construct creates its own role, trusted only with its ExternalId');
        } else if (key !== 'TopicArn') {
          this.leave(id, `SnsTopicSource.${key}`, 'not a Proxylity SnsTopicSource property this conversion knows');
        }
      }
      if (source.TopicArn !== undefined) {
        const topic = this.imported(id, 'SnsTopicSource.TopicArn', source.TopicArn, TOPIC);
        if (topic !== undefined) lines.push(`topic: ${topic}`);
      }
    } else if (source !== undefined) {
      this.leave(id, 'SnsTopicSource', `${describe(source)} is not {"TopicArn": …}`);
    }
    if (props.DeadLetterQueueArn !== undefined) {
      const queue = this.imported(id, 'DeadLetterQueueArn', props.DeadLetterQueueArn, SQS);
      if (queue !== undefined) lines.push(`deadLetterQueue: ${queue}`);
    }
    if (props.DeliveryLogGroupArn !== undefined) {
      const group = this.imported(id, 'DeliveryLogGroupArn', props.DeliveryLogGroupArn, LOG_GROUP);
      if (group !== undefined) lines.push(`logGroup: ${group}`);
    }
    if (props.Enabled !== undefined) {
      const flag = booleanValue(props.Enabled);
      if (flag === undefined) this.leave(id, 'Enabled', `${JSON.stringify(props.Enabled)} is not true or false`);
      else lines.push(`enabled: ${flag}`);
    }
    if (props.Description !== undefined) {
      const code = this.stringCode(id, 'Description', props.Description);
      if (code !== undefined) lines.push(`description: ${code}`);
    }
    this.localSources.push(local);
    this.body.push(`    new PacketSource(this, '${id}', {\n${lines.map((l) => `      ${l},`).join('\n')}\n    });`);
  }

  /** TypeScript for a string value: a literal, a template parameter, or a pseudo parameter. */
  private stringCode(id: string, path: string, value: unknown): string | undefined {
    const operand = operandOf(value, this.parameterNames);
    if (operand === undefined) {
      this.leave(id, path, `${describe(value)} uses an intrinsic function this conversion cannot carry over (only literals, Ref and Fn::GetAtt)`);
      return undefined;
    }
    switch (operand.kind) {
      case 'literal': return JSON.stringify(String(operand.value));
      case 'pseudo': {
        const code = PSEUDO[operand.name];
        if (code === undefined) this.leave(id, path, `refers to ${operand.name}, a pseudo parameter this conversion cannot carry over`);
        return code;
      }
      case 'parameter': return `${this.parameter(operand.name)}.valueAsString`;
      case 'resource':
        this.leave(id, path, `refers to ${operand.name}.${operand.attribute}, which is not an ARN this conversion can import here`);
        return undefined;
    }
  }

  private parameter(name: string): string {
    const key = `parameter:${name}`;
    const existing = this.declared.get(key);
    if (existing !== undefined) return existing;
    const definition = isObject(this.parameters[name]) ? this.parameters[name] as Json : {};
    const parts = [`type: ${JSON.stringify(typeof definition.Type === 'string' ? definition.Type : 'String')}`];
    if (definition.Default !== undefined) parts.push(`default: ${JSON.stringify(definition.Default)}`);
    if (typeof definition.Description === 'string') parts.push(`description: ${JSON.stringify(definition.Description)}`);
    const variable = identifier(name);
    this.declarations.push(`    const ${variable} = new CfnParameter(this, '${name}', { ${parts.join(', ')} });`);
    this.declared.set(key, variable);
    return variable;
  }

  /** The local-mode value of a string: a literal, or a parameter's Default. */
  private localString(value: unknown): string | undefined {
    const operand = operandOf(value, this.parameterNames);
    if (operand?.kind === 'literal') return String(operand.value);
    if (operand?.kind === 'parameter') {
      const definition = this.parameters[operand.name];
      const d = isObject(definition) ? definition.Default : undefined;
      return typeof d === 'string' || typeof d === 'number' ? String(d) : undefined;
    }
    return undefined;
  }

  private code(): string {
    const className = this.options.stackClassName ?? 'MigratedGatewayStack';
    const library = this.options.libraryImport ?? 'cdk-packet-gateway';
    const lines = [...this.declarations, '', "    const gateway = new PacketGateway(this, 'Gateway');", '', ...this.body.flatMap((b) => [b, ''])];
    let text = lines.join('\n');
    for (const variable of this.listenerVariables.values()) {
      if (!text.includes(`listener: ${variable},`)) text = text.replace(`const ${variable} = gateway.addListener(`, 'gateway.addListener(');
    }
    const uses = (pattern: RegExp): boolean => pattern.test(text);
    const cdkImports = ['Stack', 'StackProps'];
    if (uses(/CfnParameter\(/)) cdkImports.unshift('CfnParameter');
    if (uses(/Duration\./)) cdkImports.unshift('Duration');
    if (uses(/Size\./)) cdkImports.push('Size');
    cdkImports.sort();
    const modules: Array<[string, string, RegExp]> = [
      ['iam', 'aws-iam', /\biam\./], ['lambda', 'aws-lambda', /\blambda\.Function/], ['logs', 'aws-logs', /\blogs\./],
      ['s3', 'aws-s3', /\bs3\.Bucket/], ['sns', 'aws-sns', /\bsns\./], ['sqs', 'aws-sqs', /\bsqs\./], ['sfn', 'aws-stepfunctions', /\bsfn\./],
      ['kinesis', 'aws-kinesis', /\bkinesis\.Stream/], ['firehose', 'aws-kinesisfirehose', /\bfirehose\.DeliveryStream/], ['events', 'aws-events', /\bevents\.EventBus/],
    ];
    const libraryImports = ['PacketGateway'];
    if (uses(/Destination\./)) libraryImports.unshift('Destination');
    if (uses(/Formatter\./)) libraryImports.push('Formatter');
    if (uses(/ListenerProtocol\./)) libraryImports.push('ListenerProtocol');
    if (uses(/new PacketSource\(/)) libraryImports.push('PacketSource');
    return [
      '// Generated by `packet-gateway import-proxylity` from a Proxylity UDP Gateway template.',
      '// Review the properties it could not carry over (printed by the command, and in leftovers.json).',
      `import { ${cdkImports.join(', ')} } from 'aws-cdk-lib';`,
      ...modules.filter(([, , p]) => uses(p)).map(([alias, module]) => `import * as ${alias} from 'aws-cdk-lib/${module}';`),
      "import { Construct } from 'constructs';",
      `import { ${libraryImports.join(', ')} } from '${library}';`,
      '',
      `export class ${className} extends Stack {`,
      '  constructor(scope: Construct, id: string, props?: StackProps) {',
      '    super(scope, id, props);',
      '',
      text.replace(/\n+$/, ''),
      '  }',
      '}',
      '',
    ].join('\n');
  }
}

const PSEUDO: Record<string, string | undefined> = { 'AWS::Region': 'this.region', 'AWS::AccountId': 'this.account', 'AWS::Partition': 'this.partition', 'AWS::StackName': 'this.stackName' };

function operandOf(value: unknown, parameters: ReadonlySet<string>): Operand | undefined {
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return { kind: 'literal', value };
  if (!isObject(value) || Object.keys(value).length !== 1) return undefined;
  if (typeof value.Ref === 'string') {
    if (value.Ref.startsWith('AWS::')) return { kind: 'pseudo', name: value.Ref };
    return parameters.has(value.Ref) ? { kind: 'parameter', name: value.Ref } : { kind: 'resource', name: value.Ref, attribute: 'Ref' };
  }
  const getAtt = value['Fn::GetAtt'];
  if (Array.isArray(getAtt) && getAtt.length === 2 && typeof getAtt[0] === 'string' && typeof getAtt[1] === 'string') {
    return { kind: 'resource', name: getAtt[0], attribute: getAtt[1] };
  }
  if (typeof getAtt === 'string' && /^[^.]+\.[^.]+$/.test(getAtt)) {
    const [name, attribute] = getAtt.split('.');
    return { kind: 'resource', name: name!, attribute: attribute! };
  }
  return undefined;
}

function isIntrinsic(value: Json): boolean {
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0]!.startsWith('Fn::'));
}

function booleanValue(value: unknown): boolean | undefined {
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  return undefined;
}

function identifier(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9_$]/g, '_');
  const camel = cleaned.charAt(0).toLowerCase() + cleaned.slice(1);
  return /^[0-9]/.test(camel) || RESERVED.has(camel) ? `_${camel}` : camel;
}

const RESERVED = new Set(['gateway', 'this', 'new', 'class', 'function', 'default', 'delete', 'import', 'export', 'package', 'public', 'private', 'static', 'let', 'var', 'const']);

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
