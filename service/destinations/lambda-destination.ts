/**
 * AWS Lambda, synchronous (RequestResponse): `{"Messages":[…]}` in, `{"Replies":[…]}` out.
 * A function error or a throttle fails the batch (DestinationFailed, with the reason).
 */
import { Destination, DestinationContext, DestinationError, DeliveryResult } from './destination';
import type { InvokeOutcome, LambdaInvoker } from './lambda-invoker';
import { messagesPayloadBuffer, QueuedPacket } from './packet';
import type { DestinationRecord } from '../../lib/private/records';

/** Lambda's limit on a synchronous request payload. */
export const LAMBDA_MAX_PAYLOAD_BYTES = 6 * 1024 * 1024;

export class LambdaDestination implements Destination {
  public readonly type = 'lambda' as const;
  public readonly name: string;
  private readonly functionName: string;

  public constructor(record: DestinationRecord, private readonly invoker: LambdaInvoker) {
    if (!record.Arn) throw new Error(`destination ${record.Name}: Arn is required for Type lambda`);
    this.name = record.Name;
    this.functionName = record.Arn;
  }

  public async deliver(batch: readonly QueuedPacket[]): Promise<DeliveryResult> {
    const payload = messagesPayloadBuffer(batch);
    let out: InvokeOutcome;
    try {
      out = await this.invoker.invoke(this.functionName, payload);
    } catch (err) {
      throw new DestinationError(describeInvokeError(err));
    }
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
}

/** Creates a Lambda destination using the shared invoker. */
export function createLambdaDestination(record: DestinationRecord, _listener: unknown, context: DestinationContext): Destination {
  return new LambdaDestination(record, context.lambdaInvoker());
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
