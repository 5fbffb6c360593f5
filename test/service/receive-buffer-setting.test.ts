/**
 * PACKET_GATEWAY_RECEIVE_BUFFER_BYTES is read once, at start: a bad value stops the service from
 * starting (naming the variable, the value and what is allowed), and a good one reaches every
 * Listener socket (the main thread's here; the worker threads', on Node.js 22, in
 * workers/worker-receive-buffer.test.ts).
 */
import { createSocket, Socket } from 'node:dgram';
import { freePort, silentLogger } from './helpers';
import { grantedReceiveBufferBytes } from '../../service/listeners/listener-socket';
import { startLocalService } from '../../service/local-service';
import { optionsFromCommandLine } from '../../service/main';

const NOT_VALID = (value: string) => `PACKET_GATEWAY_RECEIVE_BUFFER_BYTES=${JSON.stringify(value)} is not valid (allowed: integer 65536–1073741824 bytes)`;

describe('the receive buffer setting', () => {
  let port: number;

  beforeEach(async () => {
    port = await freePort();
  });

  const localOptions = () => ({
    document: {
      Listeners: [{ Name: 'demo', Protocol: 'udp' as const, Port: port, BindAddress: '127.0.0.1', Destinations: [{ Name: 'log', Type: 'log' as const }] }],
    },
    logger: silentLogger,
    metricsIntervalSeconds: 0,
  });

  test('is read with the rest of the environment', () => {
    expect(optionsFromCommandLine(['--local'], { PACKET_GATEWAY_RECEIVE_BUFFER_BYTES: '8388608' })).toMatchObject({ receiveBufferBytes: 8 * 1024 * 1024 });
    expect(optionsFromCommandLine(['--local'], {})).toMatchObject({ receiveBufferBytes: undefined });
  });

  test.each(['12', 'lots', '2147483648'])('fails the start, not a bind, if it is %s', (value) => {
    expect(() => optionsFromCommandLine(['--local'], { PACKET_GATEWAY_RECEIVE_BUFFER_BYTES: value })).toThrow(NOT_VALID(value));
  });

  test('a bad value given to startService fails it before any Listener binds', async () => {
    await expect(startLocalService({ ...localOptions(), receiveBufferBytes: 12 })).rejects.toThrow(NOT_VALID('12'));
    // the Listener's port was never taken
    const probe = createSocket('udp4');
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.bind(port, '127.0.0.1', () => resolve());
    });
    await new Promise<void>((resolve) => probe.close(() => resolve()));
  });

  test('reaches the Listener sockets; the environment is not read again when they bind', async () => {
    const saved = process.env.PACKET_GATEWAY_RECEIVE_BUFFER_BYTES;
    process.env.PACKET_GATEWAY_RECEIVE_BUFFER_BYTES = '12';
    const service = await startLocalService({ ...localOptions(), receiveBufferBytes: 65_536 }).finally(() => {
      if (saved === undefined) delete process.env.PACKET_GATEWAY_RECEIVE_BUFFER_BYTES;
      else process.env.PACKET_GATEWAY_RECEIVE_BUFFER_BYTES = saved;
    });
    try {
      expect(service.gateway.status().listeners).toEqual([expect.objectContaining({ name: 'demo', bound: true })]);
      // the socket behind the Listener (a protected field of SocketListener)
      const socket = (service.gateway.get('demo') as unknown as { socket: Socket }).socket;
      expect(grantedReceiveBufferBytes(socket)).toBe(65_536);
    } finally {
      await service.stop();
    }
  });
});
