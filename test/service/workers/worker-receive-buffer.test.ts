/**
 * The receive buffer decided at start (PACKET_GATEWAY_RECEIVE_BUFFER_BYTES, or the service's
 * `receiveBufferBytes` option) reaches the Listener socket of every data-plane worker, the worker
 * threads' as well as the main thread's. The sockets are observed from outside the threads, as the
 * kernel holds them: `ss` (iproute2) lists each UDP socket of this process on the Listener's port
 * with its receive buffer.
 *
 * Needs Node.js 22.12 or later (dgram `reusePort`; run `npx -y -p node@22 node
 * node_modules/jest/bin/jest.js test/service/workers`, as CI does) and Linux with `ss`; skipped
 * with the reason printed otherwise, except that a missing `ss` fails where
 * PACKET_GATEWAY_REQUIRE_INTEROP=1 or PACKET_GATEWAY_REQUIRE_FLEET=1 (CI installs iproute2).
 */
import { execFileSync } from 'node:child_process';
import { kernelReceiveBufferCap, receiveBufferBytes } from '../../../service/listeners/listener-socket';
import { startLocalService } from '../../../service/local-service';
import { dgramHasReusePort } from '../../../service/workers/worker-count';
import { labSuite } from '../../support/lab-requirement';
import { freePort, silentLogger } from '../helpers';

/** The receive buffer the service is started with, in bytes: the lowest allowed, below any kernel's cap. */
const RECEIVE_BUFFER_BYTES = 65_536;
const WORKERS = 2;

/** Why `ss` cannot list this process's sockets here, or undefined when it can. */
function socketStatsUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `ss reads socket buffers on Linux only, not on ${process.platform}`;
  try {
    execFileSync('ss', ['-V'], { stdio: 'ignore' });
    return undefined;
  } catch {
    return 'the ss command (iproute2) is not installed';
  }
}

/**
 * The receive buffers of this process's UDP sockets bound to `port`, one per socket, as `ss`
 * reports them (`rb` of `skmem`): twice the bytes granted, Linux's bookkeeping included (see
 * `grantedReceiveBufferBytes`).
 */
function receiveBuffersOfSocketsOn(port: number): number[] {
  const out = execFileSync('ss', ['-H', '-u', '-a', '-n', '-m', '-p', `sport = :${port}`], { encoding: 'utf8' });
  // each socket is one line, with its memory (skmem) on the indented line that follows
  return out.replace(/\n\s+skmem:/g, ' skmem:').split('\n')
    .filter((line) => line.includes(`pid=${process.pid},`))
    .map((line) => {
      const rb = /skmem:\([^)]*\brb(\d+)/.exec(line);
      if (!rb) throw new Error(`ss gave no receive buffer (skmem rb) for the socket: ${line}`);
      return Number(rb[1]);
    });
}

const { describe: describeSockets, skipReason } = labSuite(
  'worker receive buffer test', socketStatsUnavailable(), ['PACKET_GATEWAY_REQUIRE_INTEROP', 'PACKET_GATEWAY_REQUIRE_FLEET'],
  dgramHasReusePort() ? undefined : `dgram has no reusePort on Node.js ${process.versions.node} (before 22.12): the service runs one worker; CI runs it on Node 22`,
);

describeSockets(`the receive buffer on ${WORKERS} data-plane workers${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  test('every worker\'s Listener socket gets the size decided at start', async () => {
    // a socket left at the default size would show: the default differs from the setting here
    expect(Math.min(receiveBufferBytes(), kernelReceiveBufferCap() ?? Infinity)).not.toBe(RECEIVE_BUFFER_BYTES);

    const port = await freePort();
    const service = await startLocalService({
      document: {
        Listeners: [{ Name: 'demo', Protocol: 'udp', Port: port, BindAddress: '127.0.0.1', Destinations: [{ Name: 'log', Type: 'log' }] }],
      },
      logger: silentLogger,
      metricsIntervalSeconds: 0,
      logLevel: 'SILENT',
      workers: WORKERS,
      receiveBufferBytes: RECEIVE_BUFFER_BYTES,
    });
    try {
      expect(service.workers).toBe(WORKERS);
      // one socket per worker on the Listener's port (the main thread's and the worker thread's), each with the size asked for
      expect(receiveBuffersOfSocketsOn(port)).toEqual(Array.from({ length: WORKERS }, () => 2 * RECEIVE_BUFFER_BYTES));
    } finally {
      await service.stop();
    }
    // the sockets are gone with the service: the ones seen were its own
    expect(receiveBuffersOfSocketsOn(port)).toEqual([]);
  }, 60_000);
});
