/**
 * Local handler (local mode): a JS/TS module exporting `handler(event, context)` with exactly the
 * Lambda contract, like `sam local`. The event is `{"Messages":[…]}` as Lambda would deliver it
 * (parsed from the same JSON), the return value is read as the function's response. Each local
 * destination runs its handler in its own worker thread, so a handler that blocks (a busy loop,
 * synchronous I/O) delays only its own batches, never the Listeners, the health server or other
 * handlers. A handler that throws, rejects or runs past its timeout fails the batch; it never
 * takes the gateway down. The failure reason carries at most {@link MAX_HANDLER_ERROR_LENGTH}
 * characters of the handler's error text, since that text may quote the payload.
 */
import { randomUUID } from 'node:crypto';
import { FixedContextFields, LocalHandlerWorker } from './local-handler-worker';
import { loadHandlerModule } from './local-module-loader';
import type { DestinationRecord } from '../../lib/private/records';
import { Destination, DestinationContext, DestinationError, DeliveryResult } from '../destinations/destination';
import { messagesPayload, QueuedPacket } from '../destinations/packet';

export const DEFAULT_LOCAL_HANDLER_TIMEOUT_MS = 30_000;
/** Characters of a handler's error text kept in failure reasons and logs. */
export const MAX_HANDLER_ERROR_LENGTH = 200;

export class LocalDestination implements Destination {
  public readonly type = 'local' as const;

  public constructor(
    public readonly name: string,
    private readonly worker: LocalHandlerWorker,
    private readonly description: string,
    private readonly timeoutMs: number,
    private readonly dispose: () => void = () => undefined,
  ) {}

  public async deliver(batch: readonly QueuedPacket[]): Promise<DeliveryResult> {
    const outcome = await this.worker.invoke(messagesPayload(batch), randomUUID(), this.timeoutMs);
    if (outcome.kind === 'failed') {
      throw new DestinationError(`local handler ${this.description} failed: ${truncate(outcome.error)}`);
    }
    if (outcome.kind === 'notSerializable') {
      return { responseError: `local handler ${this.description} returned a value that cannot be serialized as JSON: ${truncate(outcome.error)}` };
    }
    // Same as Lambda: the caller sees the JSON form of the return value.
    return outcome.text === undefined ? {} : { response: JSON.parse(outcome.text) };
  }

  public async close(): Promise<void> {
    await this.worker.close();
    this.dispose();
  }

}

/** The Lambda context fields of a local handler that do not change between invocations. */
export function localHandlerContext(name: string, region: string): FixedContextFields {
  return {
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${name}`,
    memoryLimitInMB: '128',
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: 'local',
  };
}

/** Loads (and checks) the handler module and creates the destination with its worker thread. */
export async function createLocalDestination(record: DestinationRecord, _listener: unknown, context: DestinationContext): Promise<Destination> {
  if (!record.Module) throw new Error(`destination ${record.Name}: Module is required for Type local`);
  const exportName = record.Handler ?? 'handler';
  const loaded = await loadHandlerModule(record.Module, exportName, context.baseDirectory ?? process.cwd());
  const worker = new LocalHandlerWorker(loaded.file, exportName, loaded.esm, localHandlerContext(record.Name, context.region));
  return new LocalDestination(
    record.Name,
    worker,
    `${record.Module}#${exportName}`,
    context.localHandlerTimeoutMs ?? DEFAULT_LOCAL_HANDLER_TIMEOUT_MS,
    () => loaded.dispose(),
  );
}

function truncate(text: string): string {
  return text.length <= MAX_HANDLER_ERROR_LENGTH ? text : `${text.slice(0, MAX_HANDLER_ERROR_LENGTH)}… (${text.length} characters)`;
}
