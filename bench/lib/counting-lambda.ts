/**
 * A real `LambdaClient`, configured as the gateway configures its own (the SDK's whole middleware stack: serialization, SigV4 signing with
 * placeholder credentials, retries) whose HTTP handler answers in memory instead of calling AWS:
 * every Invoke is answered 200 with an empty payload, and the packets of its
 * `{"Messages":[…]}` payload are counted. Stands for a Lambda destination in throughput runs
 * without putting the function's own work (parsing the event) on the gateway's CPU.
 *
 * The count is made from the payload itself (never from a header the gateway sets), so it cannot
 * be wrong. It runs in the gateway's process and is charged to its CPU time; {@link countingCpuUsPerPacket}
 * measures what it costs per packet, so a scenario can report the gateway's own work apart from it.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { hotPathClientConfig } from '../../service/aws-clients';
import { handlerStats } from '../fixtures/handler-stats';

/** Each packet's JSON starts with its Tag (DESIGN.md "Inbound packet"); JSON strings escape `"`, so it occurs nowhere else. */
const PACKET_START = Buffer.from('{"Tag":"');

/**
 * Packets in an Invoke payload: one native search per packet over the payload's bytes. It
 * allocates nothing (a latin1 string of the payload, searched with the string search, costs less
 * per call but adds the payload's size to the gateway's young generation at every Invoke).
 */
export function countPackets(body: Uint8Array): number {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  let count = 0;
  for (let at = buf.indexOf(PACKET_START); at !== -1; at = buf.indexOf(PACKET_START, at + PACKET_START.length)) count++;
  return count;
}

/** The last payload counted: what {@link countingCpuUsPerPacket} measures the count on. */
let lastPayload: Uint8Array | undefined;

/**
 * CPU time of counting the last payload, per packet (µs), measured by counting it again for at
 * least `forMs` of CPU time: what the stand-in adds to each packet's CPU time in the gateway's
 * process (the payloads of one trial have one shape). NaN before the first Invoke.
 */
export function countingCpuUsPerPacket(forMs = 20): number {
  const payload = lastPayload;
  if (payload === undefined) return Number.NaN;
  const before = process.cpuUsage();
  let packets = 0;
  let usedUs = 0;
  while (usedUs < forMs * 1000) {
    for (let i = 0; i < 16; i++) packets += countPackets(payload);
    const used = process.cpuUsage(before);
    usedUs = used.user + used.system;
  }
  return packets > 0 ? usedUs / packets : Number.NaN;
}

/** The client; counts go to {@link handlerStats} like the local counting handler's. */
export function countingLambdaClient(region: string): LambdaClient {
  return new LambdaClient({
    ...hotPathClientConfig(region),
    credentials: { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'placeholder-for-signing-only' },
    requestHandler: {
      handle: async (request: { body?: unknown }) => {
        const body = request.body;
        const bytes = body instanceof Uint8Array ? body : typeof body === 'string' ? Buffer.from(body) : undefined;
        const packets = bytes === undefined ? 0 : countPackets(bytes);
        lastPayload = bytes;
        handlerStats().record(packets, 0);
        return { response: { statusCode: 200, headers: { 'x-amz-executed-version': '$LATEST' }, body: new Uint8Array(0) } };
      },
    } as never,
  });
}
