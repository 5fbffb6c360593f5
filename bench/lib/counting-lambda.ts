/**
 * A real `LambdaClient`, configured as the gateway configures its own (the SDK's whole middleware stack: serialization, SigV4 signing with
 * placeholder credentials, retries) whose HTTP handler answers in memory instead of calling AWS:
 * every Invoke is answered 200 with an empty payload, and the packets of its
 * `{"Messages":[…]}` payload are counted. Stands for a Lambda destination in throughput runs
 * without putting the function's own work (parsing the event) on the gateway's CPU.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { hotPathClientConfig } from '../../service/aws-clients';
import { handlerStats } from '../fixtures/handler-stats';

/** Each packet's JSON starts with its Tag (DESIGN.md "Inbound packet"). */
const PACKET_START = Buffer.from('{"Tag":"');

/** Packets in an Invoke payload. */
export function countPackets(body: Uint8Array): number {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  let count = 0;
  for (let at = buf.indexOf(PACKET_START); at !== -1; at = buf.indexOf(PACKET_START, at + PACKET_START.length)) count++;
  return count;
}

/** The client; counts go to {@link handlerStats} like the local counting handler's. */
export function countingLambdaClient(region: string): LambdaClient {
  return new LambdaClient({
    ...hotPathClientConfig(region),
    credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'placeholder-for-signing-only' },
    requestHandler: {
      handle: async (request: { body?: unknown }) => {
        const body = request.body;
        const packets = body instanceof Uint8Array ? countPackets(body) : typeof body === 'string' ? countPackets(Buffer.from(body)) : 0;
        handlerStats().record(packets, 0);
        return { response: { statusCode: 200, headers: { 'x-amz-executed-version': '$LATEST' }, body: new Uint8Array(0) } };
      },
    } as never,
  });
}
