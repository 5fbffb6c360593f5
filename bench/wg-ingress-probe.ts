/**
 * CPU time per packet of a WireGuard Listener's ingress under a flood (prints only): the Listener
 * with a counting sink in this process, and in a child process a client built from the service's
 * own device that completes one handshake with it, seals `--packets` transport messages ahead of
 * time (consecutive counters, so none is a replay) and sends them as fast as its socket allows, in
 * bursts of 64 per event-loop turn from the address of its handshake. Sealing ahead keeps the
 * sender cheaper than the receiver, as the raw dgram sender is for the plain ingress scenario, so
 * the Listener is read under a flood. Each round reports the Listener process's CPU time ÷ packets
 * delivered to the sink, and the loss.
 *
 *   npx tsx bench/wg-ingress-probe.ts [--size 64] [--rounds 5] [--packets 200000]
 */
import { fork } from 'node:child_process';
import { createSocket, Socket } from 'node:dgram';
import { positiveIntegerOption } from './lib/cli-option';
import type { InboundDatagram, IngressSink, InnerAddressing, ListenerHandle } from '../service/contracts';
import { EgressPolicy } from '../service/egress/egress-policy';
import { FlowTable } from '../service/egress/flow-table';
import { WireGuardDevice } from '../service/wireguard/device';
import { generatePrivateKey, publicKeyOf } from '../service/wireguard/keys';
import { WireGuardListener } from '../service/wireguard/wg-listener';

const CLIENT_INNER: InnerAddressing = {
  SourceAddress: '10.99.0.2',
  SourcePort: 5683,
  DestinationAddress: '10.99.0.1',
  DestinationPort: 9000,
  Version: 4,
  Protocol: 17,
};
const BURST = 64;

/** What the sender child needs: the Listener's key and port, its own key, the datagrams to send. */
interface SenderStart {
  readonly gatewayKey: string;
  readonly gatewayPort: number;
  readonly privateKey: string;
  readonly size: number;
  readonly packets: number;
}

/** The child: handshake, seal ahead, then send each round's messages on request. */
async function sender(start: SenderStart): Promise<void> {
  const socket: Socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  let sealed: Buffer[] | undefined;
  let established = false;
  const device = new WireGuardDevice({
    privateKey: start.privateKey,
    peers: [{ publicKey: start.gatewayKey, allowedIps: ['10.99.0.1/32'], endpoint: `127.0.0.1:${start.gatewayPort}` }],
    decapsulatedDelivery: true,
    output: {
      transmit: (data, address, port, done) => {
        if (sealed) {
          sealed.push(Buffer.from(data));
          done?.(undefined);
        } else {
          socket.send(data, port, address, (err) => done?.(err ? { code: 'SendFailed', reason: err.message } : undefined));
        }
      },
      deliver: () => undefined,
      reportFailure: () => undefined,
      handshakeCompleted: () => {
        established = true;
      },
    },
  });
  socket.on('message', (msg, rinfo) => device.receive(msg, rinfo.address, rinfo.port));
  device.send(start.gatewayKey, Buffer.from('hello'), CLIENT_INNER);
  while (!established) await new Promise((resolve) => setTimeout(resolve, 5));
  await new Promise((resolve) => setTimeout(resolve, 50));
  process.on('message', (request: { round: number }) => {
    sealed = [];
    const payload = Buffer.alloc(start.size, 0x61);
    for (let i = 0; i < start.packets; i++) device.send(start.gatewayKey, payload, CLIENT_INNER);
    const messages = sealed;
    sealed = undefined;
    let next = 0;
    const burst = (): void => {
      for (let i = 0; i < BURST && next < messages.length; i++) socket.send(messages[next++], start.gatewayPort, '127.0.0.1');
      if (next < messages.length) setImmediate(burst);
      else process.send!({ round: request.round, sent: messages.length });
    };
    burst();
  });
  process.send!({ ready: true });
}

class CountingSink implements IngressSink {
  public count = 0;
  public accept(_listener: ListenerHandle, _datagram: InboundDatagram): void {
    this.count++;
  }
}

async function main(): Promise<void> {
  if (process.argv[2] === 'sender') {
    process.once('message', (start: SenderStart) => void sender(start));
    return;
  }
  const size = positiveIntegerOption('size', 64);
  const rounds = positiveIntegerOption('rounds', 5);
  const packets = positiveIntegerOption('packets', 200_000);
  const gatewayPrivate = generatePrivateKey();
  const clientPrivate = generatePrivateKey();
  const sink = new CountingSink();
  const listener = new WireGuardListener({
    record: {
      Name: 'wg-probe',
      Protocol: 'wg',
      Port: 0,
      BindAddress: '127.0.0.1',
      Destinations: [],
      WireGuard: { PrivateKey: gatewayPrivate, DecapsulatedDelivery: true, Peers: [{ PublicKey: publicKeyOf(clientPrivate), AllowedIPs: ['10.99.0.2/32'] }] },
    },
    sink,
    logger: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined } as never,
    flows: new FlowTable(),
    defaultBindAddress: '127.0.0.1',
    egress: new EgressPolicy({ allowLoopback: true }),
  });
  await listener.start();
  const child = fork(__filename, ['sender'], { stdio: 'inherit' });
  const next = <T>(): Promise<T> => new Promise((resolve) => child.once('message', (m) => resolve(m as T)));
  const ready = next<{ ready: boolean }>();
  child.send({ gatewayKey: listener.publicKey!, gatewayPort: listener.port, privateKey: clientPrivate, size, packets } satisfies SenderStart);
  await ready;
  const perPacket: number[] = [];
  for (let round = 0; round <= rounds; round++) {
    sink.count = 0;
    const done = next<{ sent: number }>();
    child.send({ round });
    // the child seals first: measure from the first datagram delivered
    while (sink.count === 0) await new Promise((resolve) => setImmediate(resolve));
    const countAtStart = sink.count;
    const before = process.cpuUsage();
    const { sent } = await done;
    for (let last = -1; sink.count !== last;) {
      last = sink.count;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const used = process.cpuUsage(before);
    const cpuUs = (used.user + used.system) / (sink.count - countAtStart);
    if (round > 0) perPacket.push(cpuUs); // round 0 warms up
    const lossPercent = +(100 * (1 - sink.count / sent)).toFixed(2);
    console.log(JSON.stringify({ round, size, sent, delivered: sink.count, lossPercent, cpuUsPerPacket: +cpuUs.toFixed(3) }));
  }
  const sorted = [...perPacket].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)];
  console.log(JSON.stringify({ size, medianCpuUsPerPacket: +median.toFixed(3), bestCpuUsPerPacket: +sorted[0].toFixed(3) }));
  child.kill();
  await listener.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
