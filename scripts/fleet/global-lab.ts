/**
 * The global lab: two "regions" on one machine behind an accelerator stand-in (docs/FLEET.md
 * "Global", the lab). Each region is a fleet of lab.ts (its load-balancer stand-in, its gateway
 * tasks, its own DynamoDB and SNS/SQS API servers) whose load balancer is reached through the
 * accelerator namespace (accelerator.ts) instead of a client namespace of its own:
 *
 *   clients of A (203.0.113.2) ─┐                       ┌─▶ region A (us-east-1): VIP 198.51.100.1, tasks, API servers
 *                               ├─▶ anycast 192.0.2.1 ──┤
 *   clients of B (198.18.0.2) ──┘   nearest healthy     └─▶ region B (eu-west-1): VIP 198.51.101.1, tasks, API servers
 *
 * What connects the regions, as in AWS:
 *   - the directory: each region's table, copied both ways by replicator.ts (global-table stand-in);
 *   - forwarding: each region's tasks get `PACKET_GATEWAY_PEER_DELIVERY_QUEUES` (the other region's
 *     delivery queue ARN, as the construct sets it from `peers`) and `PACKET_GATEWAY_PEER_SQS_ENDPOINTS`
 *     (the other region's SQS API server: their own SQS endpoint is their region's server);
 *   - the topics: each region's topic (home there) is bound in both regions' configuration tables
 *     (`EgressRegions` both), and delivers to the other region's delivery queue for messages whose
 *     `EgressRegion` names it (sns-bridge.ts, the cross-region subscription stand-in);
 *   - health: the accelerator takes a region out while its load balancer has no healthy target
 *     (polled every 250 ms), and ends that region's flows;
 *   - WireGuard: both regions' Listener `fleet-wg` have the same private key (a key replicated to
 *     every region), and each region's WireGuard topic is bound and bridged as its UDP topic is.
 *     `wireGuardPeer(region)` starts a real wireguard-go peer (wireguard-peers.ts) among the
 *     clients nearest a region, its endpoint the anycast address; `handPeer(region)` says where a
 *     peer started by hand runs (global-banner.ts prints the commands).
 */
import { rmSync } from 'node:fs';
import { ScanCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Accelerator, AcceleratorRegion, acceleratorNamespaces, createAccelerator, destroyNamespaces } from './accelerator';
import { ClientGroup, startClients } from './clients';
import { Fleet, FleetOptions, FleetResources, startFleet, UDP_LISTENER, WG_LISTENER } from './lab';
import { checkPrefix, destroyNetwork, randomPrefix } from './network';
import { Replicator, startReplicator } from './replicator';
import { SnsBridge, startSnsBridge } from './sns-bridge';
import { teardown } from './teardown';
import { startWireGuardPeer, WireGuardPeer, wireGuardPeerNamespaces } from './wireguard-peers';
import { DIRECTORY_PARTITION_KEY, FLOW_KEY_PREFIX, OWNER_REGION_ATTRIBUTE } from '../../lib/private/fleet';
import { formatPeerDeliveryQueues } from '../../lib/private/global-forwarding';
import { MetricName } from '../../lib/private/metrics';
import { ServiceEnvironment } from '../../lib/private/service-environment';
import { generatePrivateKey, publicKeyOf } from '../../service/wireguard/keys';

/** The two regions of the lab: their names, front-link addresses and nearest clients. */
export const GLOBAL_REGIONS = [
  { name: 'us-east-1', letter: 'a', clientAddress: '203.0.113.2', addresses: { vip: '198.51.100.1', clientAddress: '198.51.100.2', natAddress: '198.51.100.99' } },
  { name: 'eu-west-1', letter: 'b', clientAddress: '198.18.0.2', addresses: { vip: '198.51.101.1', clientAddress: '198.51.101.2', natAddress: '198.51.101.99' } },
] as const;
/** Longest global prefix: each fleet's prefix adds its region's letter (network.ts allows 8). */
const MAX_GLOBAL_PREFIX_LENGTH = 7;
const HEALTH_POLL_MS = 250;
/** Metrics of the tasks' EMF output the lab sums per region ({@link GlobalLab.metricTotal}). */
export const COUNTED_METRICS = [MetricName.ForwardedToRegion, MetricName.SourcedSkipped] as const;
export type CountedMetric = (typeof COUNTED_METRICS)[number];
const PEERING_TIMEOUT_MS = 60_000;
/** wireguard-go's UDP port of a WireGuard peer started by hand ({@link HandPeerSite}). */
const HAND_PEER_LISTEN_PORT = 51821;

/**
 * Where a WireGuard peer started by hand among the clients nearest a region runs (global-main.ts
 * prints the commands): wireguard-go in that region's client namespace, so the gateway sees it
 * from the region's client address. The lab's stop, and `destroyGlobalLab`, end it with the
 * namespace and remove its control socket.
 */
export interface HandPeerSite {
  readonly region: string;
  /** The region's client namespace. */
  readonly namespace: string;
  /** The peer's WireGuard interface (wireguard-go's control socket is /var/run/wireguard/<name>.sock). */
  readonly interfaceName: string;
  /** The peer's address inside the tunnel (the gateway's is 10.99.0.1). */
  readonly tunnelAddress: string;
  /** UDP port wireguard-go listens on. */
  readonly listenPort: number;
  /** The address the gateway sees the peer's datagrams from. */
  readonly clientAddress: string;
}

/** The WireGuard interface of the peer started by hand nearest the region with `letter`. */
function handPeerInterface(prefix: string, letter: string): string {
  return `${prefix}wg${letter}`;
}

/** Removes the control sockets wireguard-go leaves behind when the hand-started peers are killed with their namespaces. */
function removeHandPeerSockets(prefix: string): void {
  for (const region of GLOBAL_REGIONS) rmSync(`/var/run/wireguard/${handPeerInterface(prefix, region.letter)}.sock`, { force: true });
}

export interface GlobalLabOptions {
  /** Prefix of every namespace and interface (1–7 of a-z, 0-9). @default - `pf` and 4 random hex digits */
  readonly prefix?: string;
  /** Gateway tasks per region. @default 2 */
  readonly tasksPerRegion?: number;
  /** Passed to each fleet (lab.ts): how tasks run, logs, timings. */
  readonly fleet?: Pick<FleetOptions, 'service' | 'logLevel' | 'retainLogs' | 'healthCheckIntervalMs' | 'udpTimeoutSeconds'>;
  /** Directory of the runs' logs: one folder per region. @default - not written */
  readonly logDirectory?: string;
  /** Milliseconds between the directory replicator's rounds. @default 200 */
  readonly replicationIntervalMs?: number;
}

export interface GlobalLab {
  readonly prefix: string;
  readonly anycastAddress: string;
  /** The regions, in the accelerator's failover order. */
  readonly regions: readonly string[];
  readonly accelerator: Accelerator;
  /** The public key of the WireGuard Listener `fleet-wg`, the same in every region. */
  readonly wireGuardPublicKey: string;
  /** Where a WireGuard peer started by hand among the clients nearest `region` runs. */
  handPeer(region: string): HandPeerSite;
  /** The fleet of a region. */
  fleet(region: string): Fleet;
  /** The address of the clients nearest to a region. */
  clientAddress(region: string): string;
  /** Opens `count` client sockets (each its own flow) among the clients nearest to `region`. */
  clients(region: string, count: number): Promise<ClientGroup>;
  /**
   * Starts a WireGuard peer among the clients nearest to `region`: wireguard-go in a namespace of
   * its own (`<prefix>w<i>`, numbered in start order) behind that client namespace's NAT, its
   * endpoint the anycast address and the port of `fleet-wg`, keeping its tunnel up with persistent
   * keepalives only. Stopped with the lab.
   */
  wireGuardPeer(region: string, options?: { readonly keepaliveSeconds?: number }): Promise<WireGuardPeer>;
  /** Sum of the ForwardedToRegion metric of a region's tasks so far (their EMF output, every second). */
  forwardedToRegion(region: string): number;
  /**
   * Sum of a counted metric of a region's tasks so far, as flushed (their EMF output, every
   * second): a value here is evidence that the work it counts was done and its metrics written.
   */
  metricTotal(region: string, metric: CountedMetric): number;
  /** Owner region of each flow item in `region`'s directory table: `flow#<listener>#<address>#<port>` → region. */
  flowOwnerRegions(region: string): Promise<Map<string, string | undefined>>;
  /** Resolves once every directory write made before the call has been replicated. */
  replicated(): Promise<void>;
  /** Stops every task of a region (SIGTERM, as ECS stops them); its load balancer then has no healthy target. */
  stopRegion(region: string): Promise<void>;
  /** Waits until the accelerator sees `region` as healthy or not, or rejects after `timeoutMs`. */
  waitRegionHealth(region: string, healthy: boolean, timeoutMs: number): Promise<void>;
  /** Stops everything and deletes the run's namespaces. Idempotent. */
  stop(): Promise<void>;
}

interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

/** Checks a global prefix: 1–7 of a-z and 0-9, starting with a letter. */
export function checkGlobalPrefix(prefix: string): void {
  if (prefix.length > MAX_GLOBAL_PREFIX_LENGTH) {
    throw new Error(`prefix ${JSON.stringify(prefix)} is not valid (allowed: 1–${MAX_GLOBAL_PREFIX_LENGTH} of a-z and 0-9, starting with a letter)`);
  }
  checkPrefix(prefix);
}

/** Removes whatever a run of `prefix` left behind (WireGuard peers, fleets, accelerator, clients). Idempotent. */
export function destroyGlobalLab(prefix: string): void {
  checkGlobalPrefix(prefix);
  destroyNamespaces(wireGuardPeerNamespaces(prefix));
  for (const region of GLOBAL_REGIONS) destroyNetwork(`${prefix}${region.letter}`);
  destroyNamespaces(acceleratorNamespaces(prefix, GLOBAL_REGIONS.map((r) => r.letter)));
  removeHandPeerSockets(prefix);
}

/** The sum of `metric` in one line of a task's output, when it is an EMF record carrying it. */
export function metricInLine(line: string, metric: string): number {
  if (!line.startsWith('{"_aws"') || !line.includes(`"${metric}"`)) return 0;
  try {
    const value = (JSON.parse(line) as Record<string, unknown>)[metric];
    return typeof value === 'number' ? value : 0;
  } catch {
    return 0;
  }
}

/** Brings the global lab up; on any failure tears down what it started and rejects. */
export async function startGlobalLab(options: GlobalLabOptions = {}): Promise<GlobalLab> {
  const prefix = options.prefix ?? randomPrefix();
  checkGlobalPrefix(prefix);
  const tasks = options.tasksPerRegion ?? 2;
  const ports = [UDP_LISTENER.port, WG_LISTENER.port];
  const regionNames = GLOBAL_REGIONS.map((r) => r.name);
  const regionOf = (name: string): (typeof GLOBAL_REGIONS)[number] => {
    const region = GLOBAL_REGIONS.find((r) => r.name === name);
    if (!region) throw new Error(`region ${JSON.stringify(name)} is not in the lab (allowed: ${regionNames.join(', ')})`);
    return region;
  };

  const { cleanups, cleanUp } = teardown();
  // last: once the client namespaces, and any peer started by hand in them, are gone
  cleanups.push(() => removeHandPeerSockets(prefix));
  try {
    const accelerator = createAccelerator({
      prefix,
      ports,
      regions: GLOBAL_REGIONS.map((r): AcceleratorRegion => ({ name: r.name, letter: r.letter, clientAddress: r.clientAddress })),
    });
    cleanups.push(() => accelerator.destroy());

    // each fleet's tasks start once both regions' queues and topics exist: they name each other's
    const resources = new Map(GLOBAL_REGIONS.map((r) => [r.name, deferred<FleetResources>()]));
    const totals = new Map(GLOBAL_REGIONS.map((r) => [r.name, new Map<CountedMetric, number>(COUNTED_METRICS.map((m) => [m, 0]))]));
    const metricTotal = (name: string, metric: CountedMetric): number => totals.get(regionOf(name).name)!.get(metric)!;
    // one key for every region's WireGuard Listener, as the replicated secret gives them
    const wireGuardPrivateKey = generatePrivateKey();
    const wireGuardPublicKey = publicKeyOf(wireGuardPrivateKey);
    const startRegion = async (region: (typeof GLOBAL_REGIONS)[number]): Promise<Fleet> => {
      const own = resources.get(region.name)!;
      try {
        return await startFleet({
          ...options.fleet,
          tasks,
          prefix: `${prefix}${region.letter}`,
          region: region.name,
          addresses: region.addresses,
          upstreamNamespace: accelerator.namespace,
          egressRegions: regionNames,
          wireGuardPrivateKey,
          ...(options.logDirectory ? { logDirectory: `${options.logDirectory}/${region.name}` } : {}),
          onTaskOutput: (_task, line) => {
            const counted = totals.get(region.name)!;
            for (const metric of COUNTED_METRICS) {
              const count = metricInLine(line, metric);
              if (count > 0) counted.set(metric, counted.get(metric)! + count);
            }
          },
          beforeTasks: async (mine) => {
            own.resolve(mine);
            const peers = await Promise.race([
              Promise.all(GLOBAL_REGIONS.filter((r) => r !== region).map((r) => resources.get(r.name)!.promise)),
              new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the other region did not come up')), PEERING_TIMEOUT_MS).unref()),
            ]);
            for (const peer of peers) {
              await mine.bindTopic(peer.topicArn, peer.region);
              await mine.bindTopic(peer.wireGuardTopicArn, peer.region, WG_LISTENER.name);
              // forwarding reaches the other region's delivery queue on its own API servers
              mine.reachApi(new URL(peer.endpoints.sqs).hostname);
            }
            return {
              [ServiceEnvironment.PeerDeliveryQueues]: formatPeerDeliveryQueues(peers.map((peer) => peer.deliveryQueueArn)),
              [ServiceEnvironment.PeerSqsEndpoints]: peers.map((peer) => `${peer.region}=${peer.endpoints.sqs}`).join(','),
              // ForwardedToRegion and SourcedSkipped are read from the tasks' metrics: emit them every second
              [ServiceEnvironment.MetricsIntervalSeconds]: '1',
            };
          },
        });
      } catch (err) {
        own.reject(err);
        throw err;
      }
    };
    const started = await Promise.allSettled(GLOBAL_REGIONS.map((r) => startRegion(r)));
    const fleets = new Map<string, Fleet>();
    started.forEach((outcome, i) => {
      if (outcome.status === 'fulfilled') {
        fleets.set(GLOBAL_REGIONS[i].name, outcome.value);
        cleanups.push(() => outcome.value.stop());
      }
    });
    const failed = started.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    if (failed) throw failed.reason;

    for (const region of GLOBAL_REGIONS) accelerator.setEndpoint(region.name, region.addresses.vip);
    const health = setInterval(() => {
      for (const [name, fleet] of fleets) {
        try {
          accelerator.setHealthy(name, fleet.serving(UDP_LISTENER.port).length > 0);
        } catch {
          // the run is stopping
        }
      }
    }, HEALTH_POLL_MS);
    cleanups.push(() => clearInterval(health));

    const replicator: Replicator = startReplicator({
      tables: GLOBAL_REGIONS.map((r) => {
        const fleet = fleets.get(r.name)!;
        return { region: r.name, endpoint: fleet.endpoints.dynamodb, tableName: fleet.directoryTableName };
      }),
      intervalMs: options.replicationIntervalMs,
    });
    cleanups.push(() => replicator.stop());

    const bridges: SnsBridge[] = [];
    cleanups.push(async () => {
      await Promise.all(bridges.splice(0).map((b) => b.stop()));
    });
    for (const from of GLOBAL_REGIONS) {
      for (const to of GLOBAL_REGIONS) {
        if (from === to) continue;
        const source = fleets.get(from.name)!;
        const target = fleets.get(to.name)!;
        for (const [topicArn, queueName] of [[source.topicArn, `${source.prefix}-to-${to.name}`], [source.wireGuardTopicArn, `${source.prefix}-wg-to-${to.name}`]]) {
          bridges.push(await startSnsBridge({
            from: { region: from.name, sns: source.endpoints.sns, sqs: source.endpoints.sqs },
            topicArn,
            to: { region: to.name, sqs: target.endpoints.sqs, deliveryQueueUrl: target.deliveryQueueUrl },
            queueName,
          }));
        }
      }
    }

    const clientGroups: ClientGroup[] = [];
    cleanups.push(async () => {
      await Promise.all(clientGroups.splice(0).map((g) => g.close()));
    });
    const fleetOf = (name: string): Fleet => fleets.get(regionOf(name).name)!;
    const wireGuardPeers: WireGuardPeer[] = [];
    let peersStarted = 0;
    cleanups.push(async () => {
      await Promise.all(wireGuardPeers.splice(0).map((peer) => peer.stop()));
    });
    let stopped: Promise<void> | undefined;
    return {
      prefix,
      anycastAddress: accelerator.anycastAddress,
      regions: regionNames,
      accelerator,
      fleet: fleetOf,
      clientAddress: (name) => regionOf(name).clientAddress,
      async clients(name, count) {
        const group = await startClients({ namespace: accelerator.clientNamespace(name), address: regionOf(name).clientAddress, count });
        clientGroups.push(group);
        return group;
      },
      wireGuardPublicKey,
      handPeer(name) {
        const region = regionOf(name);
        return {
          region: region.name,
          namespace: accelerator.clientNamespace(region.name),
          interfaceName: handPeerInterface(prefix, region.letter),
          tunnelAddress: `10.99.2.${GLOBAL_REGIONS.indexOf(region) + 1}`,
          listenPort: HAND_PEER_LISTEN_PORT,
          clientAddress: region.clientAddress,
        };
      },
      async wireGuardPeer(name, peerOptions = {}) {
        const site = {
          prefix,
          clientNamespace: accelerator.clientNamespace(name),
          clientAddress: regionOf(name).clientAddress,
          gatewayAddress: accelerator.anycastAddress,
        };
        const peer = await startWireGuardPeer(site, ++peersStarted, { gatewayPublicKey: wireGuardPublicKey, port: WG_LISTENER.port, ...peerOptions });
        wireGuardPeers.push(peer);
        return peer;
      },
      forwardedToRegion: (name) => metricTotal(name, MetricName.ForwardedToRegion),
      metricTotal,
      async flowOwnerRegions(name) {
        const fleet = fleetOf(name);
        const dynamo = new DynamoDBClient({ region: fleet.region, endpoint: fleet.endpoints.dynamodb, credentials: { accessKeyId: 'fleet', secretAccessKey: 'fleet' } });
        try {
          const owners = new Map<string, string | undefined>();
          const out = await dynamo.send(new ScanCommand({ TableName: fleet.directoryTableName, ConsistentRead: true }));
          for (const item of out.Items ?? []) {
            const key = item[DIRECTORY_PARTITION_KEY]?.S;
            if (key?.startsWith(FLOW_KEY_PREFIX)) owners.set(key, item[OWNER_REGION_ATTRIBUTE]?.S);
          }
          return owners;
        } finally {
          dynamo.destroy();
        }
      },
      replicated: () => replicator.settled(),
      async stopRegion(name) {
        const fleet = fleetOf(name);
        await Promise.all(fleet.network.taskNamespaces.map((_, i) => fleet.stopTask(i + 1)));
      },
      async waitRegionHealth(name, healthy, timeoutMs) {
        const deadline = Date.now() + timeoutMs;
        while (accelerator.isHealthy(name) !== healthy) {
          if (Date.now() > deadline) throw new Error(`region ${name} did not turn ${healthy ? 'healthy' : 'unhealthy'} within ${timeoutMs} ms`);
          await new Promise((done) => setTimeout(done, 100));
        }
      },
      stop: () => (stopped ??= cleanUp()),
    };
  } catch (err) {
    await cleanUp();
    throw err;
  }
}
