/**
 * Step Functions destinations: the requests the real SDK client sends (StartSyncExecution on the
 * `sync-states.` host, signed), against a Step Functions-shaped server on loopback, and the
 * delivery logic (type detection, replies, failures, batches larger than an execution's input)
 * with aws-sdk-client-mock.
 */
import { Agent, ServerResponse } from 'node:http';
import type { LookupFunction } from 'node:net';
import { Readable } from 'node:stream';
import {
  DescribeStateMachineCommand, SFNClient, StartExecutionCommand, StartSyncExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import type { ResolvedDestinationRecord } from '../../../lib/private/records';
import type { QueuedPacket } from '../../../service/destinations/packet';
import { inputRanges, STEP_FUNCTIONS_MAX_INPUT_BYTES, StepFunctionsDestination } from '../../../service/destinations/step-functions-destination';
import { LoopbackAwsEndpoint } from '../../support/loopback-aws-endpoint';
import { ReceivedRequest, signatureMatches } from '../../support/sigv4';

const ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:packet-counter';
const CREDENTIALS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', sessionToken: 'session-token' };

function packet(tag: string, data = 'aGk='): QueuedPacket {
  const json = JSON.stringify({ Tag: tag, Data: data });
  return { json, bytes: Buffer.byteLength(json), tag, remoteAddress: '203.0.113.5', remotePort: 4000, data, receivedAt: 0 };
}

function record(extra: Partial<ResolvedDestinationRecord> = {}): ResolvedDestinationRecord {
  return { Name: 'counter', Type: 'stepfunctions', Arn: ARN, ...extra };
}

/** Answers Step Functions' JSON protocol by X-Amz-Target. */
class FakeStepFunctions extends LoopbackAwsEndpoint {
  readonly answers = new Map<string, unknown>();

  protected respond({ headers }: ReceivedRequest, res: ServerResponse): void {
    const operation = headers['x-amz-target']?.replace('AWSStepFunctions.', '') ?? '';
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
    res.end(JSON.stringify(this.answers.get(operation) ?? {}));
  }
}

describe('StepFunctionsDestination through the SDK client, against a Step Functions-shaped server', () => {
  const server = new FakeStepFunctions();
  let client: SFNClient;

  beforeAll(async () => {
    await server.start();
    const port = server.port;
    // every name resolves to loopback, so the SDK's own host (with its sync- prefix) reaches the server
    const lookup: LookupFunction = (_host, options, callback) => {
      if ((options as { all?: boolean }).all) (callback as unknown as (e: null, a: Array<{ address: string; family: number }>) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
      else callback(null, '127.0.0.1', 4);
    };
    client = new SFNClient({
      region: 'eu-west-1',
      endpoint: `http://states.eu-west-1.test:${port}`,
      credentials: CREDENTIALS,
      maxAttempts: 1,
      requestHandler: { httpAgent: new Agent({ keepAlive: false, lookup }) },
    });
  });
  afterAll(async () => {
    client.destroy();
    await server.stop();
  });
  beforeEach(() => {
    server.received.length = 0;
    server.answers.clear();
  });

  test('an EXPRESS state machine runs with StartSyncExecution on the sync- host, signed, with {"Messages":[…]} as input; its Replies are the response', async () => {
    server.answers.set('DescribeStateMachine', { stateMachineArn: ARN, name: 'packet-counter', type: 'EXPRESS' });
    server.answers.set('StartSyncExecution', {
      executionArn: `${ARN.replace('stateMachine', 'express')}:e1`,
      status: 'SUCCEEDED',
      output: JSON.stringify({ Replies: [{ Tag: 'a', Data: 'MQo=' }] }),
      startDate: 1_700_000_000,
      stopDate: 1_700_000_001,
    });
    const destination = new StepFunctionsDestination(record(), client);
    const result = await destination.deliver([packet('a'), packet('b')]);
    expect(result).toEqual({ response: { Replies: [{ Tag: 'a', Data: 'MQo=' }] } });

    const [describe, start] = server.received;
    expect(server.received).toHaveLength(2);
    expect(describe.headers['x-amz-target']).toBe('AWSStepFunctions.DescribeStateMachine');
    expect(describe.headers.host).toMatch(/^states\.eu-west-1\.test:\d+$/);
    expect(JSON.parse(describe.body.toString())).toEqual({ stateMachineArn: ARN });

    expect(start.headers['x-amz-target']).toBe('AWSStepFunctions.StartSyncExecution');
    expect(start.headers.host).toMatch(/^sync-states\.eu-west-1\.test:\d+$/);
    expect(start.method).toBe('POST');
    expect(start.headers['content-type']).toBe('application/x-amz-json-1.0');
    const body = JSON.parse(start.body.toString()) as { stateMachineArn: string; input: string };
    expect(body.stateMachineArn).toBe(ARN);
    expect(JSON.parse(body.input)).toEqual({ Messages: [{ Tag: 'a', Data: 'aGk=' }, { Tag: 'b', Data: 'aGk=' }] });
    expect(start.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/\d{8}\/eu-west-1\/states\/aws4_request, SignedHeaders=[^,]*host[^,]*x-amz-security-token/);
    for (const r of server.received) expect(await signatureMatches(r, { region: 'eu-west-1', service: 'states', credentials: CREDENTIALS })).toBe(true);
  });

  test('the signature check can fail: a changed input or host no longer matches', async () => {
    server.answers.set('StartSyncExecution', { status: 'SUCCEEDED', output: 'null' });
    await new StepFunctionsDestination(record({ Arguments: { StateMachineType: 'EXPRESS' } }), client).deliver([packet('a')]);
    const sent = server.received[0];
    const expectation = { region: 'eu-west-1', service: 'states', credentials: CREDENTIALS };
    expect(await signatureMatches(sent, expectation)).toBe(true);
    expect(await signatureMatches({ ...sent, body: Buffer.from(sent.body.toString().replace('aGk=', 'aGl=')) }, expectation)).toBe(false);
    expect(await signatureMatches({ ...sent, headers: { ...sent.headers, host: sent.headers.host.replace('sync-', '') } }, expectation)).toBe(false);
  });

  test('a STANDARD state machine is started with StartExecution (no reply), on the states host', async () => {
    server.answers.set('StartExecution', { executionArn: `${ARN.replace('stateMachine', 'execution')}:e2`, startDate: 1_700_000_000 });
    const result = await new StepFunctionsDestination(record({ Arguments: { StateMachineType: 'STANDARD' } }), client).deliver([packet('a')]);
    expect(result).toEqual({});
    expect(server.received).toHaveLength(1);
    expect(server.received[0].headers['x-amz-target']).toBe('AWSStepFunctions.StartExecution');
    expect(server.received[0].headers.host).toMatch(/^states\.eu-west-1\.test:\d+$/);
    expect(JSON.parse((JSON.parse(server.received[0].body.toString()) as { input: string }).input)).toEqual({ Messages: [{ Tag: 'a', Data: 'aGk=' }] });
  });
});

/** The request an SDK client hands its HTTP handler. */
interface CapturedRequest {
  readonly method: string;
  readonly protocol: string;
  readonly hostname: string;
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

describe('StartSyncExecution on AWS\'s endpoint', () => {
  test('goes to https://sync-states.<region>.amazonaws.com, signed for states', async () => {
    const sent: ReceivedRequest[] = [];
    const client = new SFNClient({
      region: 'eu-west-1',
      credentials: CREDENTIALS,
      maxAttempts: 1,
      // captures the request the SDK would send; nothing leaves the machine
      requestHandler: {
        handle: async (request: CapturedRequest) => {
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(request.headers)) headers[k.toLowerCase()] = v;
          headers.host ??= request.hostname;
          sent.push({ method: request.method, path: request.path, headers, body: Buffer.from(request.body) });
          expect(request.protocol).toBe('https:');
          const body = Readable.from([Buffer.from('{"status":"SUCCEEDED","output":"{\\"Replies\\":[]}"}')]);
          return { response: { statusCode: 200, headers: { 'content-type': 'application/x-amz-json-1.0' }, body } };
        },
      } as never,
    });
    const result = await new StepFunctionsDestination(record({ Arguments: { StateMachineType: 'EXPRESS' } }), client).deliver([packet('a')]);
    expect(result).toEqual({ response: { Replies: [] } });
    expect(sent).toHaveLength(1);
    expect(sent[0].headers.host).toBe('sync-states.eu-west-1.amazonaws.com');
    expect(await signatureMatches(sent[0], { region: 'eu-west-1', service: 'states', credentials: CREDENTIALS })).toBe(true);
  });
});

describe('StepFunctionsDestination delivery', () => {
  const client = new SFNClient({ region: 'eu-west-1' });
  const sfn = mockClient(client);
  beforeEach(() => sfn.reset());

  test('the type is asked once and kept; concurrent batches share the question', async () => {
    sfn.on(DescribeStateMachineCommand).resolves({ type: 'EXPRESS' } as never);
    sfn.on(StartSyncExecutionCommand).resolves({ status: 'SUCCEEDED', output: '{"Replies":[]}' } as never);
    const destination = new StepFunctionsDestination(record(), client);
    await Promise.all([destination.deliver([packet('a')]), destination.deliver([packet('b')])]);
    await destination.deliver([packet('c')]);
    expect(sfn.commandCalls(DescribeStateMachineCommand)).toHaveLength(1);
    expect(sfn.commandCalls(StartSyncExecutionCommand)).toHaveLength(3);
  });

  test('a declared type is not asked for', async () => {
    sfn.on(StartExecutionCommand).resolves({} as never);
    await new StepFunctionsDestination(record({ Arguments: { StateMachineType: 'STANDARD' } }), client).deliver([packet('a')]);
    expect(sfn.commandCalls(DescribeStateMachineCommand)).toHaveLength(0);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });

  test('a qualified ARN is described without its qualifier and executed with it', async () => {
    sfn.on(DescribeStateMachineCommand).resolves({ type: 'STANDARD' } as never);
    sfn.on(StartExecutionCommand).resolves({} as never);
    await new StepFunctionsDestination(record({ Arn: `${ARN}:live` }), client).deliver([packet('a')]);
    expect(sfn.commandCalls(DescribeStateMachineCommand)[0].args[0].input).toEqual({ stateMachineArn: ARN });
    expect(sfn.commandCalls(StartExecutionCommand)[0].args[0].input.stateMachineArn).toBe(`${ARN}:live`);
  });

  test('a failed type lookup fails the batch, names the permission, and is asked again with the next batch', async () => {
    sfn.on(DescribeStateMachineCommand)
      .rejectsOnce(Object.assign(new Error('User is not authorized to perform: states:DescribeStateMachine'), { name: 'AccessDeniedException' }))
      .resolves({ type: 'EXPRESS' } as never);
    sfn.on(StartSyncExecutionCommand).resolves({ status: 'SUCCEEDED', output: 'null' } as never);
    const destination = new StepFunctionsDestination(record(), client);
    await expect(destination.deliver([packet('a')])).rejects.toThrow(
      `Step Functions DescribeStateMachine of ${ARN} failed (AccessDeniedException): User is not authorized to perform: states:DescribeStateMachine `
      + '(the workflow type is detected with states:DescribeStateMachine unless the destination declares Arguments.StateMachineType)',
    );
    expect(await destination.deliver([packet('a')])).toEqual({ response: null });
    expect(sfn.commandCalls(DescribeStateMachineCommand)).toHaveLength(2);
  });

  test.each([
    ['FAILED', { error: 'States.TaskFailed', cause: 'divide by zero' }, 'ended FAILED: error "States.TaskFailed", cause "divide by zero"'],
    ['TIMED_OUT', { error: 'States.Timeout', cause: '' }, 'ended TIMED_OUT: error "States.Timeout", cause ""'],
  ])('a %s execution fails the whole batch with its status, error and cause', async (status, details, text) => {
    sfn.on(StartSyncExecutionCommand).resolves({ status, executionArn: 'arn:aws:states:eu-west-1:123456789012:express:packet-counter:e:1', ...details } as never);
    await expect(new StepFunctionsDestination(record({ Arguments: { StateMachineType: 'EXPRESS' } }), client).deliver([packet('a'), packet('b')]))
      .rejects.toThrow(`Step Functions execution arn:aws:states:eu-west-1:123456789012:express:packet-counter:e:1 ${text}`);
  });

  test('a long cause is cut', async () => {
    sfn.on(StartSyncExecutionCommand).resolves({ status: 'FAILED', error: 'E', cause: 'x'.repeat(5000) } as never);
    const error = await new StepFunctionsDestination(record({ Arguments: { StateMachineType: 'EXPRESS' } }), client).deliver([packet('a')]).catch((e: Error) => e);
    expect((error as Error).message.length).toBeLessThan(500);
    expect((error as Error).message).toContain('…');
  });

  test('an SDK error fails the batch naming it; EXPRESS declared for a STANDARD machine says so', async () => {
    sfn.on(StartSyncExecutionCommand).rejects(Object.assign(new Error('This operation is not supported by this type of state machine'), { name: 'StateMachineTypeNotSupported' }));
    await expect(new StepFunctionsDestination(record({ Arguments: { StateMachineType: 'EXPRESS' } }), client).deliver([packet('a')])).rejects.toThrow(
      'Step Functions StartSyncExecution failed (StateMachineTypeNotSupported): This operation is not supported by this type of state machine '
      + '(StateMachineType EXPRESS is declared, but the state machine is STANDARD)',
    );
    sfn.on(StartExecutionCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    await expect(new StepFunctionsDestination(record({ Arguments: { StateMachineType: 'STANDARD' } }), client).deliver([packet('a')]))
      .rejects.toThrow('Step Functions StartExecution failed (ThrottlingException): Rate exceeded');
  });

  test('an output that is not JSON is a response error; an empty one is no reply', async () => {
    sfn.on(StartSyncExecutionCommand).resolvesOnce({ status: 'SUCCEEDED', output: '<html>' } as never).resolvesOnce({ status: 'SUCCEEDED' } as never);
    const destination = new StepFunctionsDestination(record({ Arguments: { StateMachineType: 'EXPRESS' } }), client);
    expect(await destination.deliver([packet('a')])).toEqual({ responseError: 'Step Functions output of 6 characters is not JSON (allowed: {"Replies":[…]} or null)' });
    expect(await destination.deliver([packet('a')])).toEqual({});
  });

  test('a batch larger than one execution\'s input is sent as several executions, each under the limit, and their Replies routed together', async () => {
    const data = 'A'.repeat(60_000);
    const batch = [0, 1, 2, 3, 4, 5].map((i) => packet(`t${i}`, data));
    sfn.on(StartSyncExecutionCommand).callsFake((input: { input: string }) => {
      const messages = (JSON.parse(input.input) as { Messages: Array<{ Tag: string }> }).Messages;
      return { status: 'SUCCEEDED', output: JSON.stringify({ Replies: messages.map((m) => ({ Tag: m.Tag, Data: 'b2s=' })) }) };
    });
    const result = await new StepFunctionsDestination(record({ Arguments: { StateMachineType: 'EXPRESS' } }), client).deliver(batch);
    const calls = sfn.commandCalls(StartSyncExecutionCommand);
    expect(calls.length).toBe(2);
    for (const call of calls) expect(Buffer.byteLength(call.args[0].input.input!)).toBeLessThanOrEqual(STEP_FUNCTIONS_MAX_INPUT_BYTES);
    expect(result).toEqual({ response: { Replies: batch.map((p) => ({ Tag: p.tag, Data: 'b2s=' })) } });
  });

  test('of several executions, a failed one fails its packets only; unreadable outputs are reported beside the replies', async () => {
    const data = 'A'.repeat(100_000);
    const batch = [0, 1, 2, 3, 4, 5].map((i) => packet(`t${i}`, data));
    sfn.on(StartSyncExecutionCommand)
      .resolvesOnce({ status: 'SUCCEEDED', output: '{"Replies":[{"Tag":"t0","Data":"b2s="}]}' } as never)
      .resolvesOnce({ status: 'FAILED', executionArn: 'e2', error: 'States.TaskFailed', cause: 'boom' } as never)
      .resolvesOnce({ status: 'SUCCEEDED', output: '"text"' } as never);
    const result = await new StepFunctionsDestination(record({ Arguments: { StateMachineType: 'EXPRESS' } }), client).deliver(batch);
    expect(inputRanges(batch)).toEqual([[0, 2], [2, 4], [4, 6]]);
    expect(result.response).toEqual({ Replies: [{ Tag: 't0', Data: 'b2s=' }] });
    expect(result.failed).toEqual([
      { index: 2, reason: 'Step Functions execution e2 ended FAILED: error "States.TaskFailed", cause "boom"' },
      { index: 3, reason: 'Step Functions execution e2 ended FAILED: error "States.TaskFailed", cause "boom"' },
    ]);
    expect(result.responseError).toBe('execution 3 of 3: output must be an object with a Replies array, got string');
  });

  test('when every execution of a split batch fails, the batch fails', async () => {
    const batch = [0, 1, 2].map((i) => packet(`t${i}`, 'A'.repeat(100_000)));
    sfn.on(StartSyncExecutionCommand).resolves({ status: 'TIMED_OUT', executionArn: 'e', error: 'States.Timeout' } as never);
    await expect(new StepFunctionsDestination(record({ Arguments: { StateMachineType: 'EXPRESS' } }), client).deliver(batch))
      .rejects.toThrow('all 2 executions of the batch failed; the first: Step Functions execution e ended TIMED_OUT');
  });

  test('a record without a state machine ARN cannot be built', () => {
    expect(() => new StepFunctionsDestination(record({ Arn: 'arn:aws:lambda:eu-west-1:123456789012:function:f' }), client))
      .toThrow('destination counter: Arn "arn:aws:lambda:eu-west-1:123456789012:function:f" is not a state machine ARN (allowed: arn:<partition>:states:');
  });
});

describe('inputRanges', () => {
  test('packs packets in order up to the limit, counting the {"Messages":[…]} text exactly', () => {
    const batch = [packet('a'), packet('b'), packet('c')];
    const whole = Buffer.byteLength(JSON.stringify({ Messages: batch.map((p) => JSON.parse(p.json)) }));
    expect(inputRanges(batch, whole)).toEqual([[0, 3]]);
    expect(inputRanges(batch, whole - 1)).toEqual([[0, 2], [2, 3]]);
    expect(inputRanges([], 100)).toEqual([]);
  });
});
