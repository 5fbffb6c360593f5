/**
 * Client sockets of the fleet lab: client-agent.ts runs inside the client namespace and reports,
 * per socket, every datagram it receives and where from.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = resolve(__dirname, '..', '..');

/** A datagram one client socket received. */
export interface ClientDatagram {
  /** Index of the socket (0-based, in the order of `ports`). */
  readonly socket: number;
  readonly fromAddress: string;
  readonly fromPort: number;
  readonly data: Buffer;
}

export interface ClientGroup {
  readonly address: string;
  /** Local port of each socket. */
  readonly ports: readonly number[];
  /** Everything received so far, oldest first. */
  readonly received: readonly ClientDatagram[];
  /**
   * Sends `data` from each socket (or from `sockets` only) to host:port; with `indexed`,
   * `#<socket index>` is appended to each datagram. Resolves once the sends are done.
   */
  send(host: string, port: number, data: Buffer, options?: { readonly indexed?: boolean; readonly sockets?: readonly number[] }): Promise<void>;
  /** Waits until `until` holds for what was received, or rejects after `timeoutMs`. */
  waitFor(until: (received: readonly ClientDatagram[]) => boolean, timeoutMs: number, what: string): Promise<void>;
  close(): Promise<void>;
}

export async function startClients(options: { readonly namespace: string; readonly address: string; readonly count: number }): Promise<ClientGroup> {
  const child: ChildProcess = spawn('ip', [
    'netns', 'exec', options.namespace,
    process.execPath, require.resolve('tsx/cli'), join(__dirname, 'client-agent.ts'), '--address', options.address, '--count', String(options.count),
  ], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const received: ClientDatagram[] = [];
  const sentWaiters: Array<() => void> = [];
  let errors = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    errors += chunk.toString();
  });
  const ports = await new Promise<number[] | undefined>((done) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const event = JSON.parse(line) as { ready?: number[]; recv?: [number, string, number, string]; sent?: number };
      if (event.recv) {
        const [socket, fromAddress, fromPort, data] = event.recv;
        received.push({ socket, fromAddress, fromPort, data: Buffer.from(data, 'base64') });
      } else if (event.sent !== undefined) {
        sentWaiters.shift()?.();
      } else if (event.ready) {
        done(event.ready);
      }
    });
    void exited.then(() => done(undefined));
    setTimeout(() => done(undefined), 30_000).unref();
  });
  const close = async (): Promise<void> => {
    child.stdin?.end();
    const killer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(killer);
  };
  if (!ports) {
    await close();
    throw new Error(`the client agent did not start in ${options.namespace}: ${errors.trim() || 'no output'}`);
  }
  return {
    address: options.address,
    ports,
    received,
    send(host, port, data, sendOptions = {}) {
      return new Promise<void>((done) => {
        sentWaiters.push(done);
        child.stdin!.write(`${JSON.stringify({ send: { host, port, data: data.toString('base64'), indexed: sendOptions.indexed, sockets: sendOptions.sockets } })}\n`);
      });
    },
    async waitFor(until, timeoutMs, what) {
      const deadline = Date.now() + timeoutMs;
      while (!until(received)) {
        if (Date.now() > deadline) throw new Error(`clients: ${what} did not happen within ${timeoutMs} ms (${received.length} datagrams received)`);
        await new Promise((done) => setTimeout(done, 50));
      }
    },
    close,
  };
}
