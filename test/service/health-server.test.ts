import type { GatewayStatus } from '../../service/gateway';
import { startHealthServer } from '../../service/health-server';

describe('health server', () => {
  let status: GatewayStatus;
  const demo = { name: 'demo', protocol: 'udp' as const, address: '127.0.0.1', port: 5555, bound: true };
  const wg = { name: 'demo-wg', protocol: 'wg' as const, address: '127.0.0.1', port: 51820, publicKey: 'K'.repeat(43) + '=', bound: true };

  test('reports healthy only when every Listener is bound, and lists running Listeners', async () => {
    const server = await startHealthServer({ host: '127.0.0.1', port: 0, status: () => status });
    try {
      status = { healthy: true, stopping: false, listeners: [demo, wg] };
      let res = await fetch(`${server.url}/healthz`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(await res.json()).toEqual({ status: 'ok', listeners: [demo, wg] });
      res = await fetch(`${server.url}/listeners`);
      expect(await res.json()).toEqual([
        { name: 'demo', protocol: 'udp', address: '127.0.0.1', port: 5555 },
        { name: 'demo-wg', protocol: 'wg', address: '127.0.0.1', port: 51820, publicKey: wg.publicKey },
      ]);

      status = { healthy: false, stopping: false, listeners: [demo, { ...wg, bound: false, error: 'port in use' }] };
      res = await fetch(`${server.url}/healthz`);
      expect(res.status).toBe(503);
      expect(await res.json()).toMatchObject({ status: 'degraded' });
      expect(await (await fetch(`${server.url}/listeners`)).json()).toEqual([{ name: 'demo', protocol: 'udp', address: '127.0.0.1', port: 5555 }]);

      status = { healthy: false, stopping: true, listeners: [] };
      res = await fetch(`${server.url}/healthz?x=1`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ status: 'stopping', listeners: [] });

      expect((await fetch(`${server.url}/healthz`, { method: 'HEAD' })).status).toBe(503);
      expect((await fetch(`${server.url}/healthz`, { method: 'POST' })).status).toBe(405);
      expect(await (await fetch(`${server.url}/other`)).json()).toEqual({ error: 'no resource /other (allowed: /healthz, /healthz/listeners/<name>, /listeners)' });
    } finally {
      await server.close();
    }
  });

  test('each Listener has a path of its own: an unbound Listener fails only its own', async () => {
    const server = await startHealthServer({ host: '127.0.0.1', port: 0, status: () => status });
    try {
      status = { healthy: false, stopping: false, listeners: [demo, { ...wg, bound: false, error: 'port in use' }] };
      let res = await fetch(`${server.url}/healthz/listeners/demo`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ listener: 'demo', status: 'ok' });
      res = await fetch(`${server.url}/healthz/listeners/demo-wg`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ listener: 'demo-wg', status: 'unbound', error: 'port in use' });
      expect((await fetch(`${server.url}/healthz/listeners/demo-wg`, { method: 'HEAD' })).status).toBe(503);
      // the task-wide path still reports the whole task
      expect((await fetch(`${server.url}/healthz`)).status).toBe(503);

      // a Listener whose record this task has not loaded yet does not hold a deployment
      res = await fetch(`${server.url}/healthz/listeners/new-one`);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ listener: 'new-one', status: 'not-configured' });

      status = { healthy: false, stopping: true, listeners: [demo] };
      res = await fetch(`${server.url}/healthz/listeners/demo`);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ listener: 'demo', status: 'stopping' });
    } finally {
      await server.close();
    }
  });

  test('a port in use is a clear start error', async () => {
    const first = await startHealthServer({ host: '127.0.0.1', port: 0, status: () => status });
    try {
      await expect(startHealthServer({ host: '127.0.0.1', port: first.port, status: () => status })).rejects.toThrow(`health server cannot listen on 127.0.0.1:${first.port}: the port is already in use`);
    } finally {
      await first.close();
    }
  });
});
