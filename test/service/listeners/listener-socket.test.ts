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

describe('configured receive buffer', () => {
  const freshModule = (): typeof import('../../../service/listeners/listener-socket') => {
    let m: typeof import('../../../service/listeners/listener-socket') | undefined;
    jest.isolateModules(() => {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      m = require('../../../service/listeners/listener-socket') as typeof import('../../../service/listeners/listener-socket');
    });
    return m!;
  };

  test('PACKET_GATEWAY_RECEIVE_BUFFER_BYTES sets the size asked for; unset or empty leaves the default', () => {
    const m = freshModule();
    expect(m.configuredReceiveBufferBytes({})).toBeUndefined();
    expect(m.configuredReceiveBufferBytes({ PACKET_GATEWAY_RECEIVE_BUFFER_BYTES: ' ' })).toBeUndefined();
    expect(m.configuredReceiveBufferBytes({ PACKET_GATEWAY_RECEIVE_BUFFER_BYTES: '8388608' })).toBe(8 * 1024 * 1024);
    expect(m.receiveBufferBytes(() => '212992', 8 * 1024 * 1024)).toBe(8 * 1024 * 1024);
  });

  test.each(['lots', '1000', '2147483648', '4194304.5'])('fails if PACKET_GATEWAY_RECEIVE_BUFFER_BYTES is %s, naming the value and what is allowed', (value) => {
    const m = freshModule();
    expect(() => m.configuredReceiveBufferBytes({ PACKET_GATEWAY_RECEIVE_BUFFER_BYTES: value }))
      .toThrow(`PACKET_GATEWAY_RECEIVE_BUFFER_BYTES=${JSON.stringify(value)} is not valid (allowed: integer 65536–1073741824 bytes)`);
  });

  test('the default asks for at most 64 MiB however high the kernel\'s cap', () => {
    const m = freshModule();
    expect(m.receiveBufferBytes(() => String(2 ** 30))).toBe(m.MAX_DEFAULT_RECEIVE_BUFFER_BYTES);
  });

  test('a Listener reports the buffer it asked for and the one the kernel granted, and says once when the kernel capped it', async () => {
    const m = freshModule();
    const cap = m.kernelReceiveBufferCap() ?? 212_992;
    const warn = jest.fn();
    const asked = Math.min(cap * 2, 2 ** 30);
    const first = await m.bindListenerSocket({ name: 'big', bindAddress: '127.0.0.1', port: 0, ipv6: false, logger: { error: jest.fn(), warn }, receiveBufferBytes: asked });
    const second = await m.bindListenerSocket({ name: 'big2', bindAddress: '127.0.0.1', port: 0, ipv6: false, logger: { error: jest.fn(), warn }, receiveBufferBytes: asked });
    try {
      expect(first.receiveBufferBytes).toBe(asked);
      expect(first.grantedReceiveBufferBytes).toBeLessThan(asked);
      expect(first.grantedReceiveBufferBytes).toBeGreaterThan(0);
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn).toHaveBeenCalledWith(m.RECEIVE_BUFFER_CAPPED_LOG_MESSAGE, expect.objectContaining({
        listener: 'big', receiveBufferBytes: asked, grantedReceiveBufferBytes: first.grantedReceiveBufferBytes,
      }));
    } finally {
      await Promise.all([m.closeListenerSocket(first.socket, () => undefined), m.closeListenerSocket(second.socket, () => undefined)]);
    }
  });

  test('a buffer the kernel grants in full is not logged', async () => {
    const m = freshModule();
    const warn = jest.fn();
    const bound = await m.bindListenerSocket({ name: 'small', bindAddress: '127.0.0.1', port: 0, ipv6: false, logger: { error: jest.fn(), warn }, receiveBufferBytes: 65_536 });
    try {
      expect(bound.grantedReceiveBufferBytes).toBe(65_536);
      expect(warn).not.toHaveBeenCalled();
    } finally {
      await m.closeListenerSocket(bound.socket, () => undefined);
    }
  });

  test.each([12, 2 ** 31, 65_536.5, Number.NaN])('a receive buffer of %s given to the service is refused naming the variable, the value and what is allowed', (value) => {
    const m = freshModule();
    expect(() => m.validReceiveBufferBytes(value))
      .toThrow(`PACKET_GATEWAY_RECEIVE_BUFFER_BYTES=${JSON.stringify(String(value))} is not valid (allowed: integer 65536–1073741824 bytes)`);
    expect(m.validReceiveBufferBytes(65_536)).toBe(65_536);
  });

  test('a bind does not read PACKET_GATEWAY_RECEIVE_BUFFER_BYTES: the service reads it once at start and passes it down', async () => {
    const m = freshModule();
    const saved = process.env.PACKET_GATEWAY_RECEIVE_BUFFER_BYTES;
    process.env.PACKET_GATEWAY_RECEIVE_BUFFER_BYTES = '12';
    try {
      const bound = await m.bindListenerSocket({ name: 'l9', bindAddress: '127.0.0.1', port: 0, ipv6: false, logger: { error: jest.fn() } });
      await m.closeListenerSocket(bound.socket, () => undefined);
      expect(bound.receiveBufferBytes).toBe(m.receiveBufferBytes());
    } finally {
      if (saved === undefined) delete process.env.PACKET_GATEWAY_RECEIVE_BUFFER_BYTES;
      else process.env.PACKET_GATEWAY_RECEIVE_BUFFER_BYTES = saved;
    }
  });
});
