/**
 * Clients whose datagrams nobody reads, for in-process probes: sockets of a child process that
 * opens each one's flow at a Listener and then blocks its event loop for good, so the probe's own
 * threads pay no receive per datagram sent to them (a dgram socket reads from the moment it is
 * bound) and the kernel drops what overflows their buffers.
 */
import { ChildProcess, spawn } from 'node:child_process';

/**
 * Client sockets in a child process: each binds a port on 127.0.0.1 and sends one datagram to
 * `port` (which opens its flow), then the child blocks its event loop for good, so no datagram to
 * the clients is ever read. Resolves with the clients' ports once all have sent.
 */
export async function startUnreadClients(count: number, port: number): Promise<{ ports: number[]; child: ChildProcess }> {
  const script = `
    const dgram = require('node:dgram');
    const ports = [];
    for (let i = 0; i < ${count}; i++) {
      const c = dgram.createSocket('udp4');
      c.bind(0, '127.0.0.1', () => {
        c.send('hello', ${port}, '127.0.0.1', () => {
          ports.push(c.address().port);
          if (ports.length === ${count}) {
            process.stdout.write(JSON.stringify(ports) + '\\n', () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0));
          }
        });
      });
    }`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ports = await new Promise<number[]>((resolve, reject) => {
    let text = '';
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the client process exited (${code}) before binding its sockets`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) resolve(JSON.parse(text) as number[]);
    });
  });
  return { ports, child };
}
