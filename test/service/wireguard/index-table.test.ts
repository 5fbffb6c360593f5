/**
 * Receiver indices: random, unique, and retired with their keys.
 */
/* eslint-disable no-bitwise -- test addresses from an index */
import * as nodeCrypto from 'node:crypto';
import { ManualClock, RecordingOutput, standalonePeer } from './helpers';
import { WireGuardDevice } from '../../../service/wireguard/device';
import { IndexTable } from '../../../service/wireguard/index-table';
import { generatePrivateKey, publicKeyOf } from '../../../service/wireguard/keys';
import { messageType, MESSAGE_INITIATION } from '../../../service/wireguard/messages';
import { Keypair } from '../../../service/wireguard/peer';

// The real randomInt unless a test says otherwise.
jest.mock('node:crypto', () => {
  const actual = jest.requireActual<typeof import('node:crypto')>('node:crypto');
  return { ...actual, randomInt: jest.fn(actual.randomInt) };
});

describe('IndexTable', () => {
  test('a handshake index becomes a session index; retiring a keypair forgets only its own index and wipes its keys', () => {
    const table = new IndexTable();
    const peer = standalonePeer();
    const index = table.allocate();
    expect(table.get(index)).toBeUndefined();
    table.setHandshake(index, peer);
    expect(table.get(index)).toEqual({ peer, keypair: undefined });
    const keypair = new Keypair(Buffer.alloc(32, 1), Buffer.alloc(32, 2), index, 7, 0, true);
    table.setSession(index, peer, keypair);
    expect(table.get(index)).toEqual({ peer, keypair });
    // An index already reused for another session is left alone.
    const other = new Keypair(Buffer.alloc(32, 3), Buffer.alloc(32, 4), index, 8, 0, false);
    table.setSession(index, peer, other);
    table.retire(keypair);
    expect(table.get(index)?.keypair).toBe(other);
    expect(keypair.sendKey).toEqual(Buffer.alloc(32));
    expect(keypair.receiveKey).toEqual(Buffer.alloc(32));
    table.retire(other);
    expect(table.get(index)).toBeUndefined();
    table.setHandshake(index, peer);
    table.delete(index);
    expect(table.get(index)).toBeUndefined();
  });

  test('allocate draws again while the drawn index is in use', () => {
    const table = new IndexTable();
    const randomInt = nodeCrypto.randomInt as unknown as jest.Mock;
    randomInt.mockClear().mockReturnValueOnce(5).mockReturnValueOnce(5).mockReturnValueOnce(5).mockReturnValueOnce(9);
    expect(table.allocate()).toBe(5);
    table.setHandshake(5, standalonePeer());
    expect(table.allocate()).toBe(9);
    expect(randomInt).toHaveBeenCalledTimes(4);
  });
});

describe('receiver indexes', () => {
  test('are random 32-bit values, unique across handshakes in progress', () => {
    const clock = new ManualClock();
    const output = new RecordingOutput();
    const peers = Array.from({ length: 300 }, (_, i) => ({
      publicKey: publicKeyOf(generatePrivateKey()),
      allowedIps: [`10.100.${i >> 8}.${i & 255}/32`],
      endpoint: `192.0.2.${(i % 250) + 1}:${10000 + i}`,
    }));
    const device = new WireGuardDevice({ privateKey: generatePrivateKey(), peers, clock, output });
    for (const peer of peers) device.send(peer.publicKey, Buffer.from('x'), { DestinationPort: 9 });
    const senders = output.sent.filter((w) => messageType(w.data) === MESSAGE_INITIATION).map((w) => w.data.readUInt32LE(4));
    expect(senders).toHaveLength(300);
    expect(new Set(senders).size).toBe(300);
    // Spread over the whole 32-bit range rather than counting up.
    expect(Math.max(...senders)).toBeGreaterThan(2 ** 31);
    expect(senders.filter((s, i) => i > 0 && s === senders[i - 1] + 1)).toHaveLength(0);
    device.close();
  });
});
