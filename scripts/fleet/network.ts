/**
 * The network of the fleet lab: a stand-in for the UDP data path of an AWS Network Load Balancer
 * in front of N Fargate tasks, built from kernel parts (network namespaces, veth pairs, a bridge,
 * nftables DNAT by flow hash, conntrack), driven through `ip`, `nft` and `conntrack`.
 *
 *   client ns <p>cli 198.51.100.2 ──▶ lb ns <p>lb: VIP 198.51.100.1, UDP <ports>
 *                                      │ DNAT to one target by hash(client address, client port)
 *                                      ├──▶ task ns <p>t1 10.20.0.11      tasks reach each other
 *                                      ├──▶ task ns <p>t2 10.20.0.12      directly (one security group)
 *                                      └──▶ task ns <p>tN 10.20.0.(10+N)
 *   root ns: veth <p>a <api address>/30 ◀── lb ns <p>la (masquerade): the AWS API stand-ins
 *
 * What it reproduces: flow stickiness on the 5-tuple with the client address preserved; a datagram
 * a task sends on a flow it owns leaves from VIP:port, anything a task sends outside a tracked flow
 * leaves from the NAT address 198.51.100.99 (which a client's NAT drops); flows expire after
 * `udpTimeoutSeconds` of silence (120 on an NLB). Which tasks take new flows is set per Listener
 * port ({@link setTargets}: the lab's health checks and deregistrations, lab.ts); flows already
 * tracked stay on their task until {@link dropFlows} ends them (the NLB's connection termination
 * of an unhealthy target, or at the end of a deregistration delay). Tasks can be added while the
 * network is up ({@link addTaskNamespace}). Not modelled: per-AZ addresses.
 *
 * Every name carries the run's prefix, and teardown deletes only the namespaces of that prefix
 * (the nft table and veth pairs live in them and go with them). The addresses above exist only
 * inside the lab's namespaces, except the API address: a random /30 of 100.64.0.0/10 on the
 * root-namespace end of the lab's own veth pair.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { isIPv4 } from 'node:net';

export const VIP = '198.51.100.1';
export const CLIENT_ADDRESS = '198.51.100.2';
export const NAT_ADDRESS = '198.51.100.99';
/** The tasks' subnet (the "VPC"): task i (1-based) is 10.20.0.(10+i). */
export const TASK_NETWORK = '10.20.0.0/24';
const TASK_GATEWAY = '10.20.0.1';
/** Where the lab's API addresses are taken from (a /30 each, in the root namespace). */
const API_NETWORK = '100.64.0.0/10';
/** Longest prefix: interface names are limited to 15 characters, and `<prefix>l<task>` must fit. */
const MAX_PREFIX_LENGTH = 8;
const MAX_TASKS = 99;

/** The addresses of one lab network's front link (a /24 shared by the VIP and the client side). */
export interface NetworkAddresses {
  /** The load balancer's address (the Listeners' public address). @default 198.51.100.1 */
  readonly vip: string;
  /** The client namespace's address, or the upstream namespace's end of the front link. @default 198.51.100.2 */
  readonly clientAddress: string;
  /** What a task's send outside a tracked flow leaves from (the "NAT gateway"). @default 198.51.100.99 */
  readonly natAddress: string;
}

export const DEFAULT_ADDRESSES: NetworkAddresses = { vip: VIP, clientAddress: CLIENT_ADDRESS, natAddress: NAT_ADDRESS };

export interface NetworkOptions {
  /** Prefix of every namespace and interface name (1–8 of a-z, 0-9). */
  readonly prefix: string;
  /** Number of task namespaces (1–99). */
  readonly tasks: number;
  /** UDP ports of the VIP that are balanced over the tasks (the Listener ports). */
  readonly ports: readonly number[];
  /** Seconds of silence after which a flow is forgotten. @default 120 (as on an NLB) */
  readonly udpTimeoutSeconds?: number;
  /**
   * The front link's addresses; several networks up at once need different ones when an upstream
   * namespace reaches more than one of them. @default DEFAULT_ADDRESSES
   */
  readonly addresses?: Partial<NetworkAddresses>;
  /**
   * An existing namespace that takes the place of the client namespace (e.g. an accelerator
   * stand-in in front of several networks): the front link's far end is put there with
   * `clientAddress`, and the load balancer routes everything not its own through it (clients of
   * any address). No client namespace is created. @default - a client namespace `<prefix>cli`
   */
  readonly upstreamNamespace?: string;
}

/** Names and addresses of a lab network that is up. */
export interface LabNetwork {
  readonly prefix: string;
  readonly vip: string;
  readonly natAddress: string;
  readonly clientAddress: string;
  /** The client namespace, or the upstream namespace when the network has one. */
  readonly clientNamespace: string;
  /** Whether `clientNamespace` is an upstream namespace (not the lab's own, not deleted with it). */
  readonly upstream: boolean;
  readonly balancerNamespace: string;
  /** Namespace of task i at index i - 1. */
  readonly taskNamespaces: readonly string[];
  /** Address of task i at index i - 1. */
  readonly taskAddresses: readonly string[];
  readonly taskNetwork: string;
  /** Where the AWS API stand-ins listen: the root-namespace end of the lab's API veth pair. */
  readonly apiAddress: string;
  readonly ports: readonly number[];
}

/** One tracked flow of the load balancer: a client address and port, the VIP port, and the task that owns it. */
export interface FlowOwner {
  readonly clientAddress: string;
  readonly clientPort: number;
  readonly port: number;
  /** 1-based task number. */
  readonly task: number;
}

/** Runs a command; throws with its output when it fails. */
export function run(command: string, args: readonly string[], input?: string): string {
  const result = spawnSync(command, [...args], { encoding: 'utf8', input, timeout: 15_000 });
  if (result.error || result.status !== 0) {
    const output = `${result.stdout ?? ''}${result.stderr ?? ''}${result.error ? result.error.message : ''}`.trim();
    throw new Error(`${command} ${args.join(' ')} failed (exit ${result.status ?? 'none'}): ${output}`);
  }
  return result.stdout;
}

/** Why the lab cannot run on this machine, or undefined when it can. */
export function labUnavailable(): string | undefined {
  if (process.platform !== 'linux') return `needs Linux, this is ${process.platform}`;
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, nftables, conntrack)';
  for (const [command, args, pkg] of [['ip', ['-V'], 'iproute2'], ['nft', ['--version'], 'nftables'], ['conntrack', ['--version'], 'conntrack']] as const) {
    const result = spawnSync(command, [...args], { encoding: 'utf8', timeout: 5_000 });
    if (result.error || result.status !== 0) return `${command} is not available (${result.error?.message ?? result.stderr.trim()}); install ${pkg}`;
  }
  const probe = `pfprobe${randomBytes(3).toString('hex')}`;
  const added = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8', timeout: 5_000 });
  if (added.error || added.status !== 0) return `ip netns does not work here (${added.error?.message ?? added.stderr.trim()})`;
  spawnSync('ip', ['netns', 'del', probe]);
  return undefined;
}

/** Checks a prefix: 1–8 of a-z and 0-9, starting with a letter. */
export function checkPrefix(prefix: string): void {
  if (!new RegExp(`^[a-z][a-z0-9]{0,${MAX_PREFIX_LENGTH - 1}}$`).test(prefix)) {
    throw new Error(`prefix ${JSON.stringify(prefix)} is not valid (allowed: 1–${MAX_PREFIX_LENGTH} of a-z and 0-9, starting with a letter)`);
  }
}

/** A fresh prefix: `pf` and 4 random hex digits. */
export function randomPrefix(): string {
  return `pf${randomBytes(2).toString('hex')}`;
}

/** Names of the lab's namespaces for `prefix` that exist now. */
export function labNamespaces(prefix: string): string[] {
  checkPrefix(prefix);
  return namespacesMatching(new RegExp(`^${prefix}(cli|lb|t[0-9]+|w[0-9]+)$`));
}

/** The network namespaces that exist now whose names match `pattern`. */
export function namespacesMatching(pattern: RegExp): string[] {
  return run('ip', ['netns', 'list']).split('\n').map((line) => line.split(' ')[0]).filter((name) => pattern.test(name));
}

/**
 * Removes every namespace of `prefix` (with the veth pairs, bridge and nft table inside them),
 * after killing the processes still running in them (a run that was itself killed leaves its tasks
 * behind). Idempotent.
 */
export function destroyNetwork(prefix: string): void {
  const namespaces = labNamespaces(prefix);
  for (const ns of namespaces) {
    const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '';
    for (const pid of pids.split('\n').map(Number).filter((n) => Number.isInteger(n) && n > 1)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
    }
  }
  // The root end of the API veth pair: deleting it removes both ends at once (a deleted
  // namespace releases its interfaces asynchronously).
  if (namespaces.length > 0) spawnSync('ip', ['link', 'del', `${prefix}a`], { stdio: 'ignore' });
  for (const ns of namespaces) {
    spawnSync('ip', ['netns', 'del', ns]);
  }
}

/** Brings the network up; on failure removes whatever it created and throws. */
export function createNetwork(options: NetworkOptions): LabNetwork {
  const p = options.prefix;
  checkPrefix(p);
  if (!Number.isInteger(options.tasks) || options.tasks < 1 || options.tasks > MAX_TASKS) {
    throw new Error(`tasks ${options.tasks} is not valid (allowed: integer 1–${MAX_TASKS})`);
  }
  if (options.ports.length === 0 || options.ports.some((port) => !Number.isInteger(port) || port < 1 || port > 65535)) {
    throw new Error(`ports ${JSON.stringify(options.ports)} are not valid (allowed: one or more integers 1–65535)`);
  }
  const timeout = options.udpTimeoutSeconds ?? 120;
  const addresses = checkAddresses({ ...DEFAULT_ADDRESSES, ...options.addresses });
  const upstream = options.upstreamNamespace;
  if (upstream !== undefined && !run('ip', ['netns', 'list']).split('\n').some((line) => line.split(' ')[0] === upstream)) {
    throw new Error(`upstream namespace ${JSON.stringify(upstream)} does not exist (allowed: a namespace that is up)`);
  }
  if (labNamespaces(p).length > 0) throw new Error(`namespaces of prefix ${p} exist already (another run, or a crashed one: npm run fleet -- --down ${p})`);
  const api = freeApiSubnet();
  const network: LabNetwork = {
    prefix: p,
    vip: addresses.vip,
    natAddress: addresses.natAddress,
    clientAddress: addresses.clientAddress,
    clientNamespace: upstream ?? `${p}cli`,
    upstream: upstream !== undefined,
    balancerNamespace: `${p}lb`,
    taskNamespaces: Array.from({ length: options.tasks }, (_, i) => `${p}t${i + 1}`),
    taskAddresses: Array.from({ length: options.tasks }, (_, i) => `10.20.0.${11 + i}`),
    taskNetwork: TASK_NETWORK,
    apiAddress: api.root,
    ports: [...options.ports],
  };
  const cli = network.clientNamespace;
  const lb = network.balancerNamespace;
  try {
    for (const ns of upstream === undefined ? [cli, lb] : [lb]) {
      run('ip', ['netns', 'add', ns]);
      run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    // client (or upstream) ⇄ load balancer: the front link
    run('ip', ['link', 'add', `${p}c`, 'netns', cli, 'type', 'veth', 'peer', 'name', `${p}lc`, 'netns', lb]);
    run('ip', ['-n', cli, 'addr', 'add', `${addresses.clientAddress}/24`, 'dev', `${p}c`]);
    run('ip', ['-n', cli, 'link', 'set', `${p}c`, 'up']);
    run('ip', ['-n', lb, 'addr', 'add', `${addresses.vip}/24`, 'dev', `${p}lc`]);
    run('ip', ['-n', lb, 'link', 'set', `${p}lc`, 'up']);
    // clients beyond the upstream namespace: replies and sourced packets go back through it
    if (upstream !== undefined) run('ip', ['-n', lb, 'route', 'add', 'default', 'via', addresses.clientAddress]);
    // load balancer ⇄ root namespace (the AWS API stand-ins)
    run('ip', ['link', 'add', `${p}a`, 'type', 'veth', 'peer', 'name', `${p}la`, 'netns', lb]);
    run('ip', ['addr', 'add', `${api.root}/30`, 'dev', `${p}a`]);
    run('ip', ['link', 'set', `${p}a`, 'up']);
    run('ip', ['-n', lb, 'addr', 'add', `${api.balancer}/30`, 'dev', `${p}la`]);
    run('ip', ['-n', lb, 'link', 'set', `${p}la`, 'up']);
    // the tasks' subnet: a bridge in the load balancer namespace
    run('ip', ['-n', lb, 'link', 'add', 'br0', 'type', 'bridge']);
    run('ip', ['-n', lb, 'addr', 'add', `${TASK_GATEWAY}/24`, 'dev', 'br0']);
    run('ip', ['-n', lb, 'link', 'set', 'br0', 'up']);
    for (let task = 1; task <= options.tasks; task++) plugTask(network, task);
    run('ip', ['netns', 'exec', lb, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    run('ip', ['netns', 'exec', lb, 'sysctl', '-qw', `net.netfilter.nf_conntrack_udp_timeout=${timeout}`]);
    run('ip', ['netns', 'exec', lb, 'sysctl', '-qw', `net.netfilter.nf_conntrack_udp_timeout_stream=${timeout}`]);
    run('ip', ['netns', 'exec', lb, 'nft', '-f', '-'], balancerRules(network));
  } catch (err) {
    destroyNetwork(p);
    throw err;
  }
  return network;
}

/** Checks the front link's addresses: IPv4, distinct, the VIP and the client side in one /24. */
export function checkAddresses(addresses: NetworkAddresses): NetworkAddresses {
  for (const [name, value] of Object.entries(addresses)) {
    if (!isIPv4(value)) throw new Error(`${name} ${JSON.stringify(value)} is not valid (allowed: an IPv4 address)`);
  }
  const { vip, clientAddress, natAddress } = addresses;
  if (new Set([vip, clientAddress, natAddress]).size !== 3) {
    throw new Error(`addresses ${JSON.stringify(addresses)} are not valid (allowed: three different addresses)`);
  }
  const subnet = (address: string): string => address.split('.').slice(0, 3).join('.');
  if (subnet(vip) !== subnet(clientAddress)) {
    throw new Error(`clientAddress ${JSON.stringify(clientAddress)} is not valid (allowed: an address of the VIP's /24, ${subnet(vip)}.0/24)`);
  }
  return addresses;
}

/**
 * The load balancer's nftables ruleset: DNAT by flow hash, the NAT address for untracked sends,
 * masquerade towards the APIs. New flows go to every task, or per port to the tasks `targets` names.
 */
/**
 * Routes `address` (another lab's API address in the root namespace: the other region of the
 * global lab, scripts/fleet/global-lab.ts) from the load balancer namespace, and so from its tasks.
 * Only that /32: nothing else of 100.64.0.0/10 is reachable from the lab.
 */
export function routeToApiAddress(network: LabNetwork, address: string): void {
  if (!/^100\.(6[4-9]|[7-9]\d|1[01]\d|12[0-7])\.\d{1,3}\.\d{1,3}$/.test(address)) {
    throw new Error(`API address ${JSON.stringify(address)} is not a lab API address (allowed: an IPv4 address in ${API_NETWORK})`);
  }
  run('ip', ['-n', network.balancerNamespace, 'route', 'replace', `${address}/32`, 'via', network.apiAddress]);
}

export function balancerRules(network: LabNetwork, targets?: ReadonlyMap<number, readonly number[]>): string {
  const p = network.prefix;
  return `table ip ${p}nlb {
  chain pre {
    type nat hook prerouting priority dstnat;
${dnatRules(network, targets).map((rule) => `    ${rule}`).join('\n')}
  }
  chain post {
    type nat hook postrouting priority srcnat;
    oifname "${p}la" masquerade
    iifname "br0" oifname "${p}lc" ct status dnat accept
    iifname "br0" oifname "${p}lc" snat to ${network.natAddress}
  }
}
`;
}

/**
 * The DNAT rules: one per group of ports with the same targets (1-based task numbers; every task
 * when `targets` is absent or names none for a port). A port with no target has no rule: its new
 * flows are dropped, as on an NLB whose target group has no registered target.
 */
export function dnatRules(network: LabNetwork, targets?: ReadonlyMap<number, readonly number[]>): string[] {
  const all = network.taskAddresses.map((_, i) => i + 1);
  const groups = new Map<string, { ports: number[]; tasks: readonly number[] }>();
  for (const port of network.ports) {
    const tasks = [...(targets?.get(port) ?? all)].sort((a, b) => a - b);
    const key = tasks.join(',');
    const group = groups.get(key);
    if (group) group.ports.push(port);
    else groups.set(key, { ports: [port], tasks });
  }
  const rules: string[] = [];
  for (const { ports, tasks } of groups.values()) {
    if (tasks.length === 0) continue;
    const map = tasks.map((task, i) => `${i} : ${network.taskAddresses[task - 1]}`).join(', ');
    rules.push(`ip daddr ${network.vip} udp dport { ${ports.join(', ')} } dnat to jhash ip saddr . udp sport mod ${tasks.length} map { ${map} }`);
  }
  return rules;
}

/**
 * Sets which tasks (1-based) take new flows on each Listener port, in one nftables transaction.
 * Flows already tracked keep their task.
 */
export function setTargets(network: LabNetwork, targets: ReadonlyMap<number, readonly number[]>): void {
  for (const tasks of targets.values()) {
    for (const task of tasks) checkTaskNumber(network, task);
  }
  const table = `ip ${network.prefix}nlb`;
  const script = [`flush chain ${table} pre`, ...dnatRules(network, targets).map((rule) => `add rule ${table} pre ${rule}`)].join('\n');
  run('ip', ['netns', 'exec', network.balancerNamespace, 'nft', '-f', '-'], `${script}\n`);
}

/**
 * Ends every tracked flow to task `task` (1-based): the next datagram of each client is balanced
 * afresh. What an NLB does to the flows of a target that turned unhealthy, or at the end of its
 * deregistration delay (connection termination). Returns how many flows were ended.
 */
export function dropFlows(network: LabNetwork, task: number): number {
  checkTaskNumber(network, task);
  const result = spawnSync('ip', ['netns', 'exec', network.balancerNamespace, 'conntrack', '-D', '-p', 'udp', '--reply-src', network.taskAddresses[task - 1]], {
    encoding: 'utf8',
    timeout: 15_000,
  });
  // conntrack exits 1 when nothing matched
  const counted = /(\d+) flow entries have been deleted/.exec(`${result.stdout ?? ''}${result.stderr ?? ''}`);
  return counted ? Number(counted[1]) : 0;
}

/**
 * Adds one more task namespace (the next number) to a network that is up, plugged into the
 * tasks' subnet. It takes no flows until {@link setTargets} names it. Returns its 1-based number.
 */
export function addTaskNamespace(network: LabNetwork): number {
  const task = network.taskNamespaces.length + 1;
  if (task > MAX_TASKS) throw new Error(`task ${task} cannot be added (allowed: at most ${MAX_TASKS} tasks)`);
  (network.taskNamespaces as string[]).push(`${network.prefix}t${task}`);
  (network.taskAddresses as string[]).push(`10.20.0.${10 + task}`);
  try {
    plugTask(network, task);
  } catch (err) {
    spawnSync('ip', ['netns', 'del', network.taskNamespaces[task - 1]]);
    (network.taskNamespaces as string[]).pop();
    (network.taskAddresses as string[]).pop();
    throw err;
  }
  return task;
}

/** Creates task `task`'s namespace and plugs it into the bridge of the load balancer namespace. */
function plugTask(network: LabNetwork, task: number): void {
  const p = network.prefix;
  const ns = network.taskNamespaces[task - 1];
  const lb = network.balancerNamespace;
  run('ip', ['netns', 'add', ns]);
  run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  run('ip', ['link', 'add', `${p}t${task}`, 'netns', ns, 'type', 'veth', 'peer', 'name', `${p}l${task}`, 'netns', lb]);
  run('ip', ['-n', lb, 'link', 'set', `${p}l${task}`, 'master', 'br0']);
  run('ip', ['-n', lb, 'link', 'set', `${p}l${task}`, 'up']);
  run('ip', ['-n', ns, 'addr', 'add', `${network.taskAddresses[task - 1]}/24`, 'dev', `${p}t${task}`]);
  run('ip', ['-n', ns, 'link', 'set', `${p}t${task}`, 'up']);
  run('ip', ['-n', ns, 'route', 'add', 'default', 'via', TASK_GATEWAY]);
}

function checkTaskNumber(network: LabNetwork, task: number): void {
  if (!Number.isInteger(task) || task < 1 || task > network.taskAddresses.length) {
    throw new Error(`task ${task} does not exist (allowed: 1–${network.taskAddresses.length})`);
  }
}

/** Which task owns each tracked client flow to the VIP, from the load balancer's conntrack table. */
export function flowOwners(network: LabNetwork): FlowOwner[] {
  const out = run('ip', ['netns', 'exec', network.balancerNamespace, 'conntrack', '-L', '-p', 'udp', '-d', network.vip]).split('\n');
  const owners: FlowOwner[] = [];
  for (const line of out) {
    const owner = parseConntrackLine(line, network);
    if (owner) owners.push(owner);
  }
  return owners;
}

/**
 * One conntrack line, e.g. `udp 17 118 src=198.51.100.2 dst=198.51.100.1 sport=40000 dport=5555
 * src=10.20.0.12 dst=198.51.100.2 sport=5555 dport=40000 [ASSURED] mark=0 use=1`: the original
 * direction first, then the reply direction, whose source is the task the flow was DNATed to.
 */
export function parseConntrackLine(line: string, network: Pick<LabNetwork, 'vip' | 'taskAddresses'>): FlowOwner | undefined {
  const fields = [...line.matchAll(/(src|dst|sport|dport)=(\S+)/g)].map((m) => m[2]);
  if (fields.length < 8) return undefined;
  const [src, dst, sport, dport, replySrc] = fields;
  if (dst !== network.vip) return undefined;
  const task = network.taskAddresses.indexOf(replySrc) + 1;
  if (task === 0) return undefined;
  return { clientAddress: src, clientPort: Number(sport), port: Number(dport), task };
}

/** A /30 of 100.64.0.0/10 that no interface of the root namespace uses yet: `.1` for the root end, `.2` for the load balancer. */
function freeApiSubnet(): { root: string; balancer: string } {
  const used = run('ip', ['-o', '-4', 'addr', 'show']);
  for (let attempt = 0; attempt < 50; attempt++) {
    const b = 64 + randomInt(64);
    const c = randomInt(256);
    const d = randomInt(64) * 4;
    const base = `100.${b}.${c}.`;
    if (used.includes(`${base}${d + 1}/`) || used.includes(`${base}${d + 2}/`)) continue;
    return { root: `${base}${d + 1}`, balancer: `${base}${d + 2}` };
  }
  throw new Error('no free /30 in 100.64.0.0/10 for the lab\'s API address');
}
