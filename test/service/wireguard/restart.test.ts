/**
 * After a restart the gateway knows no earlier initiation timestamp of a peer: a replayed
 * initiation is answered but must not move the peer's endpoint, and failures of sends to a peer
 * name where the gateway sent (its endpoint), not the address a publisher asked for.
 */
import { A_ADDRESS, A_PORT, B_ADDRESS, B_PORT, CLIENT_TO_GATEWAY, devicePair, ManualClock, RecordingOutput } from './helpers';
import type { Failure } from '../../../service/contracts';
import { WireGuardDevice } from '../../../service/wireguard/device';
import { generatePrivateKey, publicKeyOf } from '../../../service/wireguard/keys';

const ATTACKER = '203.0.113.99';

describe('a replayed initiation after a restart', () => {
  test('is answered where it came from, but the endpoint stays until transport data proves the keys', () => {
    const clock = new ManualClock();
    const gatewayPrivate = generatePrivateKey();
    const clientPrivate = generatePrivateKey();
    const clientKey = publicKeyOf(clientPrivate);
    const peers = [{ publicKey: clientKey, allowedIps: ['10.99.0.2/32'], endpoint: `${B_ADDRESS}:${B_PORT}` }];
    const clientOut = new RecordingOutput();
    const client = new WireGuardDevice({
      privateKey: clientPrivate,
      peers: [{ publicKey: publicKeyOf(gatewayPrivate), allowedIps: ['10.99.0.1/32'], endpoint: `${A_ADDRESS}:${A_PORT}` }],
      clock,
      output: clientOut,
    });
    client.send(publicKeyOf(gatewayPrivate), Buffer.from('x'), CLIENT_TO_GATEWAY);
    const captured = clientOut.sent[0].data; // the client's initiation, recorded by an eavesdropper

    // The gateway restarts: a new device with the same key and peers, no timestamps.
    const out = new RecordingOutput();
    const gateway = new WireGuardDevice({ privateKey: gatewayPrivate, peers, clock, output: out });
    expect(gateway.receive(captured, ATTACKER, 6666)).toBe('handshake');
    expect(out.sent.map((w) => w.address)).toEqual([ATTACKER]);
    expect(gateway.peerStatus(clientKey)?.endpoint).toEqual({ address: B_ADDRESS, port: B_PORT });

    // A packet for the peer goes to its endpoint, and a failure names that endpoint.
    const results: Array<Failure | undefined> = [];
    gateway.send(clientKey, Buffer.from('to the client'), { DestinationAddress: '10.99.0.2', DestinationPort: 5683 }, (f) => results.push(f));
    expect(out.sent.slice(1).map((w) => `${w.address}:${w.port}`)).toEqual([`${B_ADDRESS}:${B_PORT}`]);
    clock.advance(10_000);
    expect(results).toEqual([expect.objectContaining({ code: 'NoSession', target: `${B_ADDRESS}:${B_PORT}` })]);
    gateway.close();
    client.close();
  });

  test('a real client that moved still roams: its transport data under the new keys moves the endpoint', () => {
    const pair = devicePair({ aKnowsEndpoint: true });
    const moved = '198.51.100.77';
    pair.bOut.onTransmit = (wire) => pair.a.receive(wire.data, moved, 41000);
    pair.aOut.onTransmit = (wire) => pair.b.receive(wire.data, A_ADDRESS, A_PORT);
    pair.b.send(pair.aKey, Buffer.from('hello from afar'), CLIENT_TO_GATEWAY);
    expect(pair.aOut.delivered.map((d) => d.data.toString())).toEqual(['hello from afar']);
    expect(pair.a.peerStatus(pair.bKey)?.endpoint).toEqual({ address: moved, port: 41000 });
    pair.a.close();
    pair.b.close();
  });
});
