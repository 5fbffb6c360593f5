/**
 * Decrypting receiver: a WireGuard peer on a dgram socket, built on the service's WireGuard device
 * (the same code a WireGuard Listener uses), counting every payload that authenticates and
 * decrypts. Answers `reset`/`stats` like the counting receiver.
 */
import * as dgram from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { WireGuardDevice } from '../../service/wireguard/device';
import { num, serve, str } from '../lib/agent-runtime';

let socket: dgram.Socket | undefined;
let device: WireGuardDevice | undefined;
let count = 0;
let bytes = 0;
let firstAt = 0;
let lastAt = 0;
let dropped = 0;

serve({
  /** Binds the socket and creates the device with one peer: the gateway Listener. */
  start: (args) =>
    new Promise((resolve, reject) => {
      const s = dgram.createSocket({ type: 'udp4', recvBufferSize: 4 * 1024 * 1024 });
      s.once('error', reject);
      s.bind(0, '127.0.0.1', () => {
        s.removeListener('error', reject);
        s.on('error', () => undefined);
        socket = s;
        device = new WireGuardDevice({
          privateKey: str(args, 'privateKey'),
          peers: [{ publicKey: str(args, 'peerPublicKey'), allowedIps: [str(args, 'peerTunnelAddress') + '/32'], endpoint: str(args, 'peerEndpoint') }],
          tunnelAddresses: [str(args, 'tunnelAddress')],
          output: {
            transmit: (datagram, address, port, done) => s.send(datagram, port, address, (err) => done?.(err ? { code: 'SendFailed', reason: err.message } : undefined)),
            deliver: (_peer, data) => {
              const now = performance.now();
              if (count === 0) firstAt = now;
              lastAt = now;
              count++;
              bytes += data.length;
            },
            reportFailure: () => {
              dropped++;
            },
          },
        });
        s.on('message', (msg, rinfo) => device!.receive(msg, rinfo.address, rinfo.port));
        resolve({ port: s.address().port });
      });
    }),
  /** Sends one payload through the tunnel to the gateway (handshake first): opens the flow and the session. */
  ping: (args) => {
    if (!device) throw new Error('start first');
    device.send(str(args, 'peerPublicKey'), Buffer.from('ping'), {
      SourceAddress: str(args, 'tunnelAddress'),
      DestinationAddress: str(args, 'peerTunnelAddress'),
      SourcePort: 9000,
      DestinationPort: num(args, 'port', 9),
    });
    return {};
  },
  reset: () => {
    count = 0;
    bytes = 0;
    firstAt = 0;
    lastAt = 0;
    dropped = 0;
    return {};
  },
  stats: () => ({ count, bytes, spanMs: lastAt - firstAt, dropped, handshakes: device?.counters.handshakesCompleted ?? 0 }),
}, () => {
  device?.close();
  socket?.close();
});
