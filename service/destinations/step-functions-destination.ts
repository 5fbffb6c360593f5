/**
 * AWS Step Functions. EXPRESS state machines run synchronously (`StartSyncExecution`, sent by the
 * SDK to the `sync-states.` endpoint): `{"Messages":[…]}` in, exactly as a Lambda function gets
 * it, and the execution's output `{"Replies":[…]}` routed like a Lambda's response. A FAILED or
 * TIMED_OUT execution fails its packets, with the status, error and cause in the reason.
 * STANDARD state machines are started (`StartExecution`) and never reply.
 *
 * The workflow type is the record's `Arguments.StateMachineType`, or else asked once of
 * `DescribeStateMachine` (on the state machine without its version or alias qualifier) and kept
 * for the destination's life; a failed lookup is tried again with the next batch.
 *
 * An execution's input is at most 256 KiB: a larger batch is sent as several executions, at the
 * same time, and the replies of all of them are routed.
 */
import {
  DescribeStateMachineCommand, SFNClient, StartExecutionCommand, StartSyncExecutionCommand,
} from '@aws-sdk/client-sfn';
import { Destination, DestinationContext, DestinationError, DeliveryResult, PacketDeliveryFailure } from './destination';
import { messagesOverheadBytes, messagesPayload, QueuedPacket } from './packet';
import { STATE_MACHINE_ARN, unqualifiedStateMachineArn } from '../../lib/private/arn';
import type { ResolvedDestinationRecord, StateMachineTypeName } from '../../lib/private/records';

/** Largest input of one execution (Step Functions' limit on an execution's input, UTF-8). */
export const STEP_FUNCTIONS_MAX_INPUT_BYTES = 256 * 1024;

/** Longest error cause (it may quote data) kept in a failure reason. */
const MAX_CAUSE_CHARS = 300;

/** What one execution gave: its output text (EXPRESS), nothing (STANDARD), or why it failed. */
type ExecutionOutcome =
  | { readonly start: number; readonly end: number; readonly output: string }
  | { readonly start: number; readonly end: number; readonly error: string };

export class StepFunctionsDestination implements Destination {
  public readonly type = 'stepfunctions' as const;
  public readonly name: string;
  private readonly stateMachineArn: string;
  private readonly describeArn: string;
  private readonly declaredType?: StateMachineTypeName;
  private detectedType?: Promise<StateMachineTypeName>;

  public constructor(record: ResolvedDestinationRecord, private readonly client: SFNClient) {
    const arn = record.Arn;
    const describeArn = arn === undefined ? undefined : unqualifiedStateMachineArn(arn);
    if (arn === undefined || describeArn === undefined) {
      throw new Error(`destination ${record.Name}: Arn ${JSON.stringify(arn)} is not a state machine ARN (allowed: ${STATE_MACHINE_ARN.allowed})`);
    }
    this.name = record.Name;
    this.stateMachineArn = arn;
    this.describeArn = describeArn;
    this.declaredType = record.Arguments?.StateMachineType;
  }

  public async deliver(batch: readonly QueuedPacket[]): Promise<DeliveryResult> {
    const workflowType = await this.workflowType();
    const ranges = inputRanges(batch);
    const outcomes = await Promise.all(ranges.map(([start, end]) => this.execute(workflowType, batch, start, end)));
    if (outcomes.length === 1) {
      const only = outcomes[0];
      if ('error' in only) throw new DestinationError(only.error);
      return readOutput(only.output);
    }
    return mergeOutcomes(outcomes);
  }

  /** The declared type, else the one DescribeStateMachine reports (asked once; asked again after a failure). */
  private workflowType(): Promise<StateMachineTypeName> {
    if (this.declaredType !== undefined) return Promise.resolve(this.declaredType);
    return (this.detectedType ??= this.describe().catch((err: unknown) => {
      this.detectedType = undefined;
      throw err;
    }));
  }

  private async describe(): Promise<StateMachineTypeName> {
    let type: string | undefined;
    try {
      type = (await this.client.send(new DescribeStateMachineCommand({ stateMachineArn: this.describeArn }))).type;
    } catch (err) {
      throw new DestinationError(`Step Functions DescribeStateMachine of ${this.describeArn} failed (${errorName(err)}): ${errorMessage(err)} `
        + '(the workflow type is detected with states:DescribeStateMachine unless the destination declares Arguments.StateMachineType)');
    }
    if (type !== 'EXPRESS' && type !== 'STANDARD') {
      throw new DestinationError(`Step Functions DescribeStateMachine of ${this.describeArn} reported type ${JSON.stringify(type)} (allowed: EXPRESS, STANDARD)`);
    }
    return type;
  }

  /** Runs one execution over `batch[start, end)`; never rejects. */
  private async execute(workflowType: StateMachineTypeName, batch: readonly QueuedPacket[], start: number, end: number): Promise<ExecutionOutcome> {
    const input = messagesPayload(start === 0 && end === batch.length ? batch : batch.slice(start, end));
    if (workflowType === 'STANDARD') {
      try {
        await this.client.send(new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, input }));
        return { start, end, output: '' };
      } catch (err) {
        return { start, end, error: `Step Functions StartExecution failed (${errorName(err)}): ${errorMessage(err)}` };
      }
    }
    try {
      const out = await this.client.send(new StartSyncExecutionCommand({ stateMachineArn: this.stateMachineArn, input }));
      if (out.status !== 'SUCCEEDED') {
        return {
          start,
          end,
          error: `Step Functions execution ${out.executionArn ?? '(no execution ARN)'} ended ${out.status ?? 'without a status'}: `
            + `error ${JSON.stringify(out.error ?? '')}, cause ${JSON.stringify(truncate(out.cause ?? ''))}`,
        };
      }
      return { start, end, output: out.output ?? '' };
    } catch (err) {
      const hint = errorName(err) === 'StateMachineTypeNotSupported' ? ' (StateMachineType EXPRESS is declared, but the state machine is STANDARD)' : '';
      return { start, end, error: `Step Functions StartSyncExecution failed (${errorName(err)}): ${errorMessage(err)}${hint}` };
    }
  }
}

/** Creates a Step Functions destination using the shared client. */
export function createStepFunctionsDestination(record: ResolvedDestinationRecord, _listener: unknown, context: DestinationContext): Destination {
  return new StepFunctionsDestination(record, context.sfnClient());
}

/** `[start, end)` ranges of `batch` whose `{"Messages":[…]}` fits one execution's input, in order. */
export function inputRanges(batch: readonly QueuedPacket[], maxBytes = STEP_FUNCTIONS_MAX_INPUT_BYTES): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  let start = 0;
  while (start < batch.length) {
    let end = start;
    let bytes = messagesOverheadBytes(1);
    while (end < batch.length && (end === start || bytes + 1 + batch[end].bytes <= maxBytes)) {
      bytes += (end === start ? 0 : 1) + batch[end].bytes;
      end++;
    }
    ranges.push([start, end]);
    start = end;
  }
  return ranges;
}

/** One execution's output as a delivery result: nothing, the parsed JSON, or why it cannot be read. */
function readOutput(output: string): DeliveryResult {
  if (output.trim() === '') return {};
  try {
    return { response: JSON.parse(output) };
  } catch {
    return { responseError: notJson(output) };
  }
}

/**
 * The result of a batch sent as several executions: failed executions fail their packets (all of
 * them failing fails the batch), and the `Replies` of the others are routed together.
 */
function mergeOutcomes(outcomes: readonly ExecutionOutcome[]): DeliveryResult {
  const failures = outcomes.filter((o): o is Extract<ExecutionOutcome, { error: string }> => 'error' in o);
  if (failures.length === outcomes.length) {
    throw new DestinationError(`all ${outcomes.length} executions of the batch failed; the first: ${failures[0].error}`);
  }
  const failed: PacketDeliveryFailure[] = [];
  for (const f of failures) {
    for (let index = f.start; index < f.end; index++) failed.push({ index, reason: f.error });
  }
  const replies: unknown[] = [];
  const problems: string[] = [];
  outcomes.forEach((outcome, i) => {
    if ('error' in outcome) return;
    const read = readOutput(outcome.output);
    const execution = `execution ${i + 1} of ${outcomes.length}`;
    if (read.responseError) {
      problems.push(`${execution}: ${read.responseError}`);
      return;
    }
    const response = read.response;
    if (response === undefined || response === null) return;
    if (typeof response !== 'object' || Array.isArray(response)) {
      problems.push(`${execution}: output must be an object with a Replies array, got ${Array.isArray(response) ? 'an array' : typeof response}`);
      return;
    }
    const entries = (response as { Replies?: unknown }).Replies;
    if (entries === undefined || entries === null) return;
    if (!Array.isArray(entries)) {
      problems.push(`${execution}: Replies must be an array, got ${typeof entries}`);
      return;
    }
    for (const entry of entries) replies.push(entry);
  });
  return {
    ...(replies.length > 0 ? { response: { Replies: replies } } : {}),
    ...(problems.length > 0 ? { responseError: problems.join('; ') } : {}),
    ...(failed.length > 0 ? { failed } : {}),
  };
}

function notJson(output: string): string {
  return `Step Functions output of ${output.length} characters is not JSON (allowed: {"Replies":[…]} or null)`;
}

function errorName(err: unknown): string {
  return (err as { name?: string })?.name ?? 'Error';
}

function errorMessage(err: unknown): string {
  return (err as { message?: string })?.message ?? String(err);
}

function truncate(text: string): string {
  return text.length > MAX_CAUSE_CHARS ? `${text.slice(0, MAX_CAUSE_CHARS - 1)}…` : text;
}
