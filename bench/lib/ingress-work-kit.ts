/**
 * The ingress gateway's work above the socket, one round at a time: the benchmark's Listener with
 * its Lambda destination (bench/lib/counting-lambda.ts), fed by calling the Listener's receive
 * callback in bursts of 64 (as the flood sender sends them), a fresh buffer per datagram as the
 * socket hands over. Used by bench/ingress-work.ts (one tree) and bench/ingress-cpu-ab.ts (two
 * trees in one process, alternating).
 */
import type { RemoteInfo } from 'node:dgram';
import { countingCpuUsPerPacket, countingLambdaClient } from './counting-lambda';
import { BENCH_REGION, buildKit, Kit } from './gateway-kit';
import type { ListenerRecord } from '../../lib/private/records';
import { DirectLambdaInvoker } from '../../service/destinations/lambda-invoker';
import { handlerStats } from '../fixtures/handler-stats';

/** Datagrams handed over per event-loop turn. */
export const INGRESS_WORK_BURST = 64;

/** One round's CPU time per packet: all of it, and the counting stand-in's share. */
export interface IngressRound {
  /** Process CPU time ÷ packets counted (µs). */
  readonly cpuUs: number;
  /** The counting stand-in's CPU per packet (µs), measured after the round. */
  readonly standInUs: number;
}

/** A running gateway fed by rounds of datagrams of one size. */
export interface IngressWork {
  readonly kit: Kit;
  round(packets: number): Promise<IngressRound>;
  close(): Promise<void>;
}

/** Starts the benchmark's Listener and Lambda destination for datagrams of `size` bytes. */
export async function startIngressWork(size: number): Promise<IngressWork> {
  const record: ListenerRecord = {
    Name: 'bench',
    Protocol: 'udp',
    Port: 0,
    BindAddress: '127.0.0.1',
    Destinations: [{ Name: 'counting-lambda', Type: 'lambda', Arn: `arn:aws:lambda:${BENCH_REGION}:000000000000:function:bench-counter` }],
  };
  const kit = await buildKit({ listener: record, lambdaInvoker: new DirectLambdaInvoker(countingLambdaClient(BENCH_REGION)) });
  const receive = (kit.listener as unknown as { onMessage: (msg: Buffer, rinfo: RemoteInfo) => void }).onMessage;
  const rinfo: RemoteInfo = { address: '127.0.0.1', port: 40000, family: 'IPv4', size };
  const stats = handlerStats();
  const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  return {
    kit,
    async round(packets: number): Promise<IngressRound> {
      stats.reset();
      const sent = Math.ceil(packets / INGRESS_WORK_BURST) * INGRESS_WORK_BURST;
      const before = process.cpuUsage();
      for (let n = 0; n < sent; n += INGRESS_WORK_BURST) {
        for (let i = 0; i < INGRESS_WORK_BURST; i++) receive(Buffer.allocUnsafeSlow(size), rinfo);
        await turn();
      }
      while (stats.packets < sent) await new Promise((resolve) => setTimeout(resolve, 1));
      const used = process.cpuUsage(before);
      return { cpuUs: (used.user + used.system) / sent, standInUs: countingCpuUsPerPacket() };
    },
    close: () => kit.close(),
  };
}
