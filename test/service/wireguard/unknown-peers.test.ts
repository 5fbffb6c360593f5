/**
 * Peers accepted through AllowUnknownPeers under a flood of valid initiations with fresh keys:
 * half-open strangers are forgotten quickly, one source cannot hold many of them, and a peer that
 * sent transport data keeps its slot.
 */
import { A_ADDRESS, A_PORT, CLIENT_TO_GATEWAY, ManualClock, RecordingOutput } from './helpers';
import { WireGuardDevice, WireGuardDeviceOptions } from '../../../service/wireguard/device';
import { generatePrivateKey } from '../../../service/wireguard/keys';

interface Client {
  readonly device: WireGuardDevice;
  readonly out: RecordingOutput;
}

/** A gateway accepting unknown peers; clients at `address` whose datagrams reach it, and which get its answers when `answered`. */
function setup(options: Partial<WireGuardDeviceOptions> = {}) {
  const clock = new ManualClock();
  const out = new RecordingOutput();
  const gateway = new WireGuardDevice({ privateKey: generatePrivateKey(), allowUnknownPeers: true, clock, output: out, ...options });
  const answered = new Map<string, Client>();
  out.onTransmit = (wire) => answered.get(`${wire.address}:${wire.port}`)?.device.receive(wire.data, A_ADDRESS, A_PORT);
  const clients: Client[] = [];
  const client = (address: string, port: number, answer: boolean): Client => {
    const clientOut = new RecordingOutput();
    const device = new WireGuardDevice({
      privateKey: generatePrivateKey(),
      peers: [{ publicKey: gateway.publicKey, allowedIps: ['0.0.0.0/0'], endpoint: `${A_ADDRESS}:${A_PORT}` }],
      clock,
      output: clientOut,
    });
    clientOut.onTransmit = (wire) => gateway.receive(wire.data, address, port);
    const c = { device, out: clientOut };
    if (answer) answered.set(`${address}:${port}`, c);
    clients.push(c);
    return c;
  };
  const close = (): void => {
    gateway.close();
    clients.forEach((c) => c.device.close());
  };
  return { clock, gateway, out, client, close };
}

/** A stranger's initiation: a client with a fresh key that never hears back. */
function initiate(c: Client, gatewayKey: string): void {
  c.device.send(gatewayKey, Buffer.from('x'), CLIENT_TO_GATEWAY);
}

describe('unknown peers under a flood of fresh keys', () => {
  test('one source cannot hold more than its half-open limit; a real client from elsewhere gets in', () => {
    const { gateway, out, client, close } = setup({ maxUnknownPeers: 100 });
    for (let i = 0; i < 300; i++) initiate(client('203.0.113.66', 10_000 + i, false), gateway.publicKey);
    expect(gateway.peerKeys()).toHaveLength(8);
    expect(out.codes().filter((c) => c === 'RateLimited')).toHaveLength(292);
    expect(out.failures[0].failure.reason).toContain('source 203.0.113.66 already has 8 half-open peers');
    const real = client('198.51.100.9', 40_000, true);
    real.device.send(gateway.publicKey, Buffer.from('hello'), CLIENT_TO_GATEWAY);
    expect(out.delivered.map((d) => d.data.toString())).toEqual(['hello']);
    close();
  });

  test('a flood from many sources fills the cap, and still a real client gets in: the oldest half-open stranger makes room', () => {
    const { gateway, out, client, close } = setup({ maxUnknownPeers: 50 });
    for (let i = 0; i < 400; i++) initiate(client(`198.18.${Math.floor(i / 256)}.${i % 256}`, 1000, false), gateway.publicKey);
    expect(gateway.peerKeys()).toHaveLength(50);
    const real = client('198.51.100.9', 40_000, true);
    real.device.send(gateway.publicKey, Buffer.from('hello'), CLIENT_TO_GATEWAY);
    expect(out.delivered.map((d) => d.data.toString())).toEqual(['hello']);
    expect(out.codes()).not.toContain('RateLimited');
    close();
  });

  test('strangers pushed out at the cap take their timers with them: the timer heap stays near the cap', () => {
    // a load threshold above the flood, so that every initiation is answered rather than met with a cookie
    const { gateway, client, close } = setup({ maxUnknownPeers: 10, handshakeLoadThreshold: 10_000 });
    for (let i = 0; i < 1000; i++) initiate(client(`198.18.${Math.floor(i / 256)}.${i % 256}`, 1000, false), gateway.publicKey);
    expect(gateway.peerKeys()).toHaveLength(10);
    expect(gateway.counters.responsesSent).toBe(1000);
    // each stranger's handshake armed a deadline (its keys' erasure, 540 s on); the evicted ones are gone from the heap
    expect(gateway.pendingTimers).toBeLessThanOrEqual(10);
    expect(gateway.pendingTimers).toBeGreaterThan(0);
    close();
  });

  test('a peer that sent transport data is never pushed out by strangers', () => {
    const { gateway, out, client, clock, close } = setup({ maxUnknownPeers: 3 });
    const real = client('198.51.100.9', 40_000, true);
    real.device.send(gateway.publicKey, Buffer.from('first'), CLIENT_TO_GATEWAY);
    const realKey = out.delivered[0].peerKey;
    for (let i = 0; i < 200; i++) {
      initiate(client(`198.18.0.${i}`, 1000, false), gateway.publicKey);
      clock.advance(100);
    }
    expect(gateway.hasPeer(realKey)).toBe(true);
    real.device.send(gateway.publicKey, Buffer.from('second'), CLIENT_TO_GATEWAY);
    expect(out.delivered.map((d) => d.data.toString())).toEqual(['first', 'second']);
    close();
  });

  test('half-open peers are forgotten after 3 × Rekey-Timeout, freeing their source', () => {
    const { gateway, client, clock, out, close } = setup({ maxHalfOpenPeersPerSource: 2 });
    const strangers = [1, 2, 3].map((port) => client('203.0.113.66', port, false));
    strangers.forEach((s) => initiate(s, gateway.publicKey));
    expect(out.codes()).toEqual(['RateLimited']);
    strangers.forEach((s) => s.device.close()); // no retries
    clock.advance(14_999);
    initiate(client('203.0.113.66', 4, false), gateway.publicKey);
    expect(out.codes()).toEqual(['RateLimited', 'RateLimited']);
    clock.advance(1);
    initiate(client('203.0.113.66', 5, false), gateway.publicKey);
    expect(out.codes()).toEqual(['RateLimited', 'RateLimited']);
    expect(gateway.peerKeys()).toHaveLength(1);
    close();
  });
});
