import { ChildProcess, spawn } from 'node:child_process';
import { createSocket, Socket } from 'node:dgram';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CapturingFailures, CapturingMetrics, LoopbackListener, Receiver, Registry, StaticBindings } from './sourcing/support';
import { runCli } from '../../service/cli';
import { startLocalSnsEndpoint } from '../../service/local/sns-endpoint';
import { SourcedPacketProcessor } from '../../service/sourcing/sourced-packet-processor';

interface Captured {
  out: string[];
  err: string[];
  io: { out: (l: string) => void; err: (l: string) => void; signal?: AbortSignal };
}

function capture(signal?: AbortSignal, onOut?: (line: string) => void): Captured {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: {
      out: (l) => {
        out.push(l);
        onOut?.(l);
      },
      err: (l) => void err.push(l),
      signal,
    },
  };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`never happened: ${what}`);
}

/** A UDP server on loopback that answers each datagram with "echo:" + the datagram. */
async function echoServer(): Promise<Socket> {
  const s = createSocket('udp4');
  s.on('message', (data, from) => s.send(Buffer.concat([Buffer.from('echo:'), data]), from.port, from.address));
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  return s;
}

describe('send and listen, in process', () => {
  test('listen prints what send sends, with the source address and port', async () => {
    const abort = new AbortController();
    const listening = capture(abort.signal);
    const listenDone = runCli(['listen', '0'], listening.io);
    await until(() => listening.out.length > 0, 'listening');
    const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(listening.out[0])![1]);

    const sending = capture();
    expect(await runCli(['send', `127.0.0.1:${port}`, 'hello', 'gateway', '--wait', '0'], sending.io)).toBe(0);
    const srcPort = Number(/from port (\d+)/.exec(sending.out[0])![1]);
    expect(sending.out[0]).toContain(`sent 13 bytes to 127.0.0.1:${port}`);
    await until(() => listening.out.length === 2, 'datagram printed');
    expect(listening.out[1]).toBe(`from 127.0.0.1:${srcPort} (13 bytes): "hello gateway"  hex 68656c6c6f2067617465776179`);

    expect(await runCli(['send', `127.0.0.1:${port}`, '00ff', '--hex', '--count', '2', '--wait', '0'], capture().io)).toBe(0);
    await until(() => listening.out.length === 4, 'two hex datagrams printed');
    expect(listening.out[3]).toMatch(/\(2 bytes\): ".*"  hex 00ff$/);

    abort.abort();
    expect(await listenDone).toBe(0);
  });

  test('send prints every reply with its source address and port', async () => {
    const echo = await echoServer();
    try {
      const port = echo.address().port;
      const c = capture();
      expect(await runCli(['send', `127.0.0.1:${port}`, 'cGluZw==', '--base64', '--count', '3', '--wait', '300'], c.io)).toBe(0);
      const replies = c.out.filter((l) => l.startsWith('reply from'));
      expect(replies).toHaveLength(3);
      expect(replies[0]).toBe(`reply from 127.0.0.1:${port} (9 bytes): "echo:ping"  hex 6563686f3a70696e67`);
      expect(c.out[c.out.length - 1]).toBe('3 replies');
    } finally {
      await new Promise<void>((r) => echo.close(() => r()));
    }
  });

  test('listen on IPv6 loopback', async () => {
    const abort = new AbortController();
    const c = capture(abort.signal);
    const done = runCli(['listen', '0', '--host', '::1'], c.io);
    await until(() => c.out.length > 0, 'listening');
    const port = Number(/listening on \[::1\]:(\d+)/.exec(c.out[0])![1]);
    await runCli(['send', `[::1]:${port}`, 'six', '--wait', '0'], capture().io);
    await until(() => c.out.length === 2, 'datagram printed');
    expect(c.out[1]).toMatch(/^from \[::1\]:\d+ \(3 bytes\): "six"/);
    abort.abort();
    await done;
  });
});

describe('send without a reply fails (exit 1) and says whether anything is listening', () => {
  /** A loopback UDP port nothing is bound to (bound once, then closed). */
  async function closedPort(): Promise<number> {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
    const port = s.address().port;
    await new Promise<void>((r) => s.close(() => r()));
    return port;
  }

  test('nothing listening: the port-unreachable answer is reported at once, exit 1', async () => {
    const port = await closedPort();
    const c = capture();
    const started = Date.now();
    expect(await runCli(['send', `127.0.0.1:${port}`, 'anyone', '--wait', '5000'], c.io)).toBe(1);
    expect(Date.now() - started).toBeLessThan(4000);
    expect(c.err.join('\n')).toContain(`nothing is listening on 127.0.0.1:${port} (ICMP port unreachable)`);
  });

  test('something listening that does not answer: exit 1 after the wait, saying no port-unreachable came back', async () => {
    const silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    const got: Buffer[] = [];
    silent.on('message', (d) => got.push(d));
    try {
      const port = silent.address().port;
      const c = capture();
      expect(await runCli(['send', `127.0.0.1:${port}`, 'hello?', '--count', '2', '--wait', '200'], c.io)).toBe(1);
      expect(c.err.join('\n')).toContain(`no reply within 200 ms from 127.0.0.1:${port}`);
      expect(c.err.join('\n')).toContain('no port unreachable came back');
      expect(got.map(String)).toEqual(['hello?', 'hello?']);
    } finally {
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  test('--wait 0 only sends: exit 0 without waiting for replies', async () => {
    const port = await closedPort();
    const c = capture();
    expect(await runCli(['send', `127.0.0.1:${port}`, 'fire', '--wait', '0'], c.io)).toBe(0);
    expect(c.out[c.out.length - 1]).toBe('not waiting for replies (--wait 0)');
  });

  test('the binary exits 1 when nothing is listening', async () => {
    const port = await closedPort();
    const bin = join(__dirname, '..', '..', 'bin', 'packet-gateway.js');
    const proc = spawn(process.execPath, [bin, 'send', `127.0.0.1:${port}`, 'x', '--wait', '3000'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    expect(await new Promise((r) => proc.on('exit', (code) => r(code)))).toBe(1);
    expect(err).toContain('nothing is listening');
  });
});

describe('command-line errors name the argument and what is allowed (exit 2)', () => {
  test.each([
    [['send'], /missing <host:port>/],
    [['send', '127.0.0.1'], /"127\.0\.0\.1" is not host:port/],
    [['send', '127.0.0.1:0', 'x'], /port "0" is not a port \(allowed: 1–65535\)/],
    [['send', '127.0.0.1:70000', 'x'], /"70000" is not a port/],
    [['send', '127.0.0.1:5555'], /missing <text…>/],
    [['send', '127.0.0.1:5555', 'zz', '--hex'], /not valid hex/],
    [['send', '127.0.0.1:5555', 'a', '--hex', '--base64'], /cannot be combined/],
    [['send', '127.0.0.1:5555', 'a', '--count', '0'], /--count "0" is not allowed \(allowed: an integer 1-10000\)/],
    [['send', '127.0.0.1:5555', 'a', '--wait', 'soon'], /--wait "soon"/],
    [['send', '127.0.0.1:5555', 'a', '--loud'], /Unknown option '--loud' \(allowed options: --help, --hex, --base64, --count, --wait\)/],
    [['listen'], /missing <port>/],
    [['listen', 'http'], /"http" is not a port \(allowed: 0–65535\)/],
    [['listen', '0', '--host', 'example.com'], /--host "example.com" is not an IP address/],
    [['publish'], /--message is required/],
    [['publish', '--message', '{oops'], /--message is not valid JSON/],
    [['publish', '--message', '{}', '--topic-arn', 'packet-source'], /--topic-arn "packet-source" is not an SNS topic ARN/],
    [['publish', '--message', '{}', '--endpoint', 'localhost:4576'], /--endpoint "localhost:4576" is not an http\(s\) URL/],
    [['listeners', '--health', 'nowhere'], /--health "nowhere" is not a URL/],
    [['teleport'], /unknown command "teleport" \(allowed: send, listen, publish, listeners, import-proxylity\)/],
  ])('%j', async (argv, message) => {
    const c = capture();
    expect(await runCli(argv, c.io)).toBe(2);
    expect(c.err.join('\n')).toMatch(message);
  });

  test('--help of every command prints its usage and exits 0', async () => {
    for (const command of ['send', 'listen', 'publish', 'listeners']) {
      const c = capture();
      expect(await runCli([command, '--help'], c.io)).toBe(0);
      expect(c.out[0]).toMatch(new RegExp(`^packet-gateway ${command}`));
    }
    const c = capture();
    expect(await runCli(['--help'], c.io)).toBe(0);
    expect(c.out[0]).toContain('Commands:');
  });
});

describe('publish and listeners', () => {
  test('publish goes through the local SNS endpoint and the datagram arrives', async () => {
    const listener = new LoopbackListener('demo');
    await listener.start();
    const receiver = await Receiver.open();
    const topic = 'arn:aws:sns:us-east-1:000000000000:packet-source';
    const processor = new SourcedPacketProcessor({
      listeners: new Registry().add(listener),
      bindings: new StaticBindings([{ TopicArn: topic, ListenerName: 'demo' }]),
      failures: new CapturingFailures(),
      metrics: new CapturingMetrics(),
      region: 'us-east-1',
    });
    const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
    const endpoint = await startLocalSnsEndpoint({ host: '127.0.0.1', port: 0, region: 'us-east-1', accountId: '000000000000', processor, logger: silent });
    try {
      const c = capture();
      const message = JSON.stringify({ Messages: [{ Data: 'aGk=', Remote: { Address: '127.0.0.1', Port: receiver.port } }] });
      expect(await runCli(['publish', '--message', message, '--endpoint', endpoint.url, '--egress-region', 'us-east-1'], c.io)).toBe(0);
      expect(c.out[0]).toMatch(new RegExp(`^published [0-9a-f-]{36} to ${topic} via ${endpoint.url}$`));
      const [got] = await receiver.waitFor(1);
      expect(got.data.toString()).toBe('hi');
      expect(got.from.port).toBe(listener.port);

      const missing = capture();
      expect(await runCli(['publish', '--message', '{}', '--endpoint', endpoint.url, '--topic-arn', 'arn:aws:sns:us-east-1:000000000000:other'], missing.io)).toBe(1);
      expect(missing.err[0]).toMatch(/publish failed: NotFoundException/);
    } finally {
      await endpoint.close();
      await receiver.close();
      await listener.close();
    }
  });

  test('publish to an endpoint that is not running says so', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', () => r()));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const c = capture();
    expect(await runCli(['publish', '--message', '{}', '--endpoint', `http://127.0.0.1:${port}`], c.io)).toBe(1);
    expect(c.err[0]).toContain(`could not reach http://127.0.0.1:${port}`);
  });

  test('listeners prints the Listeners a gateway reports', async () => {
    const server: Server = createServer((req, res) => {
      res.writeHead(req.url === '/listeners' ? 200 : 404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify([
          { name: 'demo', protocol: 'udp', address: '127.0.0.1', port: 5555 },
          { name: 'demo-wg', protocol: 'wg', address: '127.0.0.1', port: 51820, publicKey: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' },
        ]),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const c = capture();
      expect(await runCli(['listeners', '--health', `http://127.0.0.1:${(server.address() as AddressInfo).port}`], c.io)).toBe(0);
      expect(c.out).toEqual(['demo     udp  127.0.0.1:5555', 'demo-wg  wg   127.0.0.1:51820  publicKey AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=']);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe('the packet-gateway binary', () => {
  const bin = join(__dirname, '..', '..', 'bin', 'packet-gateway.js');

  test('listen and send round trip between two processes, and Ctrl-C ends listen with exit 0', async () => {
    const listenProc: ChildProcess = spawn(process.execPath, [bin, 'listen', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let listenOut = '';
    listenProc.stdout!.on('data', (d: Buffer) => (listenOut += d.toString()));
    const exited = new Promise<number | null>((r) => listenProc.on('exit', (code) => r(code)));
    try {
      await until(() => /listening on 127\.0\.0\.1:\d+/.test(listenOut), 'child listening');
      const port = /listening on 127\.0\.0\.1:(\d+)/.exec(listenOut)![1];
      const sendProc = spawn(process.execPath, [bin, 'send', `127.0.0.1:${port}`, 'across', '--wait', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let sendOut = '';
      sendProc.stdout.on('data', (d: Buffer) => (sendOut += d.toString()));
      expect(await new Promise((r) => sendProc.on('exit', (code) => r(code)))).toBe(0);
      const srcPort = /from port (\d+)/.exec(sendOut)![1];
      await until(() => listenOut.includes('"across"'), 'datagram printed by the child');
      expect(listenOut).toContain(`from 127.0.0.1:${srcPort} (6 bytes): "across"  hex 6163726f7373`);
    } finally {
      listenProc.kill('SIGINT');
    }
    expect(await exited).toBe(0);
  });
});
