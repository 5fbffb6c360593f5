/**
 * Network namespaces, veth pairs and wireguard-go daemons for the WireGuard scenarios.
 * Every name is unique to this process; everything created is recorded and removed by
 * {@link cleanupNamespaces} (called at the end of each scenario and on exit or interrupt).
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { sleep } from './throughput';

const namespaces = new Set<string>();
const daemons = new Set<ChildProcess>();
const uapiSockets = new Set<string>();
let sequence = 0;

/** A short name unique to this run: interface names must fit in 15 characters. */
export function uniqueName(tag: string): string {
  sequence++;
  return `pgb${(process.pid % 100000).toString(36)}${tag}${sequence.toString(36)}`.slice(0, 15);
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
}

/** Creates a namespace with its loopback up. */
export function createNamespace(tag: string): string {
  const name = uniqueName(tag);
  ip('netns', 'add', name);
  namespaces.add(name);
  ip('-n', name, 'link', 'set', 'lo', 'up');
  return name;
}

/** Joins two namespaces with a veth pair and gives each end an address (CIDR notation). */
export function connectNamespaces(nsA: string, cidrA: string, nsB: string, cidrB: string): void {
  const a = uniqueName('va');
  const b = uniqueName('vb');
  ip('link', 'add', a, 'netns', nsA, 'type', 'veth', 'peer', 'name', b, 'netns', nsB);
  ip('-n', nsA, 'addr', 'add', cidrA, 'dev', a);
  ip('-n', nsB, 'addr', 'add', cidrB, 'dev', b);
  ip('-n', nsA, 'link', 'set', a, 'up');
  ip('-n', nsB, 'link', 'set', b, 'up');
}

/** A Curve25519 key pair, base64 (the encoding `wg` and WireGuard configurations use). */
export interface KeyPair {
  readonly privateKey: string;
  readonly publicKey: string;
}

/** Generates a WireGuard key pair with node:crypto. */
export function generateKeyPair(): KeyPair {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('x25519');
  const d = privateKey.export({ format: 'jwk' }).d!;
  const x = publicKey.export({ format: 'jwk' }).x!;
  return { privateKey: Buffer.from(d, 'base64url').toString('base64'), publicKey: Buffer.from(x, 'base64url').toString('base64') };
}

/** A running wireguard-go interface. */
export interface WireguardGoInterface {
  readonly namespace: string;
  readonly name: string;
  readonly pid: number;
}

/** Starts wireguard-go (foreground, so its pid is ours to stop) on a new TUN interface inside `ns`. */
export async function startWireguardGo(ns: string, tag: string): Promise<WireguardGoInterface> {
  const name = uniqueName(tag);
  const sock = `/var/run/wireguard/${name}.sock`;
  const child = spawn('ip', ['netns', 'exec', ns, 'wireguard-go', '-f', name], {
    stdio: ['ignore', 'ignore', 'ignore'],
    env: { ...process.env, WG_PROCESS_FOREGROUND: '1', WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1', LOG_LEVEL: 'error' },
  });
  daemons.add(child);
  uapiSockets.add(sock);
  child.once('exit', () => daemons.delete(child));
  for (let i = 0; i < 100; i++) {
    if (fs.existsSync(sock)) {
      try {
        execFileSync('ip', ['-n', ns, 'link', 'show', name], { stdio: 'ignore' });
        return { namespace: ns, name, pid: child.pid! };
      } catch {
        // interface not there yet
      }
    }
    if (child.exitCode !== null) break;
    await sleep(50);
  }
  throw new Error(`wireguard-go did not bring up ${name} in ${ns}`);
}

/**
 * Configures a wireguard-go interface with `wg set`. The private key goes through a file readable
 * only by this user in a private temporary directory, removed right after.
 */
export function configureWireguardGo(
  iface: WireguardGoInterface,
  options: { privateKey: string; listenPort: number; peerPublicKey: string; allowedIps: string; endpoint?: string },
): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pgb-key-'));
  try {
    const keyFile = path.join(dir, 'private.key');
    fs.writeFileSync(keyFile, options.privateKey + '\n', { mode: 0o600 });
    const args = ['set', iface.name, 'listen-port', String(options.listenPort), 'private-key', keyFile,
      'peer', options.peerPublicKey, 'allowed-ips', options.allowedIps];
    if (options.endpoint) args.push('endpoint', options.endpoint);
    execFileSync('wg', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 10_000 });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Gives a wireguard-go interface its tunnel address and brings it up. */
export function addressTunnel(iface: WireguardGoInterface, local: string, peer: string): void {
  ip('-n', iface.namespace, 'addr', 'add', `${local}/32`, 'peer', `${peer}/32`, 'dev', iface.name);
  ip('-n', iface.namespace, 'link', 'set', iface.name, 'up');
}

/** Seconds since the interface's latest handshake with its (only) peer; undefined when none. */
export function latestHandshake(iface: WireguardGoInterface): number | undefined {
  try {
    const out = execFileSync('wg', ['show', iface.name, 'latest-handshakes'], { encoding: 'utf8', timeout: 5000 });
    const t = Number(out.trim().split(/\s+/)[1]);
    return t > 0 ? t : undefined;
  } catch {
    return undefined;
  }
}

/** Stops every wireguard-go started here (by pid) and deletes every namespace created here. */
export function cleanupNamespaces(): void {
  for (const d of daemons) {
    try {
      d.kill('SIGTERM');
    } catch {
      // already gone
    }
  }
  for (const ns of namespaces) {
    try {
      execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 10_000 });
    } catch {
      // already gone
    }
  }
  namespaces.clear();
  for (const sock of uapiSockets) {
    // a stale UAPI socket whose daemon has exited
    try {
      execFileSync('wg', ['show', sock.replace(/^.*\/(.*)\.sock$/, '$1')], { stdio: 'ignore', timeout: 2000 });
    } catch {
      fs.rmSync(sock, { force: true });
    }
  }
  uapiSockets.clear();
}

/** Waits until every wireguard-go started here has exited (at most `ms`), then kills leftovers by pid. */
export async function waitForDaemons(ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (daemons.size > 0 && Date.now() < deadline) await sleep(50);
  for (const d of daemons) d.kill('SIGKILL');
}

/** Whether a namespace exists (used by tests of the harness and by the cleanup check). */
export function namespaceExists(ns: string): boolean {
  try {
    return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').some((l) => l.split(' ')[0] === ns);
  } catch {
    return false;
  }
}
