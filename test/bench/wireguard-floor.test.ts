/**
 * The WireGuard floor loop of the benchmark seals with the AEAD the gateway's devices use, into
 * transport messages a WireGuard peer with the session key opens.
 */
import { FLOOR_RECEIVER_INDEX, floorSealer } from '../../bench/lib/wireguard-floor';
import { writeCounterNonce } from '../../service/wireguard/crypto';
import { parseInnerPacket } from '../../service/wireguard/inner-packet';
import { TRANSPORT_HEADER_LENGTH } from '../../service/wireguard/messages';
import { defaultTransportAead, NODE_TRANSPORT_AEAD, TransportAead } from '../../service/wireguard/transport-aead';

const KEY = Buffer.alloc(32, 9);

function open(datagram: Buffer, counter: number): Buffer | undefined {
  return NODE_TRANSPORT_AEAD.open(KEY, writeCounterNonce(Buffer.alloc(12), counter), datagram.subarray(TRANSPORT_HEADER_LENGTH));
}

describe('WireGuard floor sealer', () => {
  test('seals with the process-wide AEAD of the gateway\'s devices unless given one', () => {
    expect(floorSealer().aead).toBe(defaultTransportAead().aead);
  });

  test('each payload becomes a transport message of the next counter holding it in an IPv4/UDP packet, padded to 16 bytes', () => {
    const sealer = floorSealer({ key: KEY });
    for (const [counter, size] of [[0, 64], [1, 1200], [2, 3]]) {
      const payload = Buffer.alloc(size, counter + 1);
      const datagram = sealer.seal(payload);
      expect(datagram.readUInt32LE(0)).toBe(4);
      expect(datagram.readUInt32LE(4)).toBe(FLOOR_RECEIVER_INDEX);
      expect(Number(datagram.readBigUInt64LE(8))).toBe(counter);
      const plaintext = open(datagram, counter);
      expect(plaintext).toBeDefined();
      expect(plaintext!.length % 16).toBe(0);
      const inner = parseInnerPacket(plaintext!);
      expect(typeof inner).toBe('object');
      expect(inner).toMatchObject({ version: 4, sourceAddress: '10.99.0.1', destinationAddress: '10.98.0.2', sourcePort: 40000, destinationPort: 5201 });
      expect((inner as { payload: Buffer }).payload.equals(payload)).toBe(true);
    }
  });

  test('seals with the AEAD it is given', () => {
    let seals = 0;
    const counting: TransportAead = {
      implementation: 'node',
      sealInto: (...args) => {
        seals++;
        NODE_TRANSPORT_AEAD.sealInto(...args);
      },
      open: (...args) => NODE_TRANSPORT_AEAD.open(...args),
    };
    const sealer = floorSealer({ aead: counting, key: KEY });
    expect(open(sealer.seal(Buffer.from('x')), 0)).toBeDefined();
    expect(seals).toBe(1);
  });
});
