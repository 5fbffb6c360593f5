import { buildPacket, isoTime } from '../../../service/ingress/packet';

describe('isoTime', () => {
  test('gives toISOString for every millisecond, also when times repeat, jump and go back', () => {
    const times = [
      0, 1_700_000_000_000, 1_700_000_000_000, 1_700_000_000_001, 1_700_000_000_999, 1_600_000_000_123, 1_700_000_000_000, 253_402_300_799_999,
    ];
    for (const ms of times) expect(isoTime(ms)).toBe(new Date(ms).toISOString());
  });

  test('packets carry their own receive time', () => {
    const local = { Domain: 'demo', Port: 5000, IpAddress: '198.51.100.1', Protocol: 'udp' as const };
    const at = (ms: number): string =>
      buildPacket({ data: Buffer.from('x'), remoteAddress: '203.0.113.5', remotePort: 4000, receivedAt: ms }, 't', local, 'us-east-1', 'base64').ReceivedAt;
    expect(at(1_700_000_000_000)).toBe('2023-11-14T22:13:20.000Z');
    expect(at(1_700_000_000_000)).toBe('2023-11-14T22:13:20.000Z');
    expect(at(1_700_000_000_250)).toBe('2023-11-14T22:13:20.250Z');
    expect(at(1_700_000_000_000)).toBe('2023-11-14T22:13:20.000Z');
  });
});
