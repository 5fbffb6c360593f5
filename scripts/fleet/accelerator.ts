/**
 * The global lab's stand-in for the UDP data path of an AWS Global Accelerator in front of several
 * regions' load balancers: the load-balancer stand-in's technique (network.ts: nftables DNAT,
 * conntrack) one level up.
 *
 *   client ns <p>ca 203.0.113.2 ──▶ accelerator ns <p>ga: anycast 192.0.2.1, UDP <ports>
 *   client ns <p>cb 198.18.0.2  ──▶   │ DNAT by client subnet to its nearest healthy region's VIP
 *                                     ├──▶ region a: its fleet's load balancer (front link 198.51.100.0/24)
 *                                     └──▶ region b: its fleet's load balancer (front link 198.51.101.0/24)
 *
 * Each region has a client subnet whose clients it is "nearest" to. A client's datagram to the
 * anycast address goes to the VIP of its nearest region while that region is healthy, else to the
 * next healthy region in the order given; the client's address is preserved (no SNAT), and what
 * the region sends back on the flow leaves from the anycast address (conntrack undoes the DNAT).
 * When a region turns unhealthy ({@link Accelerator.setHealthy}), its tracked flows are ended, so
 * its clients' next datagrams go to the next region, as the accelerator fails over between
 * endpoint groups. Flows are forgotten after 30 s of silence (the accelerator's UDP idle timeout).
 * Not modelled: edges, traffic dials, IPv6, the second anycast address.
 *
 * The fleets' load balancers plug into the accelerator namespace themselves (network.ts,
 * `upstreamNamespace`): their front link's far end, with the fleet's `clientAddress`, is here.
 */
import { spawnSync } from 'node:child_process';
import { checkPrefix, run } from './network';

/** The accelerator's anycast address (TEST-NET-1). */
export const ANYCAST_ADDRESS = '192.0.2.1';
/** The accelerator's UDP idle timeout, in seconds. */
export const ACCELERATOR_UDP_TIMEOUT_SECONDS = 30;

/** A region behind the accelerator, and the subnet of the clients nearest to it. */
export interface AcceleratorRegion {
  /** The region's name (e.g. `us-east-1`). */
  readonly name: string;
  /** One letter naming the region's client namespace `<prefix>c<letter>` and interfaces. */
  readonly letter: string;
  /** The client namespace's address; its /24 is the region's client subnet, `.1` of it the accelerator's end. */
  readonly clientAddress: string;
}

export interface AcceleratorOptions {
  /** Prefix of the namespaces and interfaces (1–8 of a-z, 0-9). */
  readonly prefix: string;
  /** UDP ports of the anycast address (the Listener ports). */
  readonly ports: readonly number[];
  /** The regions, in failover order. */
  readonly regions: readonly AcceleratorRegion[];
}

/** One line of the accelerator's routing: clients of `clientNetwork` go to `vip`. */
export interface AcceleratorRoute {
  readonly clientNetwork: string;
  readonly vip: string;
}

export interface Accelerator {
  readonly namespace: string;
  readonly anycastAddress: string;
  /** The client namespace of each region. */
  clientNamespace(region: string): string;
  /** The client address of each region's namespace. */
  clientAddress(region: string): string;
  /** Names a region's load-balancer address (its endpoint group's endpoint); the region starts healthy. */
  setEndpoint(region: string, vip: string): void;
  /** Whether a region takes flows now. */
  isHealthy(region: string): boolean;
  /**
   * Marks a region healthy or not: the routing is rewritten, and a region turning unhealthy has its
   * tracked flows ended (their next datagrams go to the next healthy region). Returns how many flows were ended.
   */
  setHealthy(region: string, healthy: boolean): number;
  /** Deletes the accelerator's and the clients' namespaces. Idempotent. */
  destroy(): void;
}

/** The namespaces of an accelerator of `prefix` with regions of `letters`. */
export function acceleratorNamespaces(prefix: string, letters: readonly string[]): string[] {
  return [`${prefix}ga`, ...letters.map((letter) => `${prefix}c${letter}`)];
}

/** Kills the processes left in `namespaces` and deletes them; missing ones are skipped. */
export function destroyNamespaces(namespaces: readonly string[]): void {
  for (const name of namespaces) {
    const pids = spawnSync('ip', ['netns', 'pids', name], { encoding: 'utf8' }).stdout ?? '';
    for (const pid of pids.split('\n').map(Number).filter((n) => Number.isInteger(n) && n > 1)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
    spawnSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
  }
}

/** `203.0.113.2` → `203.0.113.0/24`. */
export function subnetOf(address: string): string {
  return `${address.split('.').slice(0, 3).join('.')}.0/24`;
}

/**
 * Which VIP the clients of each region go to: their own region's when it is healthy and has an
 * endpoint, else the first such region in failover order; none when no region is.
 */
export function acceleratorRoutes(
  regions: readonly AcceleratorRegion[],
  endpoints: ReadonlyMap<string, string>,
  healthy: ReadonlySet<string>,
): AcceleratorRoute[] {
  const serving = (name: string): boolean => healthy.has(name) && endpoints.has(name);
  const routes: AcceleratorRoute[] = [];
  for (const region of regions) {
    const target = serving(region.name) ? region.name : regions.find((r) => serving(r.name))?.name;
    if (target !== undefined) routes.push({ clientNetwork: subnetOf(region.clientAddress), vip: endpoints.get(target)! });
  }
  return routes;
}

/** The DNAT rules of the accelerator's prerouting chain. */
export function acceleratorRules(anycast: string, ports: readonly number[], routes: readonly AcceleratorRoute[]): string[] {
  return routes.map((route) => `ip saddr ${route.clientNetwork} ip daddr ${anycast} udp dport { ${ports.join(', ')} } dnat to ${route.vip}`);
}

/** Brings the accelerator namespace and the regions' client namespaces up; on failure removes them and throws. */
export function createAccelerator(options: AcceleratorOptions): Accelerator {
  const p = options.prefix;
  checkPrefix(p);
  const regions = options.regions;
  const names = regions.map((r) => r.name);
  if (regions.length === 0 || new Set(names).size !== regions.length || new Set(regions.map((r) => r.letter)).size !== regions.length
    || regions.some((r) => !/^[a-z]$/.test(r.letter))) {
    throw new Error(`regions ${JSON.stringify(regions)} are not valid (allowed: one or more, each with its own name and its own letter a-z)`);
  }
  const namespaces = acceleratorNamespaces(p, regions.map((r) => r.letter));
  const ns = namespaces[0];
  const clientNs = (r: AcceleratorRegion): string => `${p}c${r.letter}`;
  const table = `ip ${p}ga`;
  const endpoints = new Map<string, string>();
  const healthy = new Set<string>();
  const regionOf = (name: string): AcceleratorRegion => {
    const region = regions.find((r) => r.name === name);
    if (!region) throw new Error(`region ${JSON.stringify(name)} is not behind the accelerator (allowed: ${names.join(', ')})`);
    return region;
  };
  const destroy = (): void => destroyNamespaces(namespaces);
  const applyRoutes = (): void => {
    const rules = acceleratorRules(ANYCAST_ADDRESS, options.ports, acceleratorRoutes(regions, endpoints, healthy));
    const script = [`flush chain ${table} pre`, ...rules.map((rule) => `add rule ${table} pre ${rule}`)].join('\n');
    run('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], `${script}\n`);
  };
  try {
    for (const name of namespaces) {
      run('ip', ['netns', 'add', name]);
      run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    }
    run('ip', ['-n', ns, 'addr', 'add', `${ANYCAST_ADDRESS}/32`, 'dev', 'lo']);
    for (const region of regions) {
      const gateway = `${region.clientAddress.split('.').slice(0, 3).join('.')}.1`;
      run('ip', ['link', 'add', `${p}y${region.letter}`, 'netns', clientNs(region), 'type', 'veth', 'peer', 'name', `${p}x${region.letter}`, 'netns', ns]);
      run('ip', ['-n', clientNs(region), 'addr', 'add', `${region.clientAddress}/24`, 'dev', `${p}y${region.letter}`]);
      run('ip', ['-n', clientNs(region), 'link', 'set', `${p}y${region.letter}`, 'up']);
      run('ip', ['-n', clientNs(region), 'route', 'add', 'default', 'via', gateway]);
      run('ip', ['-n', ns, 'addr', 'add', `${gateway}/24`, 'dev', `${p}x${region.letter}`]);
      run('ip', ['-n', ns, 'link', 'set', `${p}x${region.letter}`, 'up']);
    }
    run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.netfilter.nf_conntrack_udp_timeout=${ACCELERATOR_UDP_TIMEOUT_SECONDS}`]);
    run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.netfilter.nf_conntrack_udp_timeout_stream=${ACCELERATOR_UDP_TIMEOUT_SECONDS}`]);
    run('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], `table ${table} {\n  chain pre {\n    type nat hook prerouting priority dstnat;\n  }\n}\n`);
  } catch (err) {
    destroy();
    throw err;
  }
  return {
    namespace: ns,
    anycastAddress: ANYCAST_ADDRESS,
    clientNamespace: (name) => clientNs(regionOf(name)),
    clientAddress: (name) => regionOf(name).clientAddress,
    setEndpoint(name, vip) {
      regionOf(name);
      endpoints.set(name, vip);
      healthy.add(name);
      applyRoutes();
    },
    isHealthy: (name) => healthy.has(regionOf(name).name),
    setHealthy(name, isHealthy) {
      regionOf(name);
      if (healthy.has(name) === isHealthy) return 0;
      if (isHealthy) healthy.add(name);
      else healthy.delete(name);
      applyRoutes();
      const vip = endpoints.get(name);
      if (isHealthy || vip === undefined) return 0;
      // the accelerator's failover: flows to the unhealthy endpoint group end
      const result = spawnSync('ip', ['netns', 'exec', ns, 'conntrack', '-D', '-p', 'udp', '--reply-src', vip], { encoding: 'utf8', timeout: 15_000 });
      const counted = /(\d+) flow entries have been deleted/.exec(`${result.stdout ?? ''}${result.stderr ?? ''}`);
      return counted ? Number(counted[1]) : 0;
    },
    destroy,
  };
}
