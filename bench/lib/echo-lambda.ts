/**
 * An echoing Lambda function in memory, for the reply-latency scenario in AWS mode: a real
 * `LambdaClient`, configured as the gateway configures its own (counting-lambda.ts says what runs),
 * whose HTTP handler answers every Invoke 200 with the function's `{"Replies":[…]}` response built
 * from the `{"Messages":[…]}` it received: one reply per packet, its Tag and its Data (the
 * contract of DESIGN.md "Replies", as bench/fixtures/echo-handler.ts answers in local mode).
 *
 * It runs in the gateway's process, so its work (parsing the event, writing the response) is on
 * the gateway's CPU; the time it takes is recorded per call in {@link handlerStats} like the local
 * echo handler's, so a scenario can tell it apart. Unlike a real HTTP answer, the body is bytes
 * already read (no socket, no stream to collect): what is measured is the gateway's side only.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { PacketBatch, Replies } from '../../lib/handler';
import { hotPathClientConfig } from '../../service/aws-clients';
import { handlerStats } from '../fixtures/handler-stats';

/** The function's response to one Invoke payload (a reply per packet with its Tag and Data), and the packets it answered. */
export function echoReplies(payload: Uint8Array): { readonly answer: Buffer; readonly packets: number } {
  const event = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8')) as PacketBatch;
  const response: Replies = { Replies: event.Messages.map((m) => ({ Tag: m.Tag, Data: m.Data })) };
  return { answer: Buffer.from(JSON.stringify(response)), packets: event.Messages.length };
}

/** The client; each Invoke is recorded in {@link handlerStats} (packets, time spent answering). */
export function echoLambdaClient(region: string): LambdaClient {
  return new LambdaClient({
    ...hotPathClientConfig(region),
    credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'placeholder-for-signing-only' },
    requestHandler: {
      handle: async (request: { body?: unknown }) => {
        const started = performance.now();
        const body = request.body;
        const bytes = body instanceof Uint8Array ? body : Buffer.from(typeof body === 'string' ? body : '');
        const { answer, packets } = echoReplies(bytes);
        handlerStats().record(packets, performance.now() - started);
        return { response: { statusCode: 200, headers: { 'x-amz-executed-version': '$LATEST', 'content-length': String(answer.length) }, body: answer } };
      },
    } as never,
  });
}

/**
 * The same function behind an HTTP server on loopback in this process, and a client that reaches
 * it through the SDK's own HTTP handler (keep-alive connections, response stream collection): the
 * request path of production but for the network. Close the server with the returned `close`.
 */
export async function echoLambdaHttpClient(region: string): Promise<{ readonly client: LambdaClient; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const started = performance.now();
      const { answer, packets } = echoReplies(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
      handlerStats().record(packets, performance.now() - started);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': answer.length, 'x-amz-executed-version': '$LATEST' });
      res.end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const client = new LambdaClient({
    ...hotPathClientConfig(region),
    endpoint: `http://127.0.0.1:${port}`,
    credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'placeholder-for-signing-only' },
  });
  return {
    client,
    close: () => new Promise<void>((resolve) => {
      client.destroy();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
