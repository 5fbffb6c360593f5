import { execFileSync } from 'node:child_process';
import { createSocket, Socket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { KernelDropMonitor, parseSnmp6RcvbufErrors, parseSnmpRcvbufErrors, parseSocketDrops } from '../../../service/observability/kernel-drops';

class Counting {
  readonly calls: Array<{ metric: string; value: number; dimensions?: Readonly<Record<string, string>> }> = [];
  increment(metric: string, value = 1, dimensions?: Readonly<Record<string, string>>): void {
    this.calls.push({ metric, value, dimensions });
  }
  observe(): void {}
}

describe('kernel counter files', () => {
  test('RcvbufErrors of /proc/net/snmp and Udp6RcvbufErrors of /proc/net/snmp6', () => {
    const snmp = [
      'Tcp: RtoAlgorithm RtoMin',
      'Tcp: 1 200',
      'Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors',
      'Udp: 13941 38 77 11752 71 0 0 0 0',
      'UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors InCsumErrors IgnoredMulti MemErrors',
      'UdpLite: 0 0 0 0 5 0 0 0 0',
    ].join('\n');
    expect(parseSnmpRcvbufErrors(snmp)).toBe(71);
    expect(parseSnmpRcvbufErrors('Tcp: a\nTcp: 1\n')).toBeUndefined();
    expect(parseSnmp6RcvbufErrors('Udp6InErrors                    \t3\nUdp6RcvbufErrors                \t12\nUdpLite6RcvbufErrors 9\n')).toBe(12);
  });

  test('drops per local port of /proc/net/udp, summed over sockets of one port', () => {
    const udp = [
      '   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops            ',
      '  123: 0100007F:15B3 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4242 2 0000000000000000 17       ',
      '  124: 00000000:15B3 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4243 2 0000000000000000 3        ',
      '  125: 00000000:CA6C 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4244 2 0000000000000000 0        ',
    ].join('\n');
    expect(parseSocketDrops(udp)).toEqual(new Map([[5555, 20], [51820, 0]]));
  });
});

const linux = existsSync('/proc/net/udp') && existsSync('/proc/net/snmp');

(linux ? test : test.skip)('a flood into a full receive buffer is reported per task and for the Listener that owns the port', async () => {
  const socket: Socket = createSocket({ type: 'udp4', recvBufferSize: 2048 });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  const port = socket.address().port;
  const metrics = new Counting();
  const monitor = new KernelDropMonitor({ metrics, listeners: () => [{ name: 'flooded', port }], intervalMs: 60_000 });
  try {
    monitor.start();
    // Another process floods the socket; this one is blocked (execFileSync), so nothing reads the buffer.
    execFileSync(process.execPath, ['-e', `
      const s = require('node:dgram').createSocket('udp4');
      const payload = Buffer.alloc(512);
      let n = 0;
      const burst = () => { for (let i = 0; i < 200; i++) s.send(payload, ${port}, '127.0.0.1'); if (++n < 20) setImmediate(burst); else setTimeout(() => s.close(), 50); };
      burst();
    `]);
    monitor.sample();
    const task = metrics.calls.filter((c) => c.metric === 'ReceiveBufferDrops' && c.dimensions === undefined);
    const listener = metrics.calls.filter((c) => c.metric === 'ReceiveBufferDrops' && c.dimensions?.Listener === 'flooded');
    expect(listener.reduce((n, c) => n + c.value, 0)).toBeGreaterThan(0);
    expect(task.reduce((n, c) => n + c.value, 0)).toBeGreaterThanOrEqual(listener.reduce((n, c) => n + c.value, 0));
  } finally {
    monitor.stop();
    await new Promise<void>((resolve) => socket.close(() => resolve()));
  }
});
