import type { FormatterName } from '../../../lib/private/records';
import { isQueuedPacket, packetTemplate, queueDatagram } from '../../../service/destinations/packet';
import { payloadOfPacket } from '../../../service/destinations/packet-payload';

const local = { Domain: 'demo', Port: 5555, IpAddress: '127.0.0.1', Protocol: 'udp' as const };

function queued(data: Buffer, formatter: FormatterName, inner = false) {
  const packet = queueDatagram({
    data,
    remoteAddress: '203.0.113.5',
    remotePort: 4000,
    receivedAt: 0,
    ...(inner ? { inner: { SourceAddress: '10.0.0.2', SourcePort: 1, DestinationAddress: '10.0.0.1', DestinationPort: 2, Version: 4 as const, Protocol: 17 as const } } : {}),
  }, 'tag', packetTemplate(local, 'us-east-1', formatter));
  if (!isQueuedPacket(packet)) throw new Error('not queued');
  return packet;
}

test.each<[FormatterName, Buffer]>([
  ['base64', Buffer.from([0, 1, 0xfe, 0xff])],
  ['hex', Buffer.from([0, 1, 0xfe, 0xff])],
  ['utf8', Buffer.from('hé "Data":"x"} \\ ,"Data":', 'utf8')],
  ['ascii', Buffer.from('a,"Data":"b"}', 'latin1')],
])('the payload is read back from a %s packet', (formatter, data) => {
  expect(payloadOfPacket(queued(data, formatter), formatter)).toEqual(data);
  expect(payloadOfPacket(queued(data, formatter, true), formatter)).toEqual(data);
});

test('a packet whose Data cannot be decoded gives undefined', () => {
  expect(payloadOfPacket({ json: '{"Tag":"t","Data":"zz"}', bytes: 23, tag: 't', remoteAddress: '203.0.113.5', remotePort: 1, data: 'zz', receivedAt: 0 }, 'hex')).toBeUndefined();
});
