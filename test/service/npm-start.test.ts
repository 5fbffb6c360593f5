/**
 * `npm start` runs the gateway through a chain of launchers (npm → sh → projen → the gateway's
 * node, with tsx in between when the task runs the tsx command). One signal, wherever in the
 * chain it is sent, must stop the gateway gracefully, free its ports and leave no process behind.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from './helpers';

const ROOT = resolve(__dirname, '..', '..');
/** The stop deadline (20 s) plus the parent watch's poll and some slack. */
const GONE_WITHIN_MS = 25_000;

jest.setTimeout(90_000);

interface Started {
  readonly proc: ChildProcess;
  readonly ports: { udp: number; health: number; sns: number };
  output(): string;
}

let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pg-npm-start-'));
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Tries of {@link npmStart}: a free port picked here can be taken by another process before the gateway binds it. */
const START_TRIES = 3;
/** In the gateway's start-up error for a port another process holds (health server, Listeners, the SNS endpoint's EADDRINUSE). */
const PORT_TAKEN = 'already in use';

/**
 * `npm start` on free ports, in its own process group (as a shell job is); resolves once the banner
 * is printed. When the gateway exits at start because a port it was given has been taken since it
 * was picked (another test's ephemeral port), it starts again on new ports.
 */
async function npmStart(): Promise<Started> {
  for (let attempt = 1; ; attempt++) {
    const started = await npmStartOnce();
    if (started !== 'port taken') return started;
    if (attempt === START_TRIES) throw new Error(`npm start found a port taken ${START_TRIES} times`);
  }
}

async function npmStartOnce(): Promise<Started | 'port taken'> {
  const ports = { udp: await freePort(), health: await freePort(), sns: await freePort() };
  const config = join(dir, `gateway-${ports.udp}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      Listeners: [{ Name: 'demo', Protocol: 'udp', Port: ports.udp, BindAddress: '127.0.0.1', Formatter: 'base64', Destinations: [{ Name: 'log', Type: 'log' }] }],
    }),
  );
  const proc = spawn('npm', ['start', '--', '--config', config, '--health-port', String(ports.health), '--sns-port', String(ports.sns), '--log-level', 'INFO'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let text = '';
  let exited = false;
  proc.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  proc.once('exit', () => (exited = true));
  const started: Started = { proc, ports, output: () => text };
  try {
    await until(() => text.includes('Stop with Ctrl-C.') || exited, 60_000, () => `npm start never printed its banner:\n${text}`);
  } catch (err) {
    killGroup(proc.pid!);
    throw err;
  }
  if (text.includes('Stop with Ctrl-C.')) return started;
  killGroup(proc.pid!);
  if (text.includes(PORT_TAKEN)) return 'port taken';
  throw new Error(`npm start exited before its banner:\n${text}`);
}

async function until(check: () => boolean | Promise<boolean>, ms: number, what: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(what());
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // already gone
  }
}

async function udpFree(port: number): Promise<boolean> {
  const s = createSocket('udp4');
  const ok = await new Promise<boolean>((r) => {
    s.once('error', () => r(false));
    s.bind(port, '127.0.0.1', () => r(true));
  });
  await new Promise<void>((r) => (ok ? s.close(() => r()) : r()));
  return ok;
}

async function tcpFree(port: number): Promise<boolean> {
  const server = createServer();
  const ok = await new Promise<boolean>((r) => {
    server.once('error', () => r(false));
    server.listen(port, '127.0.0.1', () => r(true));
  });
  if (ok) await new Promise<void>((r) => server.close(() => r()));
  return ok;
}

async function portsFree(p: Started['ports']): Promise<boolean> {
  return (await udpFree(p.udp)) && (await tcpFree(p.health)) && (await tcpFree(p.sns));
}

describe('npm start stops on one signal', () => {
  test('SIGTERM to the npm process: the gateway stops gracefully, its ports are freed and no process remains', async () => {
    const gw = await npmStart();
    const pgid = gw.proc.pid!;
    try {
      expect(await portsFree(gw.ports)).toBe(false);
      process.kill(pgid, 'SIGTERM');
      await until(async () => !groupAlive(pgid) && (await portsFree(gw.ports)), GONE_WITHIN_MS, () => `still running ${GONE_WITHIN_MS} ms after SIGTERM to npm:\n${gw.output()}`);
      expect(gw.output()).toMatch(/"message":"stopped"|stopped/);
    } finally {
      killGroup(pgid);
    }
  });

  test('Ctrl-C (SIGINT to the whole job, relayed by launchers) is one graceful stop', async () => {
    const gw = await npmStart();
    const pgid = gw.proc.pid!;
    try {
      // a terminal signals the whole job; a launcher may relay the same Ctrl-C once more
      process.kill(-pgid, 'SIGINT');
      await new Promise((r) => setTimeout(r, 2));
      process.kill(-pgid, 'SIGINT');
      await until(async () => !groupAlive(pgid) && (await portsFree(gw.ports)), GONE_WITHIN_MS, () => `still running ${GONE_WITHIN_MS} ms after Ctrl-C:\n${gw.output()}`);
      expect(gw.output()).toContain('shutting down');
      expect(gw.output()).toContain('stopped');
      expect(gw.output()).not.toContain('without waiting');
    } finally {
      killGroup(pgid);
    }
  });
});
