import { createSocket } from 'node:dgram';
import {
  bindListenerSocket,
  closeListenerSocket,
  describeBindError,
  SendTracker,
  socketTarget,
  unmappedAddress,
} from '../../../service/listeners/listener-socket';

const logger = { error: jest.fn() };

describe('bindListenerSocket', () => {
  test('binds, sends to an IP literal, and closes', async () => {
    const receiver = createSocket('udp4');
    await new Promise<void>((resolve) => receiver.bind(0, '127.0.0.1', resolve));
    const got = new Promise<string>((resolve) => receiver.once('message', (msg) => resolve(msg.toString())));
    const bound = await bindListenerSocket({ name: 'l1', bindAddress: '127.0.0.1', port: 0, ipv6: false, logger });
    expect(bound.address).toBe('127.0.0.1');
    expect(bound.port).toBeGreaterThan(0);
    const sent = await new Promise<Error | null>((resolve) => bound.socket.send(Buffer.from('hi'), receiver.address().port, '127.0.0.1', resolve));
    expect(sent).toBeNull();
    expect(await got).toBe('hi');
    await closeListenerSocket(bound.socket, () => undefined);
    await new Promise<void>((resolve) => receiver.close(resolve));
  });

  test('a port in use is a clear error naming the Listener and the address', async () => {
    const first = await bindListenerSocket({ name: 'first', bindAddress: '127.0.0.1', port: 0, ipv6: false, logger });
    await expect(bindListenerSocket({ name: 'second', bindAddress: '127.0.0.1', port: first.port, ipv6: false, logger }))
      .rejects.toThrow(`Listener second: cannot bind udp 127.0.0.1:${first.port}: the port is already in use`);
    await closeListenerSocket(first.socket, () => undefined);
  });
});

describe('helpers', () => {
  test('SendTracker resolves whenIdle once every started send settled', async () => {
    const tracker = new SendTracker();
    await tracker.whenIdle();
    tracker.started();
    tracker.started();
    let idle = false;
    const waiting = tracker.whenIdle().then(() => (idle = true));
    tracker.settled();
    await Promise.resolve();
    expect(idle).toBe(false);
    expect(tracker.inProgress).toBe(1);
    tracker.settled();
    await waiting;
    expect(idle).toBe(true);
  });

  test('address helpers', () => {
    expect(unmappedAddress('::ffff:198.51.100.7')).toBe('198.51.100.7');
    expect(unmappedAddress('2001:db8::1')).toBe('2001:db8::1');
    expect(socketTarget(true, '198.51.100.7')).toBe('::ffff:198.51.100.7');
    expect(socketTarget(false, '198.51.100.7')).toBe('198.51.100.7');
    expect(describeBindError(Object.assign(new Error('x'), { code: 'EACCES' }))).toContain('permission denied');
  });
});

describe('receive buffer size', () => {
  test('asks for the kernel\'s cap when it is above the default, never less than the default', () => {
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const m = require('../../../service/listeners/listener-socket') as typeof import('../../../service/listeners/listener-socket');
      expect(m.receiveBufferBytes(() => '33554432\n')).toBe(32 * 1024 * 1024);
    });
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const m = require('../../../service/listeners/listener-socket') as typeof import('../../../service/listeners/listener-socket');
      expect(m.receiveBufferBytes(() => '212992')).toBe(m.SOCKET_BUFFER_BYTES);
    });
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const m = require('../../../service/listeners/listener-socket') as typeof import('../../../service/listeners/listener-socket');
      expect(m.receiveBufferBytes(() => { throw new Error('no /proc'); })).toBe(m.SOCKET_BUFFER_BYTES);
    });
  });
});
