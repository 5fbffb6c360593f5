/**
 * Turns one SNS notification published to a PacketSource topic into datagrams sent from the
 * bound Listener (DESIGN.md "Sourced packet").
 *
 * Validation codes: a missing field, or a container of the wrong shape, is `InvalidMessage`
 * naming the field; a present but unacceptable remote address, port or Data is `InvalidAddress`,
 * `InvalidPort` or `InvalidData`. Every entry that is not sent yields exactly one failure report
 * and, when the binding has a dead-letter queue, one failure record there. One bad entry never
 * stops the others.
 */
import { isIP } from 'node:net';
import { WIREGUARD_KEY } from '../../lib/private/limits';
import { MetricName } from '../../lib/private/metrics';
import { formatEndpoint } from '../../lib/private/network';
import type { FormatterName, PacketSourceRecord } from '../../lib/private/records';
import type {
  BindingLookup,
  DeadLetterSink,
  DeliveryLogSink,
  EgressDatagram,
  Failure,
  FailureCode,
  FailureReporter,
  InnerAddressing,
  ListenerHandle,
  ListenerRegistry,
  MetricsRecorder,
} from '../contracts';
import { decodeData, isFailure, parseFormatter } from '../formatter';
import { DEFAULT_MAX_PAYLOAD_BYTES } from '../listeners/listener-socket';

/** An SNS notification, as SNS delivers it to an SQS subscription (raw message delivery off). */
export interface SnsNotification {
  /** `Notification` for published messages. */
  Type?: string;
  MessageId: string;
  TopicArn: string;
  /** The published message body: the sourced-packet JSON. */
  Message: string;
  /** Publish time, ISO 8601. */
  Timestamp: string;
  MessageAttributes?: Record<string, { Type: string; Value: string }>;
}

/** Outcome of one notification: datagrams sent, and entries that failed (each reported once). */
export interface SourcedResult {
  sent: number;
  failed: number;
}

export interface SourcedPacketProcessorOptions {
  /** Running Listeners; packets leave from the bound Listener's socket. */
  listeners: ListenerRegistry;
  /** PacketSource bindings by topic ARN. */
  bindings: BindingLookup;
  /** One report per entry that is not sent. */
  failures: FailureReporter;
  /** `SourcedSent` and `SourcedSkipped` counters. */
  metrics: MetricsRecorder;
  /** Failure records for bindings with a `DeadLetterQueueArn`. @default - none written */
  deadLetters?: DeadLetterSink;
  /** Failure records for bindings with a `DeliveryLogGroupArn`. @default - none written */
  deliveryLog?: DeliveryLogSink;
  /** Region of this gateway, compared with the `EgressRegion` attribute and the binding's HomeRegion. */
  region: string;
  /** Clock in epoch milliseconds (TtlSeconds, failure timestamps). @default Date.now */
  now?: () => number;
  /** Largest decoded payload in bytes. @default MAX_UDP_PAYLOAD_BYTES */
  maxPayloadBytes?: number;
  /** Most entries in one `Messages` array; larger messages are rejected whole. @default 1000 */
  maxEntriesPerMessage?: number;
  /** Sends not completed within this many milliseconds fail with SendFailed. @default 30000 */
  sendTimeoutMs?: number;
}

const NOTHING: SourcedResult = Object.freeze({ sent: 0, failed: 0 });

/** Validates sourced packets and sends them from their PacketSource's Listener. */
export class SourcedPacketProcessor {
  private readonly listeners: ListenerRegistry;
  private readonly bindings: BindingLookup;
  private readonly failures: FailureReporter;
  private readonly metrics: MetricsRecorder;
  private readonly deadLetters?: DeadLetterSink;
  private readonly deliveryLog?: DeliveryLogSink;
  private readonly region: string;
  private readonly now: () => number;
  private readonly maxPayloadBytes: number;
  private readonly maxEntries: number;
  private readonly sendTimeoutMs: number;

  constructor(opts: SourcedPacketProcessorOptions) {
    this.listeners = opts.listeners;
    this.bindings = opts.bindings;
    this.failures = opts.failures;
    this.metrics = opts.metrics;
    this.deadLetters = opts.deadLetters;
    this.deliveryLog = opts.deliveryLog;
    this.region = opts.region;
    this.now = opts.now ?? Date.now;
    this.maxPayloadBytes = opts.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    this.maxEntries = opts.maxEntriesPerMessage ?? 1000;
    this.sendTimeoutMs = opts.sendTimeoutMs ?? 30_000;
  }

  /** True when `topicArn` is bound to a Listener (used by the local SNS endpoint to answer NotFound). */
  hasTopic(topicArn: string): boolean {
    return this.bindings.getPacketSource(topicArn) !== undefined;
  }

  /** Every bound topic, when the bindings can be enumerated (see {@link BindingLookup.listPacketSources}). */
  listTopicArns(): readonly string[] | undefined {
    return this.bindings.listPacketSources?.().map((s) => s.TopicArn);
  }

  /**
   * Validates and sends every entry of `n`. Resolves, never rejects, once each entry has been sent
   * or reported as failed.
   */
  handle(n: SnsNotification): Promise<SourcedResult> {
    try {
      return this.process(n);
    } catch (err) {
      // Defensive: a malformed envelope that slipped past the caller's checks must not crash anything.
      this.failures.report(
        { code: 'InvalidMessage', reason: `notification could not be processed: ${(err as Error).message}` },
        { topicArn: typeof n?.TopicArn === 'string' ? n.TopicArn : undefined, messageId: typeof n?.MessageId === 'string' ? n.MessageId : undefined },
      );
      return Promise.resolve({ sent: 0, failed: 1 });
    }
  }

  private process(n: SnsNotification): Promise<SourcedResult> {
    const topicArn = n.TopicArn;
    const egress = n.MessageAttributes?.EgressRegion;
    if (egress !== undefined && egress !== null && egress.Value !== this.region) {
      if (typeof egress.Value !== 'string') {
        return this.rejectNotification(n, undefined, 'InvalidMessage', `MessageAttributes.EgressRegion must be a String attribute naming a region, got ${describe(egress.Value)}`);
      }
      this.metrics.increment(MetricName.SourcedSkipped);
      return Promise.resolve(NOTHING);
    }
    const binding = this.bindings.getPacketSource(topicArn);
    if (!binding) {
      return this.rejectNotification(n, undefined, 'UnknownTopic', `topic ${describe(topicArn)} is not bound to any Listener (no PacketSource for it)`);
    }
    if (egress === undefined && (binding.HomeRegion ?? this.region) !== this.region) {
      this.metrics.increment(MetricName.SourcedSkipped);
      return Promise.resolve(NOTHING);
    }
    if (binding.Enabled === false) {
      return this.rejectNotification(n, binding, 'SourceDisabled', `PacketSource for ${topicArn} is disabled (Enabled: false); its packets are not sent`);
    }

    let body: unknown;
    try {
      body = JSON.parse(n.Message);
    } catch (err) {
      const at = /position (\d+)/.exec((err as Error).message);
      const where = at ? ` (syntax error at position ${at[1]})` : '';
      return this.rejectNotification(n, binding, 'InvalidJson', `Message is not valid JSON${where}; expected {"Messages":[{"Data":…,"Remote":{"Address":…,"Port":…}}]}`);
    }
    if (!isObject(body)) {
      return this.rejectNotification(n, binding, 'InvalidMessage', `Message must be a JSON object ({"Messages":[…]} or a single packet), got ${typeName(body)}`);
    }

    let entries: readonly unknown[];
    let prefix: (i: number) => string;
    if (body.Messages !== undefined) {
      const messages = body.Messages;
      if (!Array.isArray(messages)) {
        return this.rejectNotification(n, binding, 'InvalidMessage', `Messages must be an array of packets, got ${typeName(messages)}`);
      }
      if (messages.length > this.maxEntries) {
        return this.rejectNotification(n, binding, 'InvalidMessage', `Messages has ${messages.length} entries; at most ${this.maxEntries} are allowed in one message`);
      }
      entries = messages;
      prefix = arrayPrefix;
    } else {
      entries = [body];
      prefix = singlePrefix;
    }
    if (entries.length === 0) return Promise.resolve(NOTHING);

    const run = new Delivery(this, n, binding, entries);
    const listener = this.listeners.get(binding.ListenerName);
    const publishedAt = Date.parse(n.Timestamp);
    const now = this.now();
    for (let i = 0; i < entries.length; i++) {
      const entry = entries[i];
      const datagram = this.validate(entry, prefix(i), publishedAt, now);
      if ('code' in datagram) {
        run.fail(i, datagram.remote, datagram);
        continue;
      }
      if (!listener) {
        run.fail(i, formatEndpoint(datagram.address, datagram.port), { code: 'SendFailed', reason: `Listener '${binding.ListenerName}' is not running on this gateway` });
        continue;
      }
      run.send(listener, i, datagram);
    }
    return run.finish();
  }

  /** An entry's datagram, or the failure (with whatever remote could be identified). */
  private validate(entry: unknown, field: string, publishedAt: number, now: number): EgressDatagram | EntryFailure {
    if (!isObject(entry)) {
      return fail('InvalidMessage', `${field || 'message'} must be a packet object with Data and Remote, got ${typeName(entry)}`);
    }
    const remote = entry.Remote;
    if (!isObject(remote)) {
      return fail('InvalidMessage', `${field}Remote ${remote === undefined ? 'is missing' : `must be an object, got ${typeName(remote)}`} (expected {"Address": "<IPv4 or IPv6>", "Port": 1-65535})`);
    }
    const addressField = remote.Address !== undefined ? 'Address' : 'IP';
    const address = remote[addressField];
    if (address === undefined) {
      return fail('InvalidMessage', `${field}Remote.Address is missing (Remote.IP is accepted as a synonym); expected an IPv4 or IPv6 address`);
    }
    if (typeof address !== 'string' || !isIpAddress(address)) {
      return fail('InvalidAddress', `${field}Remote.${addressField}: ${describe(address)} is not an IP address (allowed: IPv4 or IPv6, without zone)`);
    }
    const port = remote.Port;
    if (port === undefined) {
      return fail('InvalidMessage', `${field}Remote.Port is missing; expected an integer 1-65535`, address);
    }
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
      return fail('InvalidPort', `${field}Remote.Port: ${describe(port)} is not a port (allowed: integer 1-65535)`, address);
    }
    const formatter = parseFormatter(entry.Formatter, 'base64', `${field}Formatter`);
    if (typeof formatter !== 'string') return { ...formatter, remote: formatEndpoint(address, port) };

    let peerKey: string | undefined;
    const peer = remote.PeerKey;
    if (peer !== undefined && peer !== null) {
      if (typeof peer !== 'string' || !WIREGUARD_KEY.pattern.test(peer)) {
        return fail('InvalidMessage', `${field}Remote.PeerKey: ${describe(peer)} is not a WireGuard public key (allowed: ${WIREGUARD_KEY.allowed})`, formatEndpoint(address, port));
      }
      peerKey = peer;
    }
    let inner: InnerAddressing | undefined;
    if (entry.Inner !== undefined && entry.Inner !== null) {
      const parsed = parseInner(entry.Inner, `${field}Inner`);
      if ('code' in parsed) return { ...parsed, remote: formatEndpoint(address, port) };
      inner = parsed;
    }
    const ttl = entry.TtlSeconds;
    if (ttl !== undefined && ttl !== null) {
      if (typeof ttl !== 'number' || !Number.isFinite(ttl) || ttl <= 0) {
        return fail('InvalidMessage', `${field}TtlSeconds: ${describe(ttl)} is not a time to live (allowed: a number of seconds greater than 0)`, formatEndpoint(address, port));
      }
      if (Number.isNaN(publishedAt)) {
        return fail('InvalidMessage', `${field}TtlSeconds cannot be applied: the notification has no valid publish Timestamp`, formatEndpoint(address, port));
      }
      const expiresAt = publishedAt + ttl * 1000;
      if (now > expiresAt) {
        return fail('Expired', `${field}TtlSeconds ${ttl} elapsed at ${new Date(expiresAt).toISOString()} (published ${new Date(publishedAt).toISOString()}); not sent`, formatEndpoint(address, port));
      }
    }
    if (entry.Data === undefined) {
      return fail('InvalidMessage', `${field}Data is missing; expected the payload as ${formatter} text`, formatEndpoint(address, port));
    }
    const data = decodeData(entry.Data, formatter as FormatterName, `${field}Data`);
    if (isFailure(data)) return { ...data, remote: formatEndpoint(address, port) };
    if (data.length > this.maxPayloadBytes) {
      return fail('PayloadTooLarge', `${field}Data decodes to ${data.length} bytes; at most ${this.maxPayloadBytes} are allowed`, formatEndpoint(address, port));
    }
    return { data, address, port, peerKey, inner };
  }

  private rejectNotification(n: SnsNotification, binding: PacketSourceRecord | undefined, code: FailureCode, reason: string): Promise<SourcedResult> {
    this.failures.report({ code, reason }, { listener: binding?.ListenerName, topicArn: n.TopicArn, messageId: n.MessageId });
    if (binding) {
      this.record(binding, {
        code,
        reason,
        topicArn: n.TopicArn,
        messageId: n.MessageId,
        listener: binding.ListenerName,
        failedAt: new Date(this.now()).toISOString(),
        message: n.Message,
      });
    }
    return Promise.resolve({ sent: 0, failed: 1 });
  }

  /** @internal reports one failed entry (log record, dead-letter and delivery-log records). */
  reportEntry(n: SnsNotification, binding: PacketSourceRecord, index: number, entry: unknown, remote: string | undefined, failure: Failure): void {
    this.failures.report(failure, { listener: binding.ListenerName, topicArn: n.TopicArn, messageId: n.MessageId, index, remote });
    this.record(binding, {
      code: failure.code,
      reason: failure.reason,
      topicArn: n.TopicArn,
      messageId: n.MessageId,
      index,
      listener: binding.ListenerName,
      remote,
      failedAt: new Date(this.now()).toISOString(),
      entry,
    });
  }

  /** Writes a failure record to the binding's dead-letter queue and delivery log group, where it has them. */
  private record(binding: PacketSourceRecord, record: Record<string, unknown>): void {
    if (binding.DeadLetterQueueArn && this.deadLetters) this.deadLetters.enqueue(binding.DeadLetterQueueArn, record);
    if (binding.DeliveryLogGroupArn && this.deliveryLog) {
      this.deliveryLog.write({ logGroupArn: binding.DeliveryLogGroupArn, roleArn: binding.RoleArn, externalId: binding.ExternalId }, record);
    }
  }

  /** @internal */
  get timeoutMs(): number {
    return this.sendTimeoutMs;
  }

  /** @internal */
  countSent(sent: number): void {
    if (sent > 0) this.metrics.increment(MetricName.SourcedSent, sent);
  }
}

/** A failure together with the remote it concerns, when known. */
type EntryFailure = Failure & { readonly remote?: string };

/**
 * The sends of one notification: counts completions and resolves a single promise when every
 * entry has been sent or reported. Entries still unsent after the send timeout fail with SendFailed.
 * Per entry it keeps one byte (settled or not) and the datagram handed to the Listener; each send
 * gets one small completion closure, honoured once.
 */
class Delivery {
  private sent = 0;
  private failed = 0;
  private pending = 0;
  private looping = true;
  private resolve?: (r: SourcedResult) => void;
  private timer?: NodeJS.Timeout;
  /** 1 once an entry has been sent or reported. */
  private readonly settled: Uint8Array;
  /** The datagram of each entry handed to the Listener. */
  private readonly handed: Array<EgressDatagram | undefined>;

  constructor(
    private readonly owner: SourcedPacketProcessor,
    private readonly n: SnsNotification,
    private readonly binding: PacketSourceRecord,
    private readonly entries: readonly unknown[],
  ) {
    this.settled = new Uint8Array(entries.length);
    this.handed = new Array<EgressDatagram | undefined>(entries.length);
  }

  fail(index: number, remote: string | undefined, failure: Failure): void {
    this.settled[index] = 1;
    this.failed++;
    this.owner.reportEntry(this.n, this.binding, index, this.entries[index], remote, { code: failure.code, reason: failure.reason });
  }

  send(listener: ListenerHandle, index: number, datagram: EgressDatagram): void {
    this.pending++;
    this.handed[index] = datagram;
    const done = (failure: Failure | undefined): void => this.completed(index, failure);
    try {
      listener.send(datagram, done);
    } catch (err) {
      done({ code: 'SendFailed', reason: `Listener '${listener.name}' could not send: ${(err as Error).message}` });
    }
  }

  /** The Listener's completion of entry `index`; later calls for the same entry are ignored. */
  private completed(index: number, failure: Failure | undefined): void {
    if (this.settled[index] === 1) return;
    this.pending--;
    if (failure) {
      const datagram = this.handed[index]!;
      this.fail(index, formatEndpoint(datagram.address, datagram.port), failure);
    } else {
      this.settled[index] = 1;
      this.sent++;
    }
    if (this.pending === 0 && !this.looping) this.settle();
  }

  /** Called after the last entry was handed over; resolves when every send has completed. */
  finish(): Promise<SourcedResult> {
    this.looping = false;
    if (this.pending === 0) {
      this.owner.countSent(this.sent);
      return Promise.resolve({ sent: this.sent, failed: this.failed });
    }
    return new Promise((resolve) => {
      this.resolve = resolve;
      this.timer = setTimeout(() => this.expire(), this.owner.timeoutMs);
      this.timer.unref();
    });
  }

  private expire(): void {
    this.timer = undefined;
    const reason = `send did not complete within ${this.owner.timeoutMs} ms`;
    for (let i = 0; i < this.entries.length && this.pending > 0; i++) {
      if (this.settled[i] === 0 && this.handed[i] !== undefined) this.completed(i, { code: 'SendFailed', reason });
    }
  }

  private settle(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.owner.countSent(this.sent);
    this.resolve?.({ sent: this.sent, failed: this.failed });
  }
}

function fail(code: FailureCode, reason: string, remote?: string): EntryFailure {
  return { code, reason, remote };
}

function parseInner(value: unknown, field: string): InnerAddressing | Failure {
  if (!isObject(value)) {
    return { code: 'InvalidMessage', reason: `${field} must be an object with SourceAddress, SourcePort, DestinationAddress, DestinationPort, got ${typeName(value)}` };
  }
  const src = value.SourceAddress;
  const dst = value.DestinationAddress;
  for (const [name, v] of [['SourceAddress', src], ['DestinationAddress', dst]] as const) {
    if (v === undefined) return { code: 'InvalidMessage', reason: `${field}.${name} is missing; expected an IPv4 or IPv6 address` };
    if (typeof v !== 'string' || !isIpAddress(v)) return { code: 'InvalidAddress', reason: `${field}.${name}: ${describe(v)} is not an IP address (allowed: IPv4 or IPv6)` };
  }
  const family = isIP(src as string);
  if (isIP(dst as string) !== family) {
    return { code: 'InvalidAddress', reason: `${field}: SourceAddress and DestinationAddress must be of the same IP version` };
  }
  for (const name of ['SourcePort', 'DestinationPort'] as const) {
    const v = value[name];
    if (v === undefined) return { code: 'InvalidMessage', reason: `${field}.${name} is missing; expected an integer 1-65535` };
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 65535) {
      return { code: 'InvalidPort', reason: `${field}.${name}: ${describe(v)} is not a port (allowed: integer 1-65535)` };
    }
  }
  if (value.Version !== undefined && value.Version !== family) {
    return { code: 'InvalidMessage', reason: `${field}.Version: ${describe(value.Version)} does not match the addresses (IPv${family}); allowed: ${family} or absent` };
  }
  if (value.Protocol !== undefined && value.Protocol !== 17) {
    return { code: 'InvalidMessage', reason: `${field}.Protocol: ${describe(value.Protocol)} is not supported (allowed: 17, UDP)` };
  }
  return {
    SourceAddress: src as string,
    SourcePort: value.SourcePort as number,
    DestinationAddress: dst as string,
    DestinationPort: value.DestinationPort as number,
    Version: family as 4 | 6,
    Protocol: 17,
  };
}

function arrayPrefix(i: number): string {
  return `Messages[${i}].`;
}

function singlePrefix(): string {
  return '';
}


/** An IPv4 or IPv6 address without a zone index (`fe80::1%eth0` names a local interface, never a remote). */
function isIpAddress(value: string): boolean {
  return isIP(value) !== 0 && !value.includes('%');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** A short rendering of a (non-payload) value for a failure reason. */
function describe(value: unknown): string {
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (typeof value === 'string') {
    const text = JSON.stringify(value);
    return text.length > 60 ? `${text.slice(0, 57)}…"` : text;
  }
  return typeName(value);
}
