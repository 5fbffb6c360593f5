/**
 * The fleet under faults and deployments (docs/FLEET.md "Nothing lost: retries and deploys"): three
 * gateway tasks in AWS mode behind the load-balancer stand-in (scripts/fleet/), whose health
 * checks take a dead task out and end its flows, and which drains a task as ECS does (deregister,
 * deregistration delay, SIGTERM). Clients keep talking (a keepalive every second), pushes are
 * published all along, and each test counts the pushes that should have arrived: delivered, each
 * from the VIP, and lost (none); nothing ever arrives from the NAT address.
 *
 * Needs Linux, root, iproute2, nftables and conntrack; skipped (with the reason printed) when one
 * is missing, except where PACKET_GATEWAY_REQUIRE_FLEET=1 (CI), where that is a failure. The
 * delivery queue's visibility timeout is 5 s (messages a killed task held come back quickly) and
 * the deregistration delay 3 s, to keep the file fast.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ClientGroup, Fleet, SourcedEntry, startFleet, TaskLogRecord, UDP_LISTENER } from '../../scripts/fleet/lab';
import { labUnavailable } from '../../scripts/fleet/network';
import { DRAINING_LOG_MESSAGE } from '../../service/fleet/fleet';
import { FAILURE_LOG_MESSAGE } from '../../service/observability/failure-reporter';
import { STOPPED_LOG_MESSAGE } from '../../service/stop-signals';
import { labSuite } from '../support/lab-requirement';

const TASKS = 3;
const CLIENTS = 30;
const KEEPALIVE_MS = 1_000;
const PUBLISH_EVERY_MS = 500;
const ENTRIES_PER_MESSAGE = 10;
const VISIBILITY_TIMEOUT_SECONDS = 5;
const DEREGISTRATION_DELAY_SECONDS = 3;
/** Longest wait for the pushes of one test: a message a dead task held comes back after the visibility timeout, its entries then wait up to the retry budget. */
const ARRIVAL_TIMEOUT_MS = 35_000;

const { describe: describeFleet, skipReason } = labSuite('fleet fault tests', labUnavailable(), ['PACKET_GATEWAY_REQUIRE_FLEET']);

/** A push's payload: `<tag>#<group>.<socket>`. */
const payload = (tag: string, group: number, socket: number): string => `${tag}#${group}.${socket}`;

/** What the clients were sent and got back for one batch of pushes. */
interface Count {
  readonly published: number;
  readonly delivered: number;
  /** Payloads published that never arrived. */
  readonly lost: readonly string[];
  /** Pushes that arrived from anywhere but the VIP's Listener port. */
  readonly wrongSource: readonly string[];
}

describeFleet(`a fleet of ${TASKS} tasks under faults, deployments and scaling${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let fleet: Fleet;
  const groups: ClientGroup[] = [];
  let keepalive: NodeJS.Timeout | undefined;
  /** Live tasks (1-based), as the tests change them. */
  let live: number[] = [];

  beforeAll(async () => {
    const bundled = existsSync(join(__dirname, '..', '..', 'assets', 'service', 'index.js'));
    fleet = await startFleet({
      tasks: TASKS,
      service: bundled ? 'bundle' : 'source',
      deliveryVisibilityTimeoutSeconds: VISIBILITY_TIMEOUT_SECONDS,
      deregistrationDelaySeconds: DEREGISTRATION_DELAY_SECONDS,
    });
    live = Array.from({ length: TASKS }, (_, i) => i + 1);
    await addClients(CLIENTS);
    keepalive = setInterval(() => {
      for (const group of groups) void group.send(fleet.vip, UDP_LISTENER.port, Buffer.from('ka'), { indexed: true });
    }, KEEPALIVE_MS);
  }, 120_000);

  afterAll(async () => {
    clearInterval(keepalive);
    await fleet?.stop();
  }, 60_000);

  const text = (data: Buffer): string => data.toString('utf8');

  /** Opens `clients` more clients and waits until each has its flow (its first datagram answered). */
  async function addClients(clients: number): Promise<ClientGroup> {
    const group = await fleet.clients(clients);
    await group.send(fleet.vip, UDP_LISTENER.port, Buffer.from('hello'), { indexed: true });
    const answered = (): number => new Set(group.received.filter((d) => text(d.data).startsWith('hello#')).map((d) => d.socket)).size;
    await group.waitFor(() => answered() === clients, 30_000, `a reply at each of the ${clients} new clients`);
    // from now on they keep talking and get pushes
    groups.push(group);
    return group;
  }

  /** Publishes a push to every client every PUBLISH_EVERY_MS until stopped; resolves with the payloads published. */
  function publishing(tag: string): { stop(): Promise<Set<string>> } {
    const published = new Set<string>();
    let round = 0;
    let running = true;
    const loop = (async () => {
      while (running) {
        const started = Date.now();
        const entries: Array<{ entry: SourcedEntry; data: string }> = [];
        groups.forEach((group, g) => group.ports.forEach((port, socket) => {
          const data = payload(`${tag}${round}`, g, socket);
          entries.push({ data, entry: { Data: Buffer.from(data).toString('base64'), Remote: { Address: fleet.clientAddress, Port: port } } });
        }));
        for (let i = 0; i < entries.length; i += ENTRIES_PER_MESSAGE) {
          const chunk = entries.slice(i, i + ENTRIES_PER_MESSAGE);
          await fleet.publish(chunk.map((e) => e.entry));
          for (const e of chunk) published.add(e.data);
        }
        round++;
        await new Promise((done) => setTimeout(done, Math.max(0, PUBLISH_EVERY_MS - (Date.now() - started))));
      }
    })();
    return {
      async stop() {
        running = false;
        await loop;
        return published;
      },
    };
  }

  /** Waits for `published` to arrive (up to ARRIVAL_TIMEOUT_MS), then counts. */
  async function count(published: ReadonlySet<string>): Promise<Count> {
    const arrived = (): Map<string, string> => {
      const seen = new Map<string, string>();
      groups.forEach((group, g) => {
        for (const d of group.received) {
          const data = text(d.data);
          if (!published.has(data) || !data.endsWith(`#${g}.${d.socket}`)) continue;
          const from = `${d.fromAddress}:${d.fromPort}`;
          if (!seen.has(data) || from === `${fleet.vip}:${UDP_LISTENER.port}`) seen.set(data, from);
        }
      });
      return seen;
    };
    const deadline = Date.now() + ARRIVAL_TIMEOUT_MS;
    while (arrived().size < published.size && Date.now() < deadline) await new Promise((done) => setTimeout(done, 250));
    const seen = arrived();
    return {
      published: published.size,
      delivered: [...seen.values()].filter((from) => from === `${fleet.vip}:${UDP_LISTENER.port}`).length,
      lost: [...published].filter((data) => !seen.has(data)),
      wrongSource: [...seen].filter(([, from]) => from !== `${fleet.vip}:${UDP_LISTENER.port}`).map(([data, from]) => `${data} from ${from}`),
    };
  }

  /** Every datagram any client received from the NAT address. */
  const fromNat = (): string[] => groups.flatMap((group) =>
    group.received.filter((d) => d.fromAddress === fleet.natAddress).map((d) => text(d.data)));
  const failures = (): TaskLogRecord[] => fleet.logs().filter((r) => r.message === FAILURE_LOG_MESSAGE);

  /** The published, delivered and lost counts: everything published arrived, from the VIP. */
  function expectNothingLost(counted: Count): void {
    expect(counted.published).toBeGreaterThan(0);
    expect({ delivered: counted.delivered, lost: counted.lost, wrongSource: counted.wrongSource })
      .toEqual({ delivered: counted.published, lost: [], wrongSource: [] });
    expect(fromNat()).toEqual([]);
    expect(failures()).toEqual([]);
  }

  /** Tasks that own tracked client flows on the plain Listener's port now. */
  const flowOwners = (): Set<number> =>
    new Set(fleet.owners().filter((f) => f.port === UDP_LISTENER.port && f.clientAddress === fleet.clientAddress).map((f) => f.task));

  test('a task killed without warning (SIGKILL): every push published after it died reaches its client from the VIP', async () => {
    const victim = live[0];
    expect(flowOwners().has(victim)).toBe(true);
    await fleet.killTask(victim);
    live = live.filter((t) => t !== victim);
    const pushes = publishing('kill');
    // the health checks take it out and end its flows; its clients' next keepalives land on live tasks
    const deadline = Date.now() + 15_000;
    while (fleet.targetState(victim) !== 'unhealthy' && Date.now() < deadline) await new Promise((done) => setTimeout(done, 100));
    expect(fleet.targetState(victim)).toBe('unhealthy');
    expect(fleet.serving(UDP_LISTENER.port)).toEqual(live);
    await new Promise((done) => setTimeout(done, 3_000));
    const counted = await count(await pushes.stop());
    expectNothingLost(counted);
    expect(flowOwners().has(victim)).toBe(false);
    // ECS replaces the dead task
    live.push(await fleet.addTask());
  }, 120_000);

  test('a task drained (deregistered, then SIGTERM): no push lost, it exits 0 and leaves the fleet', async () => {
    const drained = live[0];
    expect(flowOwners().has(drained)).toBe(true);
    const pushes = publishing('drain');
    await new Promise((done) => setTimeout(done, 1_000));
    expect(await fleet.drainTask(drained)).toBe(0);
    live = live.filter((t) => t !== drained);
    await new Promise((done) => setTimeout(done, 3_000));
    const counted = await count(await pushes.stop());
    expectNothingLost(counted);
    expect(flowOwners().has(drained)).toBe(false);
    expect(fleet.logs(drained).map((r) => r.message)).toEqual(expect.arrayContaining([DRAINING_LOG_MESSAGE, STOPPED_LOG_MESSAGE]));
    live.push(await fleet.addTask());
  }, 120_000);

  test('a rolling replacement of every task (start a new one, then drain an old one): no push lost', async () => {
    const old = [...live];
    const pushes = publishing('roll');
    for (const task of old) {
      const added = await fleet.replaceTask(task);
      live = [...live.filter((t) => t !== task), added];
    }
    await new Promise((done) => setTimeout(done, 3_000));
    const counted = await count(await pushes.stop());
    expectNothingLost(counted);
    const owners = flowOwners();
    for (const task of old) expect(owners.has(task)).toBe(false);
    for (const task of old) expect(fleet.isRunning(task)).toBe(false);
    expect(live).toHaveLength(TASKS);
  }, 180_000);

  test(`scaling from ${TASKS} to ${TASKS + 2} tasks and back: new tasks take new flows, no push lost`, async () => {
    const pushes = publishing('scale');
    const added = [await fleet.addTask(), await fleet.addTask()];
    live.push(...added);
    expect(fleet.serving(UDP_LISTENER.port)).toEqual([...live].sort((a, b) => a - b));
    // new clients' flows spread over all five tasks, the added ones included
    await addClients(CLIENTS);
    const owners = flowOwners();
    for (const task of added) expect(owners.has(task)).toBe(true);
    await new Promise((done) => setTimeout(done, 2_000));
    // scale in: two tasks drained at once
    const removed = live.slice(0, 2);
    expect(await Promise.all(removed.map((task) => fleet.drainTask(task)))).toEqual([0, 0]);
    live = live.filter((t) => !removed.includes(t));
    await new Promise((done) => setTimeout(done, 3_000));
    const counted = await count(await pushes.stop());
    expectNothingLost(counted);
    const after = flowOwners();
    for (const task of removed) expect(after.has(task)).toBe(false);
    expect(live).toHaveLength(TASKS);
  }, 180_000);
});
