/**
 * Local handler (local mode): a JS/TS module exporting `handler(event, context)` with exactly the
 * Lambda contract, like `sam local`. The event is `{"Messages":[…]}` as Lambda would deliver it
 * (parsed from the same JSON), the return value is read as the function's response. A handler
 * that throws, rejects or runs past its timeout fails the batch; it never takes the gateway down.
 */
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import { HandlerFunction, loadHandler } from './local-module-loader';
import type { DestinationRecord } from '../../lib/private/records';
import { Destination, DestinationContext, DestinationError, DeliveryResult } from '../destinations/destination';
import { messagesPayload, QueuedPacket } from '../destinations/packet';

export const DEFAULT_LOCAL_HANDLER_TIMEOUT_MS = 30_000;

export class LocalDestination implements Destination {
  public readonly type = 'local' as const;

  public constructor(
    public readonly name: string,
    private readonly handler: HandlerFunction,
    private readonly description: string,
    private readonly region: string,
    private readonly timeoutMs: number,
  ) {}

  public async deliver(batch: readonly QueuedPacket[]): Promise<DeliveryResult> {
    const event = JSON.parse(messagesPayload(batch)) as unknown;
    let result: unknown;
    try {
      result = await this.invoke(event);
    } catch (err) {
      throw new DestinationError(`local handler ${this.description} failed: ${describeError(err)}`);
    }
    if (result === undefined) return {};
    let text: string | undefined;
    try {
      text = JSON.stringify(result);
    } catch (err) {
      return { responseError: `local handler ${this.description} returned a value that cannot be serialized as JSON: ${describeError(err)}` };
    }
    // Same as Lambda: the caller sees the JSON form of the return value.
    return text === undefined ? {} : { response: JSON.parse(text) };
  }

  private invoke(event: unknown): Promise<unknown> {
    return new Promise((resolvePromise, rejectPromise) => {
      let settled = false;
      const deadline = Date.now() + this.timeoutMs;
      const timer = setTimeout(() => finish(new Error(`did not finish within ${this.timeoutMs / 1000} s`)), this.timeoutMs);
      const finish = (err: unknown, value?: unknown): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err !== undefined && err !== null) rejectPromise(err);
        else resolvePromise(value);
      };
      const context = this.context(deadline);
      try {
        const returned = this.handler(event, context, (err, value) => finish(err, value));
        if (isThenable(returned)) returned.then((value) => finish(undefined, value), (err) => finish(err ?? new Error('rejected')));
        else if (this.handler.length < 3) finish(undefined, returned);
      } catch (err) {
        finish(err ?? new Error('threw'));
      }
    });
  }

  private context(deadline: number): Context {
    const name = this.name;
    return {
      callbackWaitsForEmptyEventLoop: true,
      functionName: name,
      functionVersion: '$LATEST',
      invokedFunctionArn: `arn:aws:lambda:${this.region}:000000000000:function:${name}`,
      memoryLimitInMB: '128',
      awsRequestId: randomUUID(),
      logGroupName: `/aws/lambda/${name}`,
      logStreamName: 'local',
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
  }
}

/** Loads the handler module and creates the destination. */
export async function createLocalDestination(record: DestinationRecord, _listener: unknown, context: DestinationContext): Promise<Destination> {
  if (!record.Module) throw new Error(`destination ${record.Name}: Module is required for Type local`);
  const exportName = record.Handler ?? 'handler';
  const handler = await loadHandler(record.Module, exportName, context.baseDirectory ?? process.cwd());
  return new LocalDestination(record.Name, handler, `${record.Module}#${exportName}`, context.region, context.localHandlerTimeoutMs ?? DEFAULT_LOCAL_HANDLER_TIMEOUT_MS);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  if (typeof err === 'string') return err;
  try {
    return JSON.stringify(err) ?? String(err);
  } catch {
    return String(err);
  }
}
