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

/** `npm start` on free ports, in its own process group (as a shell job is); resolves once the banner is printed. */
async function npmStart(): Promise<Started> {
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
  proc.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const started: Started = { proc, ports, output: () => text };
  try {
    await until(() => text.includes('Stop with Ctrl-C.'), 60_000, () => `npm start never printed its banner:\n${text}`);
  } catch (err) {
    killGroup(proc.pid!);
    throw err;
  }
  return started;
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
