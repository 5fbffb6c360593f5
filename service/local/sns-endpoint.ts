/**
 * A local SNS-compatible HTTP endpoint: unchanged AWS SDK, AWS CLI and boto3 code publishes
 * sourced packets to PacketSource topics with only an endpoint URL and dummy credentials set.
 *
 * Supported actions: Publish, PublishBatch (with message attributes), ListTopics, CreateTopic
 * (returns a bound topic's ARN) and GetTopicAttributes, in the awsQuery protocol and the JSON
 * protocol. Signatures are not checked. Each accepted publish becomes an SNS notification handed
 * to the {@link SourcedPacketProcessor}; the response does not wait for the datagrams.
 */
import { randomUUID } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from '@aws-lambda-powertools/logger';
import { BoundAddress, errorProtocolOf, protocolOf, refusal } from './request-guard';
import {
  MessageAttributeInput,
  PublishBatchEntryInput,
  PublishInput,
  ResponseObject,
  SnsError,
  SnsRequest,
  XmlMap,
  parseJsonRequest,
  parseQueryRequest,
  renderError,
  renderResult,
} from './sns-protocol';
import { parseArn, topicRegion } from '../../lib/private/arn';
import type { SnsNotification, SourcedPacketProcessor } from '../sourcing/sourced-packet-processor';

export interface LocalSnsEndpointOptions {
  /** Address to listen on (local mode: 127.0.0.1). */
  host: string;
  /** TCP port; 0 picks a free one (see the returned url). */
  port: number;
  /** Region in the ARNs this endpoint reports (CreateTopic). */
  region: string;
  /** Account in the ARNs this endpoint reports (CreateTopic). */
  accountId: string;
  processor: SourcedPacketProcessor;
  logger: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  /** Largest request body accepted, bytes. @default 1048576 */
  maxRequestBytes?: number;
}

/** A running endpoint. */
export interface LocalSnsEndpoint {
  /** `http://host:port`, the value for `--endpoint-url` / `endpoint`. */
  readonly url: string;
  /** Stops accepting requests and closes open connections. */
  close(): Promise<void>;
}

/** SNS limit on a message plus its attributes, bytes. */
const MAX_MESSAGE_BYTES = 262_144;
const MAX_ATTRIBUTES = 10;
const MAX_BATCH_ENTRIES = 10;
const BATCH_ID_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;
const TOPIC_NAME_PATTERN = /^[A-Za-z0-9_-]{1,256}(\.fifo)?$/;
const ATTRIBUTE_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,256}$/;
const BASE64_PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const ACTIONS = ['Publish', 'PublishBatch', 'ListTopics', 'CreateTopic', 'GetTopicAttributes'];

/** Starts the endpoint; resolves once it listens. Rejects naming the address when it cannot. */
export function startLocalSnsEndpoint(opts: LocalSnsEndpointOptions): Promise<LocalSnsEndpoint> {
  const endpoint = new SnsEndpointHandler(opts);
  const server = createServer((req, res) => endpoint.serve(req, res));
  endpoint.server = server;
  return new Promise((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(new Error(`local SNS endpoint could not listen on ${opts.host}:${opts.port}: ${err.code ?? err.message}`));
    });
    server.listen(opts.port, opts.host, () => {
      const address = server.address() as AddressInfo;
      const host = address.family === 'IPv6' || address.address.includes(':') ? `[${address.address}]` : address.address;
      const url = `http://${host}:${address.port}`;
      opts.logger.info('local SNS endpoint listening', { url });
      resolve({
        url,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}

/** Decodes requests, runs the actions, and writes responses. */
class SnsEndpointHandler {
  private readonly maxRequestBytes: number;
  /** The server this handler serves, for the address the Host header must name. */
  server?: Server;

  constructor(private readonly opts: LocalSnsEndpointOptions) {
    this.maxRequestBytes = opts.maxRequestBytes ?? 1_048_576;
  }

  serve(req: IncomingMessage, res: ServerResponse): void {
    const requestId = randomUUID();
    const refused = refusal(req.method, req.headers, this.bound());
    if (refused) {
      // The body is not read: the connection closes after the answer.
      closeAfterAnswer(res);
      if (refused.status === 405) res.setHeader('allow', 'POST');
      this.fail(res, errorProtocolOf(req.headers), requestId, refused);
      return;
    }
    const protocol = protocolOf(req.headers) ?? 'query';
    readBody(req, this.maxRequestBytes).then(
      (body) => {
        try {
          const target = req.headers['x-amz-target'];
          const request = protocol === 'json' ? parseJsonRequest(body, Array.isArray(target) ? target[0] : target) : parseQueryRequest(body, '');
          const result = this.run(request);
          const out = renderResult(protocol, request.action, requestId, result);
          respond(res, 200, requestId, out.contentType, out.body, {});
        } catch (err) {
          this.fail(res, protocol, requestId, err);
        }
      },
      (err: unknown) => {
        // A body over the limit is not read to its end: the connection closes after the answer.
        if (err instanceof SnsError && err.status === 413) closeAfterAnswer(res);
        this.fail(res, protocol, requestId, err);
      },
    );
  }

  /** Where the server listens (known once it does). */
  private bound(): BoundAddress {
    const address = this.server?.address();
    if (address && typeof address === 'object') return { address: address.address, port: address.port };
    return { address: this.opts.host, port: this.opts.port };
  }

  private fail(res: ServerResponse, protocol: 'query' | 'json', requestId: string, err: unknown): void {
    let e: SnsError;
    if (err instanceof SnsError) {
      e = err;
      this.opts.logger.debug('local SNS request rejected', { code: e.code, reason: e.message, requestId });
    } else {
      e = new SnsError('InternalError', 500, 'the local SNS endpoint could not handle the request', false);
      this.opts.logger.error('local SNS request failed', { requestId, error: (err as Error)?.message });
    }
    const out = renderError(protocol, requestId, e);
    respond(res, e.status, requestId, out.contentType, out.body, out.headers);
  }

  private run(request: SnsRequest): ResponseObject {
    switch (request.action) {
      case 'Publish':
        return this.publish(request.publish());
      case 'PublishBatch':
        return this.publishBatch(request.str('TopicArn'), request.batchEntries());
      case 'ListTopics':
        return { Topics: (this.opts.processor.listTopicArns() ?? []).map((arn) => ({ TopicArn: arn })) };
      case 'CreateTopic':
        return this.createTopic(request.str('Name'));
      case 'GetTopicAttributes':
        return this.topicAttributes(this.boundTopic(request.str('TopicArn'), 'TopicArn'));
      default:
        throw new SnsError('InvalidAction', 400, `action ${JSON.stringify(request.action)} is not supported by the local SNS endpoint (supported: ${ACTIONS.join(', ')})`);
    }
  }

  private publish(input: PublishInput): ResponseObject {
    if (input.PhoneNumber !== undefined && input.TopicArn === undefined && input.TargetArn === undefined) {
      throw new SnsError('InvalidParameter', 400, 'PhoneNumber: SMS is not supported by the local SNS endpoint (allowed: TopicArn or TargetArn of a PacketSource topic)');
    }
    const topicArn = this.boundTopic(input.TopicArn ?? input.TargetArn, input.TopicArn !== undefined ? 'TopicArn' : 'TargetArn');
    const notification = toNotification(topicArn, input, '');
    this.dispatch(notification);
    return { MessageId: notification.MessageId };
  }

  private publishBatch(topic: string | undefined, entries: PublishBatchEntryInput[]): ResponseObject {
    const topicArn = this.boundTopic(topic, 'TopicArn');
    if (entries.length === 0) throw new SnsError('EmptyBatchRequest', 400, 'PublishBatchRequestEntries is empty (allowed: 1 to 10 entries)');
    if (entries.length > MAX_BATCH_ENTRIES) {
      throw new SnsError('TooManyEntriesInBatchRequest', 400, `PublishBatchRequestEntries has ${entries.length} entries (allowed: 1 to ${MAX_BATCH_ENTRIES})`);
    }
    const ids = new Set<string>();
    let total = 0;
    for (const e of entries) {
      if (e.Id === undefined || !BATCH_ID_PATTERN.test(e.Id)) {
        throw new SnsError('InvalidBatchEntryId', 400, `batch entry Id ${JSON.stringify(e.Id ?? null)} is not valid (allowed: 1 to 80 of A-Z a-z 0-9 _ -)`);
      }
      if (ids.has(e.Id)) throw new SnsError('BatchEntryIdsNotDistinct', 400, `batch entry Id ${JSON.stringify(e.Id)} appears more than once`);
      ids.add(e.Id);
      total += messageBytes(e);
    }
    if (total > MAX_MESSAGE_BYTES) {
      throw new SnsError('BatchRequestTooLong', 400, `the batch carries ${total} bytes of messages and attributes (allowed: at most ${MAX_MESSAGE_BYTES} in total)`);
    }
    const successful: ResponseObject[] = [];
    const failed: ResponseObject[] = [];
    const accepted: SnsNotification[] = [];
    for (const e of entries) {
      try {
        const n = toNotification(topicArn, e, `entry ${e.Id}: `);
        accepted.push(n);
        successful.push({ Id: e.Id, MessageId: n.MessageId });
      } catch (err) {
        if (!(err instanceof SnsError)) throw err;
        failed.push({ Id: e.Id, Code: err.code, Message: err.message, SenderFault: true });
      }
    }
    for (const n of accepted) this.dispatch(n);
    return { Successful: successful, Failed: failed };
  }

  private createTopic(name: string | undefined): ResponseObject {
    if (name === undefined || !TOPIC_NAME_PATTERN.test(name)) {
      throw new SnsError('InvalidParameter', 400, `Name ${JSON.stringify(name ?? null)} is not a topic name (allowed: 1 to 256 of A-Z a-z 0-9 _ -, optionally ending in .fifo)`);
    }
    const arn = `arn:aws:sns:${this.opts.region}:${this.opts.accountId}:${name}`;
    if (!this.opts.processor.hasTopic(arn)) {
      throw new SnsError('InvalidParameter', 400, `topic ${arn} is not bound to a Listener; the local SNS endpoint only serves PacketSource topics of the configuration (add one under PacketSources)`);
    }
    return { TopicArn: arn };
  }

  private topicAttributes(arn: string): ResponseObject {
    const account = parseArn(arn)?.account ?? '';
    const attributes: Record<string, string> = {
      TopicArn: arn,
      Owner: account,
      DisplayName: '',
      SubscriptionsConfirmed: '1',
      SubscriptionsPending: '0',
      SubscriptionsDeleted: '0',
    };
    if (arn.endsWith('.fifo')) attributes.FifoTopic = 'true';
    return { Attributes: new XmlMap(attributes) };
  }

  /** The topic ARN when it is well formed and bound; InvalidParameter or NotFound otherwise. */
  private boundTopic(arn: string | undefined, field: string): string {
    if (arn === undefined || arn === '') throw new SnsError('InvalidParameter', 400, `${field} is required`);
    if (!topicRegion(arn)) {
      throw new SnsError('InvalidParameter', 400, `${field} ${JSON.stringify(arn.slice(0, 300))} is not a topic ARN (allowed: arn:aws:sns:<region>:<account>:<name>)`);
    }
    if (!this.opts.processor.hasTopic(arn)) throw new SnsError('NotFound', 404, `Topic does not exist: ${arn} is not bound to a Listener`);
    return arn;
  }

  private dispatch(n: SnsNotification): void {
    this.opts.processor.handle(n).then(
      (r) => this.opts.logger.debug('local SNS publish handled', { topicArn: n.TopicArn, messageId: n.MessageId, sent: r.sent, failed: r.failed }),
      (err: unknown) => this.opts.logger.error('local SNS publish could not be handled', { topicArn: n.TopicArn, messageId: n.MessageId, error: (err as Error)?.message }),
    );
  }
}

/** Validates a publish (SNS rules) and builds the notification SNS would deliver to SQS. */
function toNotification(topicArn: string, input: PublishInput, where: string): SnsNotification {
  if (input.Message === undefined) throw new SnsError('InvalidParameter', 400, `${where}Message is required`);
  if (input.Message.length === 0) throw new SnsError('InvalidParameter', 400, `${where}Message must not be empty`);
  let message = input.Message;
  if (input.MessageStructure !== undefined) {
    if (input.MessageStructure !== 'json') {
      throw new SnsError('InvalidParameter', 400, `${where}MessageStructure ${JSON.stringify(input.MessageStructure)} is not supported (allowed: json)`);
    }
    message = protocolMessage(message, where);
  }
  if (topicArn.endsWith('.fifo') && !input.MessageGroupId) {
    throw new SnsError('InvalidParameter', 400, `${where}MessageGroupId is required for the FIFO topic ${topicArn}`);
  }
  const size = messageBytes(input);
  if (size > MAX_MESSAGE_BYTES) {
    throw new SnsError('InvalidParameter', 400, `${where}Message too long: ${size} bytes with its attributes (allowed: at most ${MAX_MESSAGE_BYTES})`);
  }
  if (input.MessageAttributes.length > MAX_ATTRIBUTES) {
    throw new SnsError('InvalidParameter', 400, `${where}${input.MessageAttributes.length} message attributes (allowed: at most ${MAX_ATTRIBUTES})`);
  }
  const attributes: Record<string, { Type: string; Value: string }> = {};
  for (const [name, value] of input.MessageAttributes) {
    attributes[name] = attributeValue(name, value, where);
  }
  const n: SnsNotification = {
    Type: 'Notification',
    MessageId: randomUUID(),
    TopicArn: topicArn,
    Message: message,
    Timestamp: new Date().toISOString(),
  };
  if (input.MessageAttributes.length > 0) n.MessageAttributes = attributes;
  return n;
}

/** With MessageStructure json: the message for SQS subscribers (`sqs`, else `default`). */
function protocolMessage(message: string, where: string): string {
  let doc: unknown;
  try {
    doc = JSON.parse(message);
  } catch {
    throw new SnsError('InvalidParameter', 400, `${where}Message is not JSON although MessageStructure is json`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new SnsError('InvalidParameter', 400, `${where}Message must be a JSON object of protocol to message when MessageStructure is json`);
  }
  const d = doc as Record<string, unknown>;
  if (typeof d.default !== 'string') {
    throw new SnsError('InvalidParameter', 400, `${where}Message needs a string "default" key when MessageStructure is json`);
  }
  return typeof d.sqs === 'string' ? d.sqs : d.default;
}

function attributeValue(name: string, value: MessageAttributeInput, where: string): { Type: string; Value: string } {
  if (!ATTRIBUTE_NAME_PATTERN.test(name) || /^(aws|amazon)\./i.test(name) || name.startsWith('.') || name.endsWith('.') || name.includes('..')) {
    throw new SnsError('ParameterValueInvalid', 400, `${where}message attribute name ${JSON.stringify(name.slice(0, 300))} is not valid (allowed: 1 to 256 of A-Z a-z 0-9 _ - ., not starting with AWS. or Amazon.)`);
  }
  const type = value.DataType;
  const base = type?.split('.')[0];
  if (!type || (base !== 'String' && base !== 'Number' && base !== 'Binary')) {
    throw new SnsError('ParameterValueInvalid', 400, `${where}message attribute '${name}' has DataType ${JSON.stringify(type ?? null)} (allowed: String, String.Array, Number, Binary, optionally with a .suffix)`);
  }
  if (base === 'Binary') {
    if (value.BinaryValue === undefined || value.BinaryValue === '' || !BASE64_PATTERN.test(value.BinaryValue)) {
      throw new SnsError('ParameterValueInvalid', 400, `${where}message attribute '${name}' of type ${type} needs a non-empty BinaryValue (base64)`);
    }
    return { Type: type, Value: value.BinaryValue };
  }
  const text = value.StringValue;
  if (text === undefined || text === '') {
    throw new SnsError('ParameterValueInvalid', 400, `${where}message attribute '${name}' of type ${type} needs a non-empty StringValue`);
  }
  if (base === 'Number' && !/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text)) {
    throw new SnsError('ParameterValueInvalid', 400, `${where}message attribute '${name}' of type ${type} has StringValue ${JSON.stringify(text.slice(0, 40))}, which is not a number`);
  }
  if (type === 'String.Array') {
    let ok = false;
    try {
      ok = Array.isArray(JSON.parse(text));
    } catch {
      ok = false;
    }
    if (!ok) throw new SnsError('ParameterValueInvalid', 400, `${where}message attribute '${name}' of type String.Array must hold a JSON array`);
  }
  return { Type: type, Value: text };
}

/** Size SNS counts against its limit: the message plus every attribute name, type and value. */
function messageBytes(input: PublishInput): number {
  let n = Buffer.byteLength(input.Message ?? '');
  for (const [name, v] of input.MessageAttributes) {
    n += Buffer.byteLength(name) + Buffer.byteLength(v.DataType ?? '') + Buffer.byteLength(v.StringValue ?? v.BinaryValue ?? '');
  }
  return n;
}

/**
 * Reads the body up to `limit` bytes. A Content-Length over the limit is refused before any of the
 * body is read; a chunked body stops being read at the limit. Either rejects with 413.
 */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(tooLarge(`request body of ${declared} bytes (Content-Length) is larger than ${limit} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      req.off('data', onData);
      req.pause();
      reject(tooLarge(`request body is larger than ${limit} bytes (stopped reading at ${size})`));
    };
    req.on('data', onData);
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** How long a connection closed after an answer keeps discarding what the client still sends. */
const LINGER_MS = 500;

/**
 * Answers with `Connection: close` and then closes without reading the rest of the request: the
 * write side is shut at once, and what the client still sends is discarded for {@link LINGER_MS}
 * before the socket is destroyed. Destroying it at once would reset the connection with unread
 * data pending, and the client would lose the answer.
 */
function closeAfterAnswer(res: ServerResponse): void {
  res.shouldKeepAlive = false;
  const socket = res.socket;
  if (!socket) return;
  // node:http ends a `Connection: close` response with destroySoon(): linger instead.
  socket.destroySoon = function lingeringClose(this: Socket): void {
    this.end();
    this.resume();
    setTimeout(() => this.destroy(), LINGER_MS).unref();
  };
}

function tooLarge(message: string): SnsError {
  return new SnsError('RequestEntityTooLarge', 413, message);
}

function respond(res: ServerResponse, status: number, requestId: string, contentType: string, body: string, headers: Record<string, string>): void {
  if (res.headersSent) return;
  res.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': requestId,
    ...headers,
  });
  res.end(body);
}
