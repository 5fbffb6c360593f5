/**
 * Response streaming against a Lambda-shaped HTTP server on loopback that answers
 * InvokeWithResponseStream with the real event-stream framing (application/vnd.amazon.eventstream:
 * PayloadChunk and InvokeComplete events, encoded with the SDK's own codec). The server holds the
 * rest of the stream back until the first reply has reached the destination's sink: replies are
 * routed as they arrive, not when the invocation ends.
 */
import type { ServerResponse } from 'node:http';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { EventStreamCodec } from '@smithy/core/event-streams';
import { LambdaDestination } from '../../../service/destinations/lambda-destination';
import { DirectLambdaInvoker } from '../../../service/destinations/lambda-invoker';
import type { QueuedPacket } from '../../../service/destinations/packet';
import { LoopbackAwsEndpoint } from '../../support/loopback-aws-endpoint';
import type { ReceivedRequest } from '../../support/sigv4';

const ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:streamer';
const CREDENTIALS = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const codec = new EventStreamCodec((bytes) => Buffer.from(bytes).toString('utf8'), (text) => new Uint8Array(Buffer.from(text, 'utf8')));

function chunkEvent(text: string | Buffer): Uint8Array {
  return codec.encode({
    headers: {
      ':message-type': { type: 'string', value: 'event' },
      ':event-type': { type: 'string', value: 'PayloadChunk' },
      ':content-type': { type: 'string', value: 'application/octet-stream' },
    },
    body: new Uint8Array(typeof text === 'string' ? Buffer.from(text) : text),
  });
}

function completeEvent(fields: Record<string, string> = {}): Uint8Array {
  return codec.encode({
    headers: {
      ':message-type': { type: 'string', value: 'event' },
      ':event-type': { type: 'string', value: 'InvokeComplete' },
      ':content-type': { type: 'string', value: 'application/json' },
    },
    body: new Uint8Array(Buffer.from(JSON.stringify(fields))),
  });
}

/** One step of the answer: frames to write, or a wait for the test's signal. */
type Step = Uint8Array | (() => Promise<void>);

class StreamingLambda extends LoopbackAwsEndpoint {
  steps: Step[] = [];

  protected async respond(_request: ReceivedRequest, res: ServerResponse): Promise<void> {
    res.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amz-executed-version': '$LATEST' });
    for (const step of this.steps) {
      if (step instanceof Uint8Array) res.write(step);
      else await step();
    }
    res.end();
  }
}

function packet(tag: string): QueuedPacket {
  const json = JSON.stringify({ Tag: tag, Data: 'aGk=' });
  return { json, bytes: json.length, tag, remoteAddress: '203.0.113.5', remotePort: 4000, data: 'aGk=', receivedAt: 0 };
}

/** Resolves when `condition` holds (checked every few ms), or rejects after `ms`. */
async function until(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for the streamed reply');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('Lambda response streaming', () => {
  const lambda = new StreamingLambda();
  let endpoint: string;
  const client = (): LambdaClient => new LambdaClient({ region: 'eu-west-1', endpoint, credentials: CREDENTIALS, maxAttempts: 1 });

  beforeAll(async () => {
    endpoint = await lambda.start();
  });
  afterAll(() => lambda.stop());
  beforeEach(() => {
    lambda.received.length = 0;
  });

  test('each streamed reply reaches the sink while the stream is still open', async () => {
    const replies: unknown[] = [];
    const invalid: string[] = [];
    let firstBeforeRest = false;
    lambda.steps = [
      chunkEvent('{"Tag":"a","Data":"b25l"}\n{"Tag":"b",'),
      async () => {
        await until(() => replies.length === 1);
        firstBeforeRest = true;
      },
      chunkEvent('"Data":"dHdv"}\n'),
      chunkEvent('{"Tag": broken}\n{"Tag":"c","Data":"dGhyZWU="}'),
      completeEvent(),
    ];
    const destination = new LambdaDestination({ Name: 'stream', Type: 'lambda', Arn: ARN, Arguments: { UseResponseStreaming: true, TenantId: 'blue' } }, new DirectLambdaInvoker(client()));
    const result = await destination.deliver([packet('a'), packet('b')], { reply: (entry) => replies.push(entry), invalid: (reason) => invalid.push(reason) });

    expect(firstBeforeRest).toBe(true);
    expect(result).toEqual({});
    expect(replies).toEqual([{ Tag: 'a', Data: 'b25l' }, { Tag: 'b', Data: 'dHdv' }, { Tag: 'c', Data: 'dGhyZWU=' }]);
    expect(invalid).toEqual([expect.stringMatching(/^streamed value 3 is not JSON/)]);

    const [request] = lambda.received;
    expect(request.path).toBe('/2021-11-15/functions/arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Astreamer/response-streaming-invocations');
    expect(request.headers['x-amz-invocation-type']).toBe('RequestResponse');
    expect(request.headers['x-amz-tenant-id']).toBe('blue');
    expect(request.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE\/\d{8}\/eu-west-1\/lambda\/aws4_request, SignedHeaders=[^,]*x-amz-tenant-id/);
    expect(JSON.parse(request.body.toString())).toEqual({ Messages: [{ Tag: 'a', Data: 'aGk=' }, { Tag: 'b', Data: 'aGk=' }] });
  });

  test('a buffered {"Replies":[…]} answer, split across chunks, is routed entry by entry', async () => {
    const replies: unknown[] = [];
    lambda.steps = [chunkEvent('{"Replies":[{"Tag":"a","Da'), chunkEvent('ta":"b2s="},null,{"Tag":"b","Data":"b2s="}]}'), completeEvent()];
    const destination = new LambdaDestination({ Name: 'stream', Type: 'lambda', Arn: ARN, Arguments: { UseResponseStreaming: true } }, new DirectLambdaInvoker(client()));
    await destination.deliver([packet('a')], { reply: (entry) => replies.push(entry), invalid: () => undefined });
    expect(replies).toEqual([{ Tag: 'a', Data: 'b2s=' }, null, { Tag: 'b', Data: 'b2s=' }]);
    expect(lambda.received[0].headers['x-amz-tenant-id']).toBeUndefined();
  });

  test('without a sink, the streamed replies come back as the response', async () => {
    lambda.steps = [chunkEvent('{"Tag":"a","Data":"b2s="}'), completeEvent()];
    const destination = new LambdaDestination({ Name: 'stream', Type: 'lambda', Arn: ARN, Arguments: { UseResponseStreaming: true } }, new DirectLambdaInvoker(client()));
    expect(await destination.deliver([packet('a')])).toEqual({ response: { Replies: [{ Tag: 'a', Data: 'b2s=' }] } });
  });

  test('a function error in InvokeComplete fails the batch after the replies already sent', async () => {
    const replies: unknown[] = [];
    lambda.steps = [chunkEvent('{"Tag":"a","Data":"b2s="}\n'), completeEvent({ ErrorCode: 'Unhandled', ErrorDetails: 'TypeError: x is undefined' })];
    const destination = new LambdaDestination({ Name: 'stream', Type: 'lambda', Arn: ARN, Arguments: { UseResponseStreaming: true } }, new DirectLambdaInvoker(client()));
    await expect(destination.deliver([packet('a')], { reply: (entry) => replies.push(entry), invalid: () => undefined }))
      .rejects.toThrow('Lambda function error (Unhandled) in its response stream: TypeError: x is undefined');
    expect(replies).toEqual([{ Tag: 'a', Data: 'b2s=' }]);
  });
});
