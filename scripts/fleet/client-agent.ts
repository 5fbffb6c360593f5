/**
 * Clients of the fleet lab, run inside the client namespace: `count` UDP sockets bound to the
 * client address, each a flow of its own to the VIP.
 *
 *   tsx scripts/fleet/client-agent.ts --address <client address> --count <n>
 *
 * Protocol (JSON lines): prints `{"ready":[port…]}` once every socket is bound, then
 * `{"recv":[socket, fromAddress, fromPort, dataBase64]}` per datagram received. Reads commands on
 * stdin: `{"send":{"host":h,"port":p,"data":base64,"sockets":[i…]?}}` sends `data` (with
 * `#<socket index>` appended when `"indexed":true`) from each socket (all when `sockets` is
 * absent) and answers `{"sent":n}`. Exits when stdin closes.
 */
import { createSocket, Socket } from 'node:dgram';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';

interface SendCommand {
  readonly host: string;
  readonly port: number;
  readonly data: string;
  readonly indexed?: boolean;
  readonly sockets?: readonly number[];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { address: { type: 'string' }, count: { type: 'string' } } });
  const address = values.address;
  const count = Number(values.count);
  if (!address || !Number.isInteger(count) || count < 1) throw new Error('usage: client-agent --address <address> --count <n ≥ 1>');
  const sockets: Socket[] = [];
  for (let i = 0; i < count; i++) {
    const socket = createSocket('udp4');
    const index = i;
    socket.on('message', (msg, rinfo) => {
      process.stdout.write(`${JSON.stringify({ recv: [index, rinfo.address, rinfo.port, msg.toString('base64')] })}\n`);
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, address, () => resolve());
    });
    sockets.push(socket);
  }
  process.stdout.write(`${JSON.stringify({ ready: sockets.map((s) => s.address().port) })}\n`);

  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    const command = JSON.parse(line) as { send?: SendCommand };
    const send = command.send;
    if (!send) return;
    const data = Buffer.from(send.data, 'base64');
    const targets = send.sockets ?? sockets.map((_, i) => i);
    let pending = targets.length;
    const done = (): void => {
      if (--pending === 0) process.stdout.write(`${JSON.stringify({ sent: targets.length })}\n`);
    };
    if (pending === 0) process.stdout.write(`${JSON.stringify({ sent: 0 })}\n`);
    for (const i of targets) {
      const payload = send.indexed ? Buffer.concat([data, Buffer.from(`#${i}`)]) : data;
      sockets[i].send(payload, send.port, send.host, done);
    }
  });
  lines.on('close', () => {
    for (const s of sockets) s.close();
    process.exit(0);
  });
}

main().catch((err) => {
  process.stderr.write(`client agent failed: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(1);
});
