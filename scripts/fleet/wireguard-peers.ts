/**
 * WireGuard clients of the fleet labs: real wireguard-go peers, each in a network namespace of its
 * own behind a client namespace, which NATs them (masquerade) to its client address, as a home
 * router would. Each peer keeps its tunnel up with persistent keepalives only, and runs a UDP
 * agent on its tunnel address that reports every datagram arriving through the tunnel.
 *
 *   peer ns <p>w<i>: wireguard-go <p>g<i>, tunnel 10.99.1.<i>/32 ⇄ gateway 10.99.0.1, agent :7000
 *        10.30.<i>.2 ──veth──▶ client ns 10.30.<i>.1, masquerade to its client address ──▶ endpoint:51820
 *
 * The fleet lab (lab.ts) places peers in its client namespace `<p>cli` with the VIP as endpoint;
 * the global lab (global-lab.ts) in the client namespace of a region's nearest clients with the
 * accelerator's anycast address as endpoint ({@link WireGuardPeerSite}).
 *
 * Needs wireguard-go, wg and /dev/net/tun besides the lab's own prerequisites. Names carry the
 * site's prefix; `destroyNetwork` of the fleet lab removes its peer namespaces with the rest,
 * {@link wireGuardPeerNamespaces} lists them for other labs.
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { checkPrefix, namespacesMatching, run } from './network';
import { generatePrivateKey, publicKeyOf } from '../../service/wireguard/keys';

/** The gateway's own tunnel address (the WireGuard device's default). */
export const GATEWAY_TUNNEL_ADDRESS = '10.99.0.1';
/** UDP port of each peer's agent on its tunnel address. */
export const PEER_AGENT_PORT = 7000;
/** First UDP port wireguard-go listens on (peer i listens on this + i). */
const FIRST_LISTEN_PORT = 51900;
/** Most peers one lab holds (tunnel and veth subnets are numbered by peer). */
const MAX_PEERS = 200;
const START_TIMEOUT_MS = 10_000;

/** Inner datagram arriving at a peer's agent through the tunnel. */
export interface TunnelDatagram {
  readonly fromAddress: string;
  readonly fromPort: number;
  readonly data: Buffer;
}

/** Inner addressing of a datagram from the gateway's tunnel address to a peer's agent (a sourced entry's `Inner`). */
export interface InnerFromGateway {
  readonly SourceAddress: string;
  readonly SourcePort: number;
  readonly DestinationAddress: string;
  readonly DestinationPort: number;
  readonly Version: 4;
  readonly Protocol: 17;
}

/** One running WireGuard peer. */
export interface WireGuardPeer {
  /** 1-based peer number. */
  readonly index: number;
  readonly namespace: string;
  readonly publicKey: string;
  /** The peer's address inside the tunnel (its agent listens there). */
  readonly tunnelAddress: string;
  /** UDP port wireguard-go listens on inside the peer namespace (the NAT keeps it when it can). */
  readonly listenPort: number;
  /** The address the gateway sees the peer's datagrams from (its client namespace's, after the NAT). */
  readonly clientAddress: string;
  /** Datagrams the agent received through the tunnel, oldest first. */
  readonly received: readonly TunnelDatagram[];
  /** Epoch ms of the latest completed handshake as wg reports it; 0 before the first. */
  latestHandshake(): number;
  /**
   * The gateway's endpoint as wg reports it (`address:port`): wireguard-go takes it from the outer
   * source of the latest authenticated datagram it received, so after a push it says where that came from.
   */
  gatewayEndpoint(): string;
  /**
   * Sets wireguard-go's persistent-keepalive interval; 0 turns keepalives off (the peer then sends
   * nothing while it has nothing to send), and turning them on again sends one at once.
   */
  setKeepalive(seconds: number): void;
  /** The Inner addressing of a sourced packet from the gateway to this peer's agent. */
  innerFromGateway(sourcePort?: number): InnerFromGateway;
  stop(): Promise<void>;
}

/** Where a peer runs: the client namespace that NATs it, and the gateway address it is configured with. */
export interface WireGuardPeerSite {
  /** Prefix of the peer's namespace `<prefix>w<i>` and interfaces (1–8 of a-z, 0-9). */
  readonly prefix: string;
  /** The namespace that NATs the peer to `clientAddress` (its home router); its default route leads to the gateway. */
  readonly clientNamespace: string;
  /** The client namespace's own address: what the peer's datagrams leave it from. */
  readonly clientAddress: string;
  /** The address the peer's endpoint names: the Listener's public address (a VIP, an anycast address). */
  readonly gatewayAddress: string;
}

export interface WireGuardPeerOptions {
  /** The gateway Listener's public key (base64). */
  readonly gatewayPublicKey: string;
  /** The Listener's port on the site's gateway address. */
  readonly port: number;
  /** wireguard-go's persistent-keepalive interval. @default 25 */
  readonly keepaliveSeconds?: number;
}

/** Why WireGuard peers cannot run here (besides the lab's own prerequisites), or undefined when they can. */
export function wireGuardPeersUnavailable(): string | undefined {
  for (const [command, args, pkg] of [['wireguard-go', ['--version'], 'wireguard-go'], ['wg', ['--version'], 'wireguard-tools']] as const) {
    const result = spawnSync(command, [...args], { encoding: 'utf8', timeout: 5_000 });
    if (result.error || result.status !== 0) return `${command} is not available (${result.error?.message ?? result.stderr.trim()}); install ${pkg}`;
  }
  if (!existsSync('/dev/net/tun')) return 'no /dev/net/tun';
  return undefined;
}

/** The agent: binds the tunnel address and prints every datagram as a JSON line. */
const AGENT = [
  "const s = require('node:dgram').createSocket('udp4');",
  "s.on('message', (m, r) => process.stdout.write(JSON.stringify({ from: r.address, port: r.port, data: m.toString('base64') }) + '\\n'));",
  "s.bind(Number(process.argv[2]), process.argv[1], () => process.stdout.write('{\"ready\":true}\\n'));",
  "process.stdin.on('end', () => process.exit(0)); process.stdin.resume();",
].join(' ');

/** The namespaces of WireGuard peers of `prefix` that exist now. */
export function wireGuardPeerNamespaces(prefix: string): string[] {
  checkPrefix(prefix);
  return namespacesMatching(new RegExp(`^${prefix}w[0-9]+$`));
}

/**
 * Starts WireGuard peer `index` (1-based, unique within the site's prefix) behind the site's client
 * NAT, configured for the gateway Listener at the site's gateway address and `options.port`. Its
 * persistent keepalive starts the first handshake at once. On failure removes what it created and throws.
 */
export async function startWireGuardPeer(site: WireGuardPeerSite, index: number, options: WireGuardPeerOptions): Promise<WireGuardPeer> {
  if (!Number.isInteger(index) || index < 1 || index > MAX_PEERS) throw new Error(`WireGuard peer ${index} is not valid (allowed: integer 1–${MAX_PEERS})`);
  const p = site.prefix;
  checkPrefix(p);
  const ns = `${p}w${index}`;
  const wgIf = `${p}g${index}`;
  const cliIf = `${p}v${index}`;
  const peerIf = `${p}p${index}`;
  const tunnelAddress = `10.99.1.${index}`;
  const listenPort = FIRST_LISTEN_PORT + index;
  const privateKey = generatePrivateKey();
  const dir = mkdtempSync(join(tmpdir(), 'pg-wgpeer-'));
  const children: ChildProcess[] = [];
  const stop = async (): Promise<void> => {
    for (const child of children.splice(0)) {
      child.stdin?.end();
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((done) => child.once('exit', () => done()));
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 2_000);
        await exited;
        clearTimeout(killer);
      }
    }
    spawnSync('ip', ['-n', site.clientNamespace, 'link', 'del', cliIf], { stdio: 'ignore' });
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    ensureClientNat(site);
    run('ip', ['netns', 'add', ns]);
    run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    run('ip', ['link', 'add', peerIf, 'netns', ns, 'type', 'veth', 'peer', 'name', cliIf, 'netns', site.clientNamespace]);
    run('ip', ['-n', site.clientNamespace, 'addr', 'add', `10.30.${index}.1/24`, 'dev', cliIf]);
    run('ip', ['-n', site.clientNamespace, 'link', 'set', cliIf, 'up']);
    run('ip', ['-n', ns, 'addr', 'add', `10.30.${index}.2/24`, 'dev', peerIf]);
    run('ip', ['-n', ns, 'link', 'set', peerIf, 'up']);
    run('ip', ['-n', ns, 'route', 'add', 'default', 'via', `10.30.${index}.1`]);

    const daemon = spawn('ip', ['netns', 'exec', ns, 'wireguard-go', '-f', wgIf], {
      env: { ...process.env, WG_PROCESS_FOREGROUND: '1', WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD: '1', LOG_LEVEL: 'error' },
      stdio: 'ignore',
      detached: true,
    });
    children.push(daemon);
    await until(() => existsSync(`/var/run/wireguard/${wgIf}.sock`) && spawnSync('ip', ['-n', ns, 'link', 'show', wgIf], { stdio: 'ignore' }).status === 0,
      `wireguard-go of peer ${index} to come up`);
    const keyFile = join(dir, 'peer.key');
    writeFileSync(keyFile, `${privateKey}\n`, { mode: 0o600 });
    run('ip', ['-n', ns, 'addr', 'add', `${tunnelAddress}/32`, 'peer', `${GATEWAY_TUNNEL_ADDRESS}/32`, 'dev', wgIf]);
    run('ip', ['-n', ns, 'link', 'set', wgIf, 'up']);

    const received: TunnelDatagram[] = [];
    const agent = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', AGENT, tunnelAddress, String(PEER_AGENT_PORT)], { stdio: ['pipe', 'pipe', 'ignore'], detached: true });
    children.push(agent);
    let ready = false;
    createInterface({ input: agent.stdout! }).on('line', (line) => {
      const event = JSON.parse(line) as { ready?: boolean; from?: string; port?: number; data?: string };
      if (event.ready) ready = true;
      else if (event.from) received.push({ fromAddress: event.from, fromPort: event.port!, data: Buffer.from(event.data!, 'base64') });
    });
    await until(() => ready, `the tunnel agent of peer ${index}`);
    // configured last: the persistent keepalive starts the handshake at once
    run('wg', ['set', wgIf, 'listen-port', String(listenPort), 'private-key', keyFile,
      'peer', options.gatewayPublicKey, 'allowed-ips', `${GATEWAY_TUNNEL_ADDRESS}/32`, 'endpoint', `${site.gatewayAddress}:${options.port}`,
      'persistent-keepalive', String(options.keepaliveSeconds ?? 25)]);

    return {
      index,
      namespace: ns,
      publicKey: publicKeyOf(privateKey),
      tunnelAddress,
      listenPort,
      clientAddress: site.clientAddress,
      received,
      latestHandshake: () => {
        const out = spawnSync('wg', ['show', wgIf, 'latest-handshakes'], { encoding: 'utf8' }).stdout ?? '';
        const seconds = Number(out.trim().split(/\s+/)[1] ?? 0);
        return Number.isFinite(seconds) ? seconds * 1000 : 0;
      },
      setKeepalive: (seconds) => {
        if (!Number.isInteger(seconds) || seconds < 0 || seconds > 65535) throw new Error(`keepalive ${seconds} s is not valid (allowed: integer 0–65535)`);
        run('wg', ['set', wgIf, 'peer', options.gatewayPublicKey, 'persistent-keepalive', String(seconds)]);
      },
      gatewayEndpoint: () => (spawnSync('wg', ['show', wgIf, 'endpoints'], { encoding: 'utf8' }).stdout ?? '').trim().split(/\s+/)[1] ?? '',
      innerFromGateway: (sourcePort = 9999) => ({
        SourceAddress: GATEWAY_TUNNEL_ADDRESS,
        SourcePort: sourcePort,
        DestinationAddress: tunnelAddress,
        DestinationPort: PEER_AGENT_PORT,
        Version: 4,
        Protocol: 17,
      }),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * The client namespace as the peers' home router: forwarding on, their subnets masqueraded to the
 * client address on the way to anything outside them. Idempotent.
 */
function ensureClientNat(site: WireGuardPeerSite): void {
  const table = `${site.prefix}cnat`;
  const listed = spawnSync('ip', ['netns', 'exec', site.clientNamespace, 'nft', 'list', 'table', 'ip', table], { stdio: 'ignore' });
  if (listed.status === 0) return;
  run('ip', ['netns', 'exec', site.clientNamespace, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
  run('ip', ['netns', 'exec', site.clientNamespace, 'nft', '-f', '-'], `table ip ${table} {
  chain post {
    type nat hook postrouting priority srcnat;
    ip saddr 10.30.0.0/16 ip daddr != 10.30.0.0/16 masquerade
  }
}
`);
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${START_TIMEOUT_MS / 1000} s`);
    await new Promise((done) => setTimeout(done, 50));
  }
}
