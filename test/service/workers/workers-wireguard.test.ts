/**
 * WireGuard sessions on two data-plane workers, in local mode (Node.js 22.12 or later: run
 * `npx -y -p node@22 node node_modules/jest/bin/jest.js test/service/workers`): peers land on the
 * main thread and on the worker thread, each session where the kernel hashed its peer; a push by
 * PeerKey reaches every peer at once, from the worker holding its session, even when its Remote
 * names no flow of the peer's (the worker reported the session to the main thread).
 */
import { createSocket, Socket } from 'node:dgram';
import { resolve } from 'node:path';
import { PublishBatchCommand, SNSClient } from '@aws-sdk/client-sns';
import type { InnerAddressing } from '../../../service/contracts';
import { startLocalService } from '../../../service/local-service';
import type { RunningService } from '../../../service/runtime';
import { WireGuardDevice } from '../../../service/wireguard/device';
import { generatePrivateKey, publicKeyOf } from '../../../service/wireguard/keys';
import type { WireGuardListener } from '../../../service/wireguard/wg-listener';
import { dgramHasReusePort } from '../../../service/workers/worker-count';
import { capturingLogger, eventually, freePort } from '../helpers';
import { RecordingOutput } from '../wireguard/helpers';

const HANDLER = resolve(__dirname, '..', 'fixtures', 'thread-echo-handler.cjs');
const TOPIC = 'arn:aws:sns:us-east-1:000000000000:workers-wg';
const PEERS = 12;
const GATEWAY_TUNNEL = '10.99.0.1';
const GATEWAY_INNER_PORT = 9000;
const PEER_INNER_PORT = 5683;
/** Well below the time a push sent to a worker without the session takes to fail over (a handshake that cannot complete). */
const PUSH_WITHIN_MS = 4_000;

/** A WireGuard peer on a loopback socket, tunnel address 10.99.0.<10 + index>. */
class Peer {
  static async open(index: number, privateKey: string, gatewayKey: string, gatewayPort: number): Promise<Peer> {
    const socket = createSocket('udp4');
    await new Promise<void>((done) => socket.bind(0, '127.0.0.1', () => done()));
    return new Peer(index, privateKey, socket, gatewayKey, gatewayPort);
  }

  readonly publicKey: string;
  readonly output = new RecordingOutput();
  readonly device: WireGuardDevice;

  private constructor(readonly index: number, privateKey: string, readonly socket: Socket, readonly gatewayKey: string, gatewayPort: number) {
    this.publicKey = publicKeyOf(privateKey);
    this.output.onTransmit = (wire) => socket.send(wire.data, wire.port, wire.address);
    this.device = new WireGuardDevice({
      privateKey,
      peers: [{ publicKey: gatewayKey, allowedIps: [`${GATEWAY_TUNNEL}/32`], endpoint: `127.0.0.1:${gatewayPort}` }],
      output: this.output,
      decapsulatedDelivery: true,
    });
    socket.on('message', (msg, rinfo) => this.device.receive(msg, rinfo.address, rinfo.port));
  }

  get tunnelAddress(): string {
    return `10.99.0.${10 + this.index}`;
  }

  get received(): string[] {
    return this.output.delivered.map((d) => d.data.toString());
  }

  send(text: string): void {
    const inner: InnerAddressing = {
      SourceAddress: this.tunnelAddress,
      SourcePort: PEER_INNER_PORT,
      DestinationAddress: GATEWAY_TUNNEL,
      DestinationPort: GATEWAY_INNER_PORT,
      Version: 4,
      Protocol: 17,
    };
    this.device.send(this.gatewayKey, Buffer.from(text), inner);
  }

  async close(): Promise<void> {
    this.device.close();
    await new Promise<void>((done) => this.socket.close(() => done()));
  }
}

const withReusePort = dgramHasReusePort() ? describe : describe.skip;

withReusePort(`WireGuard peers on two data-plane workers${dgramHasReusePort() ? '' : ' (skipped: dgram has no reusePort on this Node.js, before 22.12; CI runs it on Node 22)'}`, () => {
  let service: RunningService;
  let listener: WireGuardListener;
  const peers: Peer[] = [];
  const gatewayPrivate = generatePrivateKey();
  const peerKeys = Array.from({ length: PEERS }, () => generatePrivateKey());

  beforeAll(async () => {
    const port = await freePort();
    service = await startLocalService({
      document: {
        Listeners: [{
          Name: 'spread-wg',
          Protocol: 'wg',
          Port: port,
          BindAddress: '127.0.0.1',
          Formatter: 'base64',
          WireGuard: {
            PrivateKey: gatewayPrivate,
            DecapsulatedDelivery: true,
            Peers: peerKeys.map((key, i) => ({ PublicKey: publicKeyOf(key), AllowedIPs: [`10.99.0.${10 + i}/32`] })),
          },
          Destinations: [{ Name: 'echo', Type: 'local', Module: HANDLER, Batching: { Count: 1, TimeoutInSeconds: 0.01 } }],
        }],
        PacketSources: [{ TopicArn: TOPIC, ListenerName: 'spread-wg' }],
      },
      logger: capturingLogger().logger,
      metricsIntervalSeconds: 0,
      workers: 2,
    });
    listener = service.gateway.get('spread-wg') as WireGuardListener;
    for (let i = 0; i < PEERS; i++) peers.push(await Peer.open(i, peerKeys[i], publicKeyOf(gatewayPrivate), port));
  }, 60_000);

  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close()));
    await service?.stop();
  });

  test('peers land on both workers, and each reply comes back through its own session', async () => {
    expect(service.workers).toBe(2);
    peers.forEach((p) => p.send(`hello ${p.index}`));
    await eventually(() => peers.every((p) => p.received.length >= 1), 15_000, 'a reply to every peer');
    // the handler's thread id tells which worker delivered; the main thread holds the sessions of one worker's peers only
    const heldByMain = new Map<string, boolean[]>();
    for (const p of peers) {
      const [thread, text] = p.received[0].split(':');
      expect(text).toBe(`hello ${p.index}`);
      heldByMain.set(thread, [...(heldByMain.get(thread) ?? []), listener.holdsSession(p.publicKey)]);
    }
    expect(heldByMain.size).toBe(2);
    const groups = [...heldByMain.values()].map((held) => [...new Set(held)]).sort();
    expect(groups).toEqual([[false], [true]]);
  }, 30_000);

  test('a push by PeerKey reaches every peer at once, also those whose session a worker thread holds', async () => {
    const sns = new SNSClient({ endpoint: service.snsUrl, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    try {
      for (let first = 0; first < peers.length; first += 10) {
        const batch = peers.slice(first, first + 10);
        await sns.send(new PublishBatchCommand({
          TopicArn: TOPIC,
          PublishBatchRequestEntries: batch.map((p) => ({
            Id: `p${p.index}`,
            Message: JSON.stringify({
              Messages: [{
                Data: Buffer.from(`push ${p.index}`).toString('base64'),
                // a Remote no worker holds a flow of: only the session finds the peer
                Remote: { Address: '127.0.0.1', Port: 9, PeerKey: p.publicKey },
                Inner: {
                  SourceAddress: GATEWAY_TUNNEL,
                  SourcePort: GATEWAY_INNER_PORT,
                  DestinationAddress: p.tunnelAddress,
                  DestinationPort: PEER_INNER_PORT,
                },
              }],
            }),
          })),
        }));
      }
      const everyPeerPushed = (): boolean => peers.every((p) => p.received.includes(`push ${p.index}`));
      await eventually(everyPeerPushed, PUSH_WITHIN_MS, 'a push to every peer');
    } finally {
      sns.destroy();
    }
  }, 30_000);
});
