/**
 * AWS Lambda: `{"Messages":[…]}` in. The destination's `Arguments` choose how it is invoked:
 * - `RequestResponse` (default): `{"Replies":[…]}` out, routed when the invocation returns.
 * - `UseResponseStreaming`: InvokeWithResponseStream; each streamed reply is routed as soon as it
 *   arrives (reply-stream.ts says which stream shapes are read).
 * - `InvocationType: Event`: asynchronous, write-only; Lambda queues the batch and answers 202.
 * - `TenantId` / `TenantIdExpression`: the invocation's tenant (tenant isolation mode); with an
 *   expression each packet has its own tenant id and a batch is invoked once per tenant.
 * A function error or a throttle fails the batch (or the tenant's part of it): DestinationFailed,
 * with the reason.
 */
import { Destination, DestinationContext, DestinationError, DeliveryResult, PacketDeliveryFailure, ReplySink } from './destination';
import type { InvokeOutcome, InvokeOptions, LambdaInvoker } from './lambda-invoker';
import { messagesPayloadBuffer, QueuedPacket } from './packet';
import { packetArgumentOf } from './packet-argument';
import { ReplyStreamParser } from './reply-stream';
import { parseArn } from '../../lib/private/arn';
import { LAMBDA_TENANT_ID } from '../../lib/private/limits';
import type { LambdaInvocationTypeName, ResolvedDestinationRecord } from '../../lib/private/records';

/** Lambda's limit on a synchronous request payload. */
export const LAMBDA_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

/** A packet's tenant id from its payload (TenantIdExpression rendered with TenantIdFormatter); undefined when the bytes cannot be rendered. */
export type TenantIdOf = (payload: Uint8Array) => string | undefined;

export class LambdaDestination implements Destination {
  public readonly type = 'lambda' as const;
  public readonly name: string;
  public readonly packetKey?: TenantIdOf;
  private readonly functionName: string;
  private readonly invocationType: LambdaInvocationTypeName;
  private readonly streaming: boolean;
  private readonly tenantId?: string;

  /** @param tenantIdOf each packet's tenant id (TenantIdExpression); batches are then split by tenant. */
  public constructor(record: ResolvedDestinationRecord, private readonly invoker: LambdaInvoker, tenantIdOf?: TenantIdOf) {
    if (!record.Arn) throw new Error(`destination ${record.Name}: Arn is required for Type lambda`);
    this.name = record.Name;
    this.functionName = record.Arn;
    const args = record.Arguments;
    this.invocationType = args?.InvocationType ?? 'RequestResponse';
    this.streaming = args?.UseResponseStreaming === true;
    this.tenantId = args?.TenantId;
    this.packetKey = tenantIdOf;
    if (this.streaming && this.invocationType === 'Event') {
      throw new Error(`destination ${record.Name}: UseResponseStreaming is not allowed with InvocationType Event (allowed: one of them)`);
    }
    if (this.streaming && !invoker.invokeWithResponseStream) {
      throw new Error(`destination ${record.Name}: UseResponseStreaming needs a Lambda invoker that streams (allowed: the gateway's own Lambda client)`);
    }
  }

  public async deliver(batch: readonly QueuedPacket[], replies?: ReplySink): Promise<DeliveryResult> {
    if (this.packetKey === undefined) return this.invoke(batch, this.tenantId, replies);
    return this.deliverByTenant(batch, replies);
  }

  /** One invocation per tenant id of the batch; a packet without a valid tenant id fails alone. */
  private async deliverByTenant(batch: readonly QueuedPacket[], replies?: ReplySink): Promise<DeliveryResult> {
    const tenants = new Map<string, number[]>();
    const failed: PacketDeliveryFailure[] = [];
    for (let i = 0; i < batch.length; i++) {
      const key = batch[i].key;
      if (key === undefined || !LAMBDA_TENANT_ID.pattern.test(key)) {
        failed.push({
          index: i,
          reason: `the packet's tenant id ${key === undefined ? '(none: TenantIdFormatter cannot render the bytes TenantIdExpression selects)' : JSON.stringify(key.slice(0, 80))} `
          + `is not a Lambda tenant id (allowed: ${LAMBDA_TENANT_ID.allowed})`,
        });
        continue;
      }
      const indexes = tenants.get(key);
      if (indexes) indexes.push(i);
      else tenants.set(key, [i]);
    }
    if (failed.length === 0 && tenants.size === 1) return this.invoke(batch, tenants.keys().next().value, replies);
    const parts = [...tenants];
    const outcomes = await Promise.allSettled(parts.map(([tenant, indexes]) => this.invoke(indexes.map((i) => batch[i]), tenant, replies)));
    const responses: unknown[] = [];
    const errors: string[] = [];
    outcomes.forEach((outcome, p) => {
      const [tenant, indexes] = parts[p];
      if (outcome.status === 'rejected') {
        const reason = `tenant ${tenant}: ${(outcome.reason as Error)?.message ?? String(outcome.reason)}`;
        for (const index of indexes) failed.push({ index, reason });
        return;
      }
      const result = outcome.value;
      if (result.response !== undefined) responses.push(result.response);
      if (result.responseError !== undefined) errors.push(`tenant ${tenant}: ${result.responseError}`);
    });
    return {
      ...(failed.length > 0 ? { failed: failed.sort((a, b) => a.index - b.index) } : {}),
      ...(responses.length > 0 ? { responses } : {}),
      ...(errors.length > 0 ? { responseError: errors.join('; ') } : {}),
    };
  }

  private async invoke(batch: readonly QueuedPacket[], tenantId: string | undefined, replies?: ReplySink): Promise<DeliveryResult> {
    const payload = messagesPayloadBuffer(batch);
    const options: InvokeOptions = { invocationType: this.invocationType, ...(tenantId !== undefined ? { tenantId } : {}) };
    if (this.streaming) return this.invokeStreaming(payload, options, replies);
    let out: InvokeOutcome;
    try {
      out = await this.invoker.invoke(this.functionName, payload, options);
    } catch (err) {
      throw new DestinationError(describeInvokeError(err));
    }
    if (this.invocationType === 'Event') return {};
    const text = out.payload ? Buffer.from(out.payload.buffer, out.payload.byteOffset, out.payload.byteLength).toString('utf8') : '';
    if (out.functionError) {
      throw new DestinationError(`Lambda function error (${out.functionError}): ${describeFunctionError(text)}`);
    }
    if (text.trim() === '') return {};
    try {
      return { response: JSON.parse(text) };
    } catch {
      return { responseError: `Lambda response of ${text.length} bytes is not JSON (allowed: {"Replies":[…]} or null)` };
    }
  }

  /**
   * Replies go to `replies` as each is complete on the stream. Without a sink (a caller that
   * routes the result itself) they are collected into the result's response.
   */
  private async invokeStreaming(payload: Uint8Array, options: InvokeOptions, replies?: ReplySink): Promise<DeliveryResult> {
    const collected: unknown[] = [];
    const problems: string[] = [];
    const sink: ReplySink = replies ?? { reply: (entry) => collected.push(entry), invalid: (reason) => problems.push(reason) };
    const parser = new ReplyStreamParser(sink);
    let outcome;
    try {
      outcome = await this.invoker.invokeWithResponseStream!(this.functionName, payload, (chunk) => parser.push(chunk), options);
    } catch (err) {
      throw new DestinationError(describeInvokeError(err));
    } finally {
      parser.end();
    }
    if (outcome.errorCode) {
      throw new DestinationError(`Lambda function error (${outcome.errorCode}) in its response stream: ${truncate(outcome.errorDetails ?? '')}`);
    }
    if (replies) return {};
    return {
      ...(collected.length > 0 ? { response: { Replies: collected } } : {}),
      ...(problems.length > 0 ? { responseError: problems.join('; ') } : {}),
    };
  }
}

/**
 * Creates a Lambda destination: through the gateway's shared invoker, or the one for the
 * function's region and the destination's Role; TenantIdExpression compiled once.
 */
export function createLambdaDestination(record: ResolvedDestinationRecord, _listener: unknown, context: DestinationContext): Destination {
  const region = record.Arn !== undefined ? parseArn(record.Arn)?.region : undefined;
  const target = {
    ...(region && region !== context.region ? { region } : {}),
    ...(record.Role ? { role: record.Role } : {}),
  };
  return new LambdaDestination(record, context.lambdaInvoker(Object.keys(target).length > 0 ? target : undefined), tenantIdOfRecord(record));
}

/** `Arguments.TenantIdExpression` and `TenantIdFormatter` as a per-packet function; undefined without an expression. */
export function tenantIdOfRecord(record: ResolvedDestinationRecord): TenantIdOf | undefined {
  const argument = packetArgumentOf(record.Arguments, 'TenantId');
  if (argument === undefined) return undefined;
  return (payload) => {
    const id = argument(payload);
    return typeof id === 'string' ? id : undefined;
  };
}

function describeInvokeError(err: unknown): string {
  const e = err as { name?: string; message?: string; Reason?: string };
  const name = e?.name ?? 'Error';
  const message = e?.message ?? String(err);
  if (name === 'TooManyRequestsException') {
    return `Lambda throttled the invocation (TooManyRequestsException${e.Reason ? `, ${e.Reason}` : ''}): ${message}`;
  }
  return `Lambda Invoke failed (${name}): ${message}`;
}

function describeFunctionError(payload: string): string {
  try {
    const body = JSON.parse(payload) as { errorType?: unknown; errorMessage?: unknown };
    const type = typeof body?.errorType === 'string' ? body.errorType : 'Error';
    const message = typeof body?.errorMessage === 'string' ? body.errorMessage : '';
    return truncate(`${type}: ${message}`);
  } catch {
    return 'the function failed without an error object';
  }
}

function truncate(text: string): string {
  return text.length > 300 ? `${text.slice(0, 297)}…` : text;
}
