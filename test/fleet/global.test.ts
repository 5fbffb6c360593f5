/**
 * The global lab (scripts/fleet/global-lab.ts): two regions of two gateway tasks each, each with
 * its own load-balancer stand-in and API servers, behind the accelerator stand-in's anycast
 * address; the directory replicated between the regions. A client nearest region A; pushes
 * published in region B, with and without `EgressRegion`; then region A's fleet stopped.
 *
 * Needs Linux, root, iproute2, nftables and conntrack; skipped (with the reason printed) when one
 * is missing, except where PACKET_GATEWAY_REQUIRE_FLEET=1 (CI), where that is a failure. Tasks run
 * the bundled service when it exists, else the TypeScript source.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MetricName } from '../../lib/private/metrics';
import { acceleratorNamespaces } from '../../scripts/fleet/accelerator';
import { CountedMetric, GLOBAL_REGIONS, GlobalLab, startGlobalLab } from '../../scripts/fleet/global-lab';
import { ClientDatagram, ClientGroup, Fleet, TaskLogRecord, UDP_LISTENER } from '../../scripts/fleet/lab';
import { labNamespaces, labUnavailable, randomPrefix, run } from '../../scripts/fleet/network';
import { FAILURE_LOG_MESSAGE } from '../../service/observability/failure-reporter';
import { labSuite } from '../support/lab-requirement';

const CLIENTS = 20;
const A = GLOBAL_REGIONS[0].name;
const B = GLOBAL_REGIONS[1].name;

const { describe: describeGlobal, skipReason } = labSuite('global lab test', labUnavailable(), ['PACKET_GATEWAY_REQUIRE_FLEET']);

const text = (data: Buffer): string => data.toString('utf8');

describeGlobal(`two regions behind the accelerator stand-in${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  const prefix = randomPrefix();
  let lab: GlobalLab;
  let clients: ClientGroup;
  let fleetA: Fleet;
  let fleetB: Fleet;

  beforeAll(async () => {
    const bundled = existsSync(join(__dirname, '..', '..', 'assets', 'service', 'index.js'));
    lab = await startGlobalLab({ prefix, tasksPerRegion: 2, fleet: { service: bundled ? 'bundle' : 'source' } });
    fleetA = lab.fleet(A);
    fleetB = lab.fleet(B);
    clients = await lab.clients(A, CLIENTS);
  }, 120_000);

  afterAll(async () => {
    await lab?.stop();
    // nothing of the run is left: fleets, accelerator, client namespaces
    const listed = new Set(run('ip', ['netns', 'list']).split('\n').map((line) => line.split(' ')[0]));
    const left = [...labNamespaces(`${prefix}a`), ...labNamespaces(`${prefix}b`), ...acceleratorNamespaces(prefix, ['a', 'b']).filter((ns) => listed.has(ns))];
    expect(left).toEqual([]);
  }, 60_000);

  /** Datagrams of `tag` (`<tag>#<socket>`) received so far, one per socket at most counted. */
  const received = (tag: string): ClientDatagram[] => clients.received.filter((d) => text(d.data).startsWith(`${tag}#`));
  const sockets = (tag: string): Set<number> => new Set(received(tag).map((d) => d.socket));
  const failures = (): TaskLogRecord[] => [...fleetA.logs(), ...fleetB.logs()].filter((r) => r.message === FAILURE_LOG_MESSAGE);
  const push = (tag: string, i: number): { Data: string; Remote: { Address: string; Port: number } } => ({
    Data: Buffer.from(`${tag}#${i}`).toString('base64'),
    Remote: { Address: lab.clientAddress(A), Port: clients.ports[i] },
  });
  /** The client's datagram `tag` from every socket to the anycast address, and the echo function's reply to each. */
  const hello = async (tag: string): Promise<void> => {
    await clients.send(lab.anycastAddress, UDP_LISTENER.port, Buffer.from(tag), { indexed: true });
    await clients.waitFor(() => sockets(tag).size === CLIENTS, 30_000, `the echo reply of ${tag} at each of the ${CLIENTS} clients`);
  };
  const expectFromAnycast = (datagrams: readonly ClientDatagram[]): void => {
    for (const d of datagrams) expect(`${d.fromAddress}:${d.fromPort}`).toBe(`${lab.anycastAddress}:${UDP_LISTENER.port}`);
  };
  /** Waits until `region`'s directory names `owner` as the region of every client flow. */
  const waitOwnedIn = async (region: string, owner: string): Promise<void> => {
    const keys = clients.ports.map((port) => `flow#${UDP_LISTENER.name}#${lab.clientAddress(A)}#${port}`);
    const deadline = Date.now() + 15_000;
    for (;;) {
      const owners = await lab.flowOwnerRegions(region);
      const owned = keys.filter((key) => owners.get(key) === owner).length;
      if (owned === CLIENTS) return;
      if (Date.now() > deadline) throw new Error(`${region}'s directory names ${owner} for ${owned} of ${CLIENTS} client flows after 15 s`);
      await new Promise((done) => setTimeout(done, 200));
    }
  };
  /**
   * Waits until `region`'s tasks have flushed `metric` with a total of at least `total`; fails
   * naming `what` otherwise.
   */
  const waitMetric = async (region: string, metric: CountedMetric, total: number, what: string): Promise<void> => {
    const deadline = Date.now() + 15_000;
    while (lab.metricTotal(region, metric) < total) {
      if (Date.now() > deadline) throw new Error(`${what}: ${region}'s ${metric} is ${lab.metricTotal(region, metric)} after 15 s, expected at least ${total}`);
      await new Promise((done) => setTimeout(done, 200));
    }
  };
  const waitForwarded = async (region: string, count: number): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (lab.forwardedToRegion(region) < count && Date.now() < deadline) await new Promise((done) => setTimeout(done, 200));
  };

  test('a client nearest region A lands there; a push published in region B without EgressRegion is forwarded to A and arrives from the anycast address', async () => {
    await hello('in');
    expectFromAnycast(received('in'));
    // region A's load balancer holds every client flow; region B's none
    const ports = new Set(clients.ports);
    expect(fleetA.owners().filter((f) => f.clientAddress === lab.clientAddress(A) && ports.has(f.clientPort))).toHaveLength(CLIENTS);
    expect(fleetB.owners().filter((f) => f.clientAddress === lab.clientAddress(A))).toHaveLength(0);
    // region A delivered the datagrams with the client's own address (preserved through both
    // stand-ins) and names itself the ingress region
    const ingress = await fleetA.drainIngress((got) => got.length >= CLIENTS, 30_000);
    expect(ingress).toHaveLength(CLIENTS);
    for (const p of ingress) {
      expect(p.Remote.IpAddress).toBe(lab.clientAddress(A));
      expect(p.IngressRegion).toBe(A);
    }
    // the directory of region B names region A as the owner (the replication stand-in)
    await waitOwnedIn(B, A);

    for (let i = 0; i < CLIENTS; i++) await fleetB.publish([push('fwd', i)]);
    await clients.waitFor(() => sockets('fwd').size === CLIENTS, 30_000, `the forwarded push at each of the ${CLIENTS} clients`);
    // a duplicate would arrive within moments: give it the time before counting
    await new Promise((done) => setTimeout(done, 1_000));
    expect(received('fwd')).toHaveLength(CLIENTS);
    expect(sockets('fwd').size).toBe(CLIENTS);
    expectFromAnycast(received('fwd'));
    // region B forwarded every entry to region A
    await waitForwarded(B, CLIENTS);
    expect(lab.forwardedToRegion(B)).toBe(CLIENTS);
    expect(lab.forwardedToRegion(A)).toBe(0);
    expect(failures()).toEqual([]);
  }, 90_000);

  test('a push published in region B with EgressRegion naming A goes straight to A and arrives from the anycast address', async () => {
    const forwardedBefore = lab.forwardedToRegion(B);
    const skippedBefore = lab.metricTotal(B, MetricName.SourcedSkipped);
    const egressA = { EgressRegion: { DataType: 'String', StringValue: A } };
    for (let i = 0; i < CLIENTS; i++) await fleetB.publish([push('straight', i)], egressA);
    await clients.waitFor(() => sockets('straight').size === CLIENTS, 30_000, `the push naming ${A} at each of the ${CLIENTS} clients`);
    await new Promise((done) => setTimeout(done, 1_000));
    expect(received('straight')).toHaveLength(CLIENTS);
    expectFromAnycast(received('straight'));
    // not forwarded by a member: region A's gateway took it from its own subscription. Region B
    // (the topic's home, subscribed without a filter) got every push too, and skips a message that
    // names another region instead of forwarding it: once B's flushed metrics count a skip for
    // every push, B has handled them all, so a forward would have replaced one of those skips.
    await waitMetric(B, MetricName.SourcedSkipped, skippedBefore + CLIENTS, `region B's handling of the ${CLIENTS} pushes naming ${A}`);
    expect(lab.forwardedToRegion(B)).toBe(forwardedBefore);
    expect(failures()).toEqual([]);
  }, 60_000);

  test('region A stopped: the accelerator sends the client to region B, B owns the flows, and pushes published in B arrive from the anycast address', async () => {
    await lab.stopRegion(A);
    await lab.waitRegionHealth(A, false, 15_000);
    expect(lab.accelerator.isHealthy(B)).toBe(true);

    // the client's next datagram lands in region B
    await hello('moved');
    expectFromAnycast(received('moved'));
    const ports = new Set(clients.ports);
    expect(fleetB.owners().filter((f) => f.clientAddress === lab.clientAddress(A) && ports.has(f.clientPort))).toHaveLength(CLIENTS);
    await waitOwnedIn(B, B);
    const ingress = await fleetB.drainIngress((got) => got.length >= CLIENTS, 30_000);
    expect(ingress).toHaveLength(CLIENTS);
    for (const p of ingress) {
      expect(p.Remote.IpAddress).toBe(lab.clientAddress(A));
      expect(p.IngressRegion).toBe(B);
    }

    for (let i = 0; i < CLIENTS; i++) await fleetB.publish([push('resumed', i)]);
    await clients.waitFor(() => sockets('resumed').size === CLIENTS, 30_000, `the push after the failover at each of the ${CLIENTS} clients`);
    await new Promise((done) => setTimeout(done, 1_000));
    expect(received('resumed')).toHaveLength(CLIENTS);
    expectFromAnycast(received('resumed'));
    expect(fleetB.logs().filter((r) => r.message === FAILURE_LOG_MESSAGE)).toEqual([]);
  }, 90_000);
});
