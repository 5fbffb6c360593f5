/**
 * Replies of request/response destinations (DESIGN.md "Replies"): `{"Replies":[{Tag, Data,
 * GeneratedAt?} | null, …]}`. A null entry, an empty array, a missing `Replies` or a null/empty
 * response mean "no reply". Each reply goes out of the Listener named by its Tag to the client
 * the Tag names, with Data decoded by the destination's Formatter. Problems are reported per
 * entry; one bad entry never stops the others.
 */
import type { EgressDatagram, Failure, FailureContext, FailureReporter, InnerAddressing, ListenerRegistry, MetricsRecorder } from '../contracts';
import { decodeData, isFailure } from '../formatter';
import { isTagFailure, ReplyTagCodec, ReplyTarget } from './reply-tags';
import type { Replies, Reply } from '../../lib/handler';
import { MetricDimension, MetricName } from '../../lib/private/metrics';
import { formatEndpoint } from '../../lib/private/network';
import type { FormatterName } from '../../lib/private/records';

/** Where a response came from. */
export interface ReplySource {
  readonly listener: string;
  readonly destination: string;
  /** Encoding of reply Data (the destination's Formatter). */
  readonly formatter: FormatterName;
}

export interface ReplyRouterOptions {
  readonly listeners: ListenerRegistry;
  readonly tags: ReplyTagCodec;
  readonly failures: FailureReporter;
  readonly metrics: MetricsRecorder;
}

/** Counts of one response's replies handed to a Listener and refused before sending. */
export interface RouteResult {
  readonly sent: number;
  readonly failed: number;
}

/** A response's fields before validation: the contract's names, any values. */
type Unchecked<T> = { readonly [K in keyof T]?: unknown };

const MAX_TAG_IN_RECORD = 120;

export class ReplyRouter {
  private readonly dimensions = new Map<string, Readonly<Record<string, string>>>();

  public constructor(private readonly options: ReplyRouterOptions) {}

  /**
   * Routes every reply in `response`. Send results arrive later: successes count `RepliesOut`,
   * send errors are reported by the Listener callback as `SendFailed` (or the Listener's code).
   */
  public route(response: unknown, source: ReplySource): RouteResult {
    if (response === undefined || response === null) return { sent: 0, failed: 0 };
    const base: FailureContext = { listener: source.listener, destination: source.destination };
    if (typeof response !== 'object' || Array.isArray(response)) {
      this.report('ReplyInvalid', `response must be an object with a Replies array, got ${typeName(response)}`, base);
      return { sent: 0, failed: 1 };
    }
    const replies = (response as Unchecked<Replies>).Replies;
    if (replies === undefined || replies === null) return { sent: 0, failed: 0 };
    if (!Array.isArray(replies)) {
      this.report('ReplyInvalid', `Replies must be an array, got ${typeName(replies)}`, base);
      return { sent: 0, failed: 1 };
    }
    let sent = 0;
    let failed = 0;
    for (let index = 0; index < replies.length; index++) {
      const entry: unknown = replies[index];
      if (entry === null || entry === undefined) continue;
      if (this.routeOne(entry, index, source)) sent++;
      else failed++;
    }
    return { sent, failed };
  }

  private routeOne(entry: unknown, index: number, source: ReplySource): boolean {
    if (typeof entry !== 'object' || Array.isArray(entry)) {
      this.report('ReplyInvalid', `Replies[${index}] must be an object or null, got ${typeName(entry)}`, contextOf(source, index));
      return false;
    }
    const { Tag: tag, Data: data } = entry as Unchecked<Reply>;
    if (typeof tag !== 'string') {
      this.report('ReplyInvalid', `Replies[${index}].Tag must be a string, got ${typeName(tag)}`, contextOf(source, index));
      return false;
    }
    // The coap Formatter also takes the CoAP object itself rather than its JSON text.
    const coapObject = source.formatter === 'coap' && typeof data === 'object' && data !== null && !Array.isArray(data);
    if (typeof data !== 'string' && !coapObject) {
      this.report('ReplyInvalid', `Replies[${index}].Data must be a string, got ${typeName(data)}`, contextOf(source, index, tag));
      return false;
    }
    const target = this.options.tags.decode(tag);
    if (isTagFailure(target)) {
      this.report(target.code, `Replies[${index}].${target.reason}`, contextOf(source, index, tag));
      return false;
    }
    if (target.listener !== source.listener) {
      this.report('ReplyUnknownTag', `Replies[${index}].Tag belongs to Listener ${target.listener}, not to ${source.listener} whose destination replied`, contextOf(source, index, tag, target));
      return false;
    }
    const listener = this.options.listeners.get(target.listener);
    if (listener === undefined) {
      this.report('ReplyUnknownTag', `Replies[${index}].Tag names Listener ${target.listener}, which is not running`, contextOf(source, index, tag, target));
      return false;
    }
    const bytes = decodeData(data, source.formatter, `Replies[${index}].Data`);
    if (isFailure(bytes)) {
      this.report(bytes.code, bytes.reason, contextOf(source, index, tag, target));
      return false;
    }
    const dims = this.dimensionsOf(source.listener);
    const datagram: EgressDatagram = target.peerKey === undefined
      ? { data: bytes, address: target.address, port: target.port }
      : target.inner === undefined
        ? { data: bytes, address: target.address, port: target.port, peerKey: target.peerKey }
        : { data: bytes, address: target.address, port: target.port, peerKey: target.peerKey, inner: replyInner(target.inner) };
    listener.send(
      datagram,
      (failure: Failure | undefined) => {
        if (failure) this.options.failures.report(failure, contextOf(source, index, tag, target));
        else this.options.metrics.increment(MetricName.RepliesOut, 1, dims);
      },
    );
    return true;
  }

  private report(code: Failure['code'], reason: string, context: FailureContext): void {
    this.options.failures.report({ code, reason }, context);
  }

  private dimensionsOf(listener: string): Readonly<Record<string, string>> {
    let dims = this.dimensions.get(listener);
    if (dims === undefined) {
      dims = Object.freeze({ [MetricDimension.Listener]: listener });
      this.dimensions.set(listener, dims);
    }
    return dims;
  }
}

/** The failure record's context for reply `index`: built only when a failure is reported. */
function contextOf(source: ReplySource, index: number, tag?: string, target?: ReplyTarget): FailureContext {
  const context: { -readonly [K in keyof FailureContext]: FailureContext[K] } = { listener: source.listener, destination: source.destination, index };
  if (tag !== undefined) context.tag = tag.length > MAX_TAG_IN_RECORD ? `${tag.slice(0, MAX_TAG_IN_RECORD)}…` : tag;
  if (target !== undefined) {
    context.remote = formatEndpoint(target.address, target.port);
    if (target.peerKey) context.peerKey = target.peerKey;
  }
  return context;
}

function typeName(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `${typeof value} ${truncate(JSON.stringify(value) ?? String(value))}`;
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 37)}…` : text;
}

/** The inner flow of a reply: the inbound packet's, with source and destination swapped. */
function replyInner(received: InnerAddressing): InnerAddressing {
  return {
    SourceAddress: received.DestinationAddress,
    SourcePort: received.DestinationPort,
    DestinationAddress: received.SourceAddress,
    DestinationPort: received.SourcePort,
    Version: received.Version,
    Protocol: received.Protocol,
  };
}
