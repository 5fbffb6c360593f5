/**
 * Peer preshared keys carried by environment variables (`PresharedKeyEnvironmentVariable`), the
 * way the constructs pass them to the task as ECS secrets.
 */
import { createSocket, Socket } from 'node:dgram';
import type { ListenerRecord, WireGuardRecord } from '../../../lib/private/records';
import type { InboundDatagram, IngressSink, ListenerHandle } from '../../../service/contracts';
import { EgressPolicy } from '../../../service/egress/egress-policy';
import { WireGuardDevice } from '../../../service/wireguard/device';
import { generatePrivateKey, publicKeyOf } from '../../../service/wireguard/keys';
import { WireGuardListener } from '../../../service/wireguard/wg-listener';
import { eventually, silentLogger } from '../helpers';
import { CLIENT_TO_GATEWAY, RecordingOutput } from './helpers';

const gatewayPrivate = generatePrivateKey();
const clientPrivate = generatePrivateKey();
const clientKey = publicKeyOf(clientPrivate);
/** Any 32 bytes in base64 are a preshared key. */
const psk = Buffer.alloc(32, 7).toString('base64');

function record(wg: WireGuardRecord): ListenerRecord {
  return { Name: 'wg-psk', Protocol: 'wg', Port: 0, BindAddress: '127.0.0.1', Destinations: [], WireGuard: { PrivateKey: gatewayPrivate, DecapsulatedDelivery: true, ...wg } };
}

function listenerWith(wg: WireGuardRecord, env: NodeJS.ProcessEnv, sink: IngressSink = { accept: () => undefined }): WireGuardListener {
  return new WireGuardListener({
    record: record(wg),
    sink,
    logger: silentLogger,
    defaultBindAddress: '127.0.0.1',
    egress: new EgressPolicy({ allowLoopback: true }),
    env,
  });
}

const peerFromEnvironment = { PublicKey: clientKey, AllowedIPs: ['10.99.0.2/32'], PresharedKeyEnvironmentVariable: 'PACKET_GATEWAY_WG_PSK_TEST_0' };

describe('preshared keys from environment variables', () => {
  let listener: WireGuardListener | undefined;
  let socket: Socket | undefined;
  let client: WireGuardDevice | undefined;

  afterEach(async () => {
    client?.close();
    client = undefined;
    if (socket) await new Promise<void>((resolve) => socket!.close(() => resolve()));
    socket = undefined;
    await listener?.close();
    listener = undefined;
  });

  test('a peer using the preshared key from the variable completes the handshake and its datagram arrives', async () => {
    const received: InboundDatagram[] = [];
    listener = listenerWith({ Peers: [peerFromEnvironment] }, { PACKET_GATEWAY_WG_PSK_TEST_0: `${psk}\n` }, {
      accept: (_l: ListenerHandle, d: InboundDatagram) => received.push(d),
    });
    await listener.start();
    expect(listener.wireGuard?.presharedKeyOf(clientKey)).toBe(psk);

    // The client mixes the same preshared key into its handshake: with any other key the handshake could not complete.
    const s = createSocket('udp4');
    socket = s;
    await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', () => resolve()));
    const output = new RecordingOutput();
    output.onTransmit = (wire) => s.send(wire.data, wire.port, wire.address);
    const device = new WireGuardDevice({
      privateKey: clientPrivate,
      peers: [{ publicKey: listener.publicKey!, allowedIps: ['10.99.0.1/32'], presharedKey: psk, endpoint: `127.0.0.1:${listener.port}` }],
      output,
    });
    client = device;
    s.on('message', (msg, rinfo) => device.receive(msg, rinfo.address, rinfo.port));
    device.send(listener.publicKey!, Buffer.from('with psk'), CLIENT_TO_GATEWAY);

    await eventually(() => received.length === 1, 5000, 'the datagram of the peer with a preshared key');
    expect(received[0]).toMatchObject({ peerKey: clientKey });
    expect(received[0].data.toString()).toBe('with psk');
  });

  test('a missing variable fails the start naming the variable; a malformed value is never echoed', async () => {
    listener = listenerWith({ Peers: [peerFromEnvironment] }, {});
    await expect(listener.start()).rejects.toThrow(/PACKET_GATEWAY_WG_PSK_TEST_0 \(WireGuard\.Peers\[0\]\.PresharedKeyEnvironmentVariable\) is not set/);
    await listener.close();

    listener = listenerWith({ Peers: [peerFromEnvironment] }, { PACKET_GATEWAY_WG_PSK_TEST_0: 'not-a-key-but-secret' });
    const error = await listener.start().then(() => undefined, (e: Error) => e);
    expect(error?.message).toMatch(/PACKET_GATEWAY_WG_PSK_TEST_0 does not hold a preshared key \(44 characters of base64\)/);
    expect(error?.message).not.toContain('not-a-key-but-secret');
  });

  test('peer updates read the variable again; an update naming an unset variable is refused, not thrown', async () => {
    const other = Buffer.alloc(32, 9).toString('base64');
    listener = listenerWith({ Peers: [] }, { PACKET_GATEWAY_WG_PSK_TEST_0: psk, PACKET_GATEWAY_WG_PSK_TEST_1: other });
    await listener.start();
    expect(listener.wireGuard?.hasPeer(clientKey)).toBe(false);

    expect(listener.update(record({ Peers: [peerFromEnvironment] }))).toBe(true);
    expect(listener.wireGuard?.presharedKeyOf(clientKey)).toBe(psk);
    expect(listener.update(record({ Peers: [{ ...peerFromEnvironment, PresharedKeyEnvironmentVariable: 'PACKET_GATEWAY_WG_PSK_TEST_1' }] }))).toBe(true);
    expect(listener.wireGuard?.presharedKeyOf(clientKey)).toBe(other);
    expect(listener.update(record({ Peers: [{ ...peerFromEnvironment, PresharedKeyEnvironmentVariable: 'UNSET_VARIABLE' }] }))).toBe(false);
    expect(listener.wireGuard?.presharedKeyOf(clientKey)).toBe(other);
  });
});
