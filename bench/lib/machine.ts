/** Describes the machine a benchmark ran on, and what it offers (root, wireguard-go, reusePort). */
import { execFileSync } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { benchAead } from './aead';
import { HostContention } from './host-contention';

/** The machine description written into docs/BENCHMARKS.md and bench/results.json. */
export interface MachineDescription {
  readonly cpuModel: string;
  readonly cores: number;
  readonly memoryGiB: number;
  readonly node: string;
  readonly kernel: string;
  readonly platform: string;
  readonly loadAverageAtStart: readonly number[];
  readonly loadAverageAtEnd?: readonly number[];
  readonly wireguardGo?: string;
  /** ChaCha20-Poly1305 of WireGuard transport data in agents on this Node.js (service/wireguard/transport-aead.ts). */
  readonly wireguardAead?: string;
  /** How contended the host was during the run (send cost at start and end, CPU steal); set at the end of a run. */
  readonly hostContention?: HostContention;
}

/** Collects the machine description. */
export function describeMachine(): MachineDescription {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: `${os.type()} ${os.release()}`,
    platform: `${os.platform()} ${os.arch()}`,
    loadAverageAtStart: os.loadavg().map((x) => Math.round(x * 100) / 100),
    wireguardGo: wireguardGoVersion(),
    wireguardAead: benchAead(),
  };
}

function wireguardGoVersion(): string | undefined {
  try {
    return execFileSync('wireguard-go', ['--version'], { encoding: 'utf8', timeout: 5000 }).trim().split('\n')[0];
  } catch {
    return undefined;
  }
}

/** Whether the WireGuard scenarios can run here: root, `ip`, `wg`, `wireguard-go`, /dev/net/tun. */
export function wireguardGoAvailability(): { available: boolean; reason?: string } {
  if (process.platform !== 'linux') return { available: false, reason: 'network namespaces need Linux' };
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    return { available: false, reason: 'network namespaces and wireguard-go need root' };
  }
  for (const [cmd, args] of [['ip', ['-V']], ['wg', ['--version']], ['wireguard-go', ['--version']]] as const) {
    try {
      execFileSync(cmd, args, { stdio: 'ignore', timeout: 5000 });
    } catch {
      return {
        available: false,
        reason: `${cmd} not found (apt-get install -y --no-install-recommends wireguard-go wireguard-tools iproute2)`,
      };
    }
  }
  if (!fs.existsSync('/dev/net/tun')) return { available: false, reason: '/dev/net/tun is missing' };
  return { available: true };
}

/**
 * Whether `dgram.createSocket({ reusePort: true })` really shares a port between sockets here
 * (Node.js 22.12+ / 23.1+ on Linux). Older versions ignore the option, so this binds two sockets
 * to one port and sees whether the second bind succeeds.
 */
export async function reusePortSupported(): Promise<boolean> {
  const opts = { type: 'udp4', reusePort: true } as dgram.SocketOptions;
  const a = dgram.createSocket(opts);
  const b = dgram.createSocket(opts);
  try {
    const port = await new Promise<number>((resolve, reject) => {
      a.once('error', reject);
      a.bind(0, '127.0.0.1', () => resolve(a.address().port));
    });
    return await new Promise<boolean>((resolve) => {
      b.once('error', () => resolve(false));
      b.bind(port, '127.0.0.1', () => resolve(true));
    });
  } catch {
    return false;
  } finally {
    a.close();
    try {
      b.close();
    } catch {
      // never bound
    }
  }
}
