import { dgramHasReusePort, parseWorkerCount, resolveWorkerCount, vcpuWorkerCount } from '../../../service/workers/worker-count';

describe('data-plane worker count', () => {
  test('defaults to the task\'s vCPUs, within 1–16', () => {
    expect(resolveWorkerCount({ vcpus: 4, nodeVersion: '22.12.0' })).toEqual({ count: 4, requested: 4 });
    expect(vcpuWorkerCount(64)).toBe(16);
    expect(vcpuWorkerCount(1)).toBe(1);
  });

  test('PACKET_GATEWAY_WORKERS wins over the vCPUs; an explicit count wins over both', () => {
    expect(resolveWorkerCount({ env: { PACKET_GATEWAY_WORKERS: '3' }, vcpus: 8, nodeVersion: '22.12.0' }).count).toBe(3);
    expect(resolveWorkerCount({ requested: 2, env: { PACKET_GATEWAY_WORKERS: '3' }, vcpus: 8, nodeVersion: '24.0.0' }).count).toBe(2);
  });

  test('a count outside 1–16 is refused, naming the value and the range', () => {
    expect(() => parseWorkerCount('0')).toThrow('PACKET_GATEWAY_WORKERS must be integer 1–16, got "0"');
    expect(() => parseWorkerCount('two')).toThrow('PACKET_GATEWAY_WORKERS must be integer 1–16, got "two"');
    expect(() => resolveWorkerCount({ requested: 17 })).toThrow('workers must be integer 1–16, got 17');
  });

  test('one worker, saying why, where dgram has no reusePort (Node.js before 22.12)', () => {
    expect(dgramHasReusePort('20.20.2')).toBe(false);
    expect(dgramHasReusePort('22.11.0')).toBe(false);
    expect(dgramHasReusePort('22.12.0')).toBe(true);
    expect(dgramHasReusePort('23.0.0')).toBe(true);
    expect(resolveWorkerCount({ requested: 4, nodeVersion: '20.20.2' })).toEqual({
      count: 1, requested: 4, limitedBy: 'Node.js 20.20.2 has no reusePort on dgram sockets (needs 22.12 or later)',
    });
  });

  test('one worker when a feature asks for it', () => {
    expect(resolveWorkerCount({ requested: 2, nodeVersion: '22.12.0', singleWorkerReason: 'because' })).toEqual({ count: 1, requested: 2, limitedBy: 'because' });
  });
});
