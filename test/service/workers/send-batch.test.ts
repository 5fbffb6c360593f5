import type { EgressDatagram } from '../../../service/contracts';
import { forEachSend, SendBatch, SendBatchWriter } from '../../../service/workers/send-batch';

const KEY = 'n8yqMU0o9DJGlVQJ0kQ4j6Tq1c1S0m5X2a7G4Kk3aFo=';

function read(batch: SendBatch): Array<{ id: number; listener: string; datagram: EgressDatagram }> {
  const out: Array<{ id: number; listener: string; datagram: EgressDatagram }> = [];
  forEachSend(batch, (id, listener, datagram) => out.push({ id, listener, datagram }));
  return out;
}

/** The batch as the worker receives it: its chunks copied, as a transfer hands over the memory. */
function transferred(writer: SendBatchWriter): SendBatch {
  const { batch, transfer } = writer.finish();
  expect(transfer).toBe(batch.chunks);
  return structuredClone(batch, { transfer: [...transfer] });
}

describe('send batches between the main thread and a data-plane worker', () => {
  test('every field of every datagram arrives as written, in order, across Listeners', () => {
    const writer = new SendBatchWriter();
    const plain: EgressDatagram = { data: Buffer.from('hello'), address: '192.0.2.7', port: 40000 };
    const wireguard: EgressDatagram = {
      data: Buffer.alloc(0),
      address: '2001:db8::1',
      port: 51820,
      peerKey: KEY,
      inner: { SourceAddress: '10.0.0.1', SourcePort: 9000, DestinationAddress: '10.0.0.2', DestinationPort: 65535, Version: 4, Protocol: 17 },
    };
    const keyOnly: EgressDatagram = { data: Buffer.from([0, 255, 7]), address: '198.51.100.1', port: 1, peerKey: KEY };
    const inner6: EgressDatagram = {
      data: Buffer.from('six'),
      address: '203.0.113.9',
      port: 65535,
      inner: { SourceAddress: 'fd00::1', SourcePort: 1, DestinationAddress: 'fd00:1234:5678:9abc:def0:1234:5678:9abc', DestinationPort: 2, Version: 6, Protocol: 17 },
    };
    writer.add(1, 'plain', plain);
    writer.add(2 ** 40, 'wg', wireguard);
    writer.add(3, 'wg', keyOnly);
    writer.add(4, 'plain', inner6);

    const batch = transferred(writer);
    expect(batch.count).toBe(4);
    expect(batch.listeners).toEqual(['plain', 'wg']);
    const sends = read(batch);
    expect(sends.map((s) => [s.id, s.listener])).toEqual([[1, 'plain'], [2 ** 40, 'wg'], [3, 'wg'], [4, 'plain']]);
    expect(sends.map((s) => s.datagram)).toEqual([
      { ...plain, peerKey: undefined, inner: undefined },
      wireguard,
      { ...keyOnly, inner: undefined },
      { ...inner6, peerKey: undefined },
    ]);
  });

  test('datagrams from one byte to 65,507 bytes, hundreds in a batch, keep their bytes; the batch takes few chunks', () => {
    const writer = new SendBatchWriter();
    const sizes = [1, 64, 1200, 65_507, ...Array.from({ length: 500 }, (_, i) => 1 + ((i * 37) % 1500))];
    const datagrams = sizes.map((size, i) => ({ data: Buffer.alloc(size, i % 251), address: '127.0.0.1', port: 1000 + (i % 16) }));
    datagrams.forEach((d, i) => writer.add(i, 'l', d));

    const batch = transferred(writer);
    expect(batch.chunks.length).toBeLessThan(20);
    const sends = read(batch);
    expect(sends).toHaveLength(datagrams.length);
    sends.forEach((s, i) => {
      expect(s.id).toBe(i);
      expect(s.datagram.port).toBe(datagrams[i].port);
      expect(s.datagram.data.equals(datagrams[i].data)).toBe(true);
    });
  });

  test('the batch holds copies: the caller\'s buffer may be reused once the datagram is added', () => {
    const writer = new SendBatchWriter();
    const data = Buffer.from('first');
    writer.add(1, 'l', { data, address: '192.0.2.1', port: 7 });
    data.write('XXXXX');
    expect(read(transferred(writer))[0].datagram.data.toString()).toBe('first');
  });

  test('a text too long for the batch is refused, naming it, and leaves the batch as it was', () => {
    const writer = new SendBatchWriter();
    writer.add(1, 'l', { data: Buffer.from('a'), address: '192.0.2.1', port: 7 });
    expect(() => writer.add(2, 'l', { data: Buffer.from('b'), address: 'x'.repeat(256), port: 7 }))
      .toThrow('address of 256 characters cannot be routed to a data-plane worker (at most 255)');
    expect(() => writer.add(3, 'l', { data: Buffer.from('c'), address: '192.0.2.1', port: 7, peerKey: 'k'.repeat(300) }))
      .toThrow('peer key of 300 characters');
    writer.add(4, 'l', { data: Buffer.from('d'), address: '192.0.2.1', port: 8 });
    expect(read(transferred(writer)).map((s) => [s.id, s.datagram.data.toString()])).toEqual([[1, 'a'], [4, 'd']]);
  });

  test('a batch that runs past its chunk is refused at the entry that does, after the ones before it', () => {
    const writer = new SendBatchWriter();
    writer.add(1, 'l', { data: Buffer.from('a'), address: '192.0.2.1', port: 7 });
    const { batch } = writer.finish();
    const visited: number[] = [];
    const visit = (id: number): number => visited.push(id);
    expect(() => forEachSend({ ...batch, ends: [batch.ends[0] + 3] }, visit)).toThrow(/^malformed send batch: chunk 0 runs past its end at byte \d+$/);
    expect(visited).toEqual([1]);
    expect(() => forEachSend({ ...batch, ends: [batch.chunks[0].byteLength + 1] }, visit)).toThrow('malformed send batch');
    expect(() => forEachSend({ ...batch, listeners: [] }, visit)).toThrow('malformed send batch');
    const badFlags = batch.chunks[0].slice(0);
    new Uint8Array(badFlags)[12] = 9;
    expect(() => forEachSend({ ...batch, chunks: [badFlags] }, visit)).toThrow('malformed send batch');
  });

  test('an empty writer gives an empty batch', () => {
    expect(read(transferred(new SendBatchWriter()))).toEqual([]);
  });
});
