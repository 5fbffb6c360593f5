/**
 * A fleet of three gateway tasks in AWS mode behind the load-balancer stand-in (scripts/fleet/):
 * 300 client flows, ingress to SQS with client addresses preserved, request/response through the
 * owning task, and sourced packets through SNS → delivery queue → whichever task consumes them.
 *
 * Needs Linux, root, iproute2, nftables and conntrack; skipped (with the reason printed) when one
 * is missing, except where PACKET_GATEWAY_REQUIRE_FLEET=1 (CI), where that is a failure. Tasks run
 * the bundled service (`npx tsx scripts/bundle.ts`, which `npm test` runs first) when it exists,
 * else the TypeScript source.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { ClientGroup, Fleet, startFleet, TaskLogRecord, UDP_LISTENER } from '../../scripts/fleet/lab';
import { labNamespaces, labUnavailable } from '../../scripts/fleet/network';
import { FAILURE_LOG_MESSAGE } from '../../service/observability/failure-reporter';
import { labSuite } from '../support/lab-requirement';

const CLIENTS = 300;
const TASKS = 3;

const { describe: describeFleet, skipReason } = labSuite('fleet test', labUnavailable(), ['PACKET_GATEWAY_REQUIRE_FLEET']);


describeFleet(`a fleet of ${TASKS} tasks behind the load-balancer stand-in${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let fleet: Fleet;
  let clients: ClientGroup;
  let prefix: string;

  beforeAll(async () => {
    const bundled = existsSync(join(__dirname, '..', '..', 'assets', 'service', 'index.js'));
    fleet = await startFleet({ tasks: TASKS, service: bundled ? 'bundle' : 'source' });
    prefix = fleet.prefix;
    clients = await fleet.clients(CLIENTS);
  }, 120_000);

  afterAll(async () => {
    await fleet?.stop();
  }, 60_000);

  const text = (data: Buffer | string): string => (typeof data === 'string' ? Buffer.from(data, 'base64') : data).toString('utf8');

  test(`${CLIENTS} client flows spread over every task; each datagram reaches SQS with the client's address and is answered from the VIP`, async () => {
    await clients.send(fleet.vip, UDP_LISTENER.port, Buffer.from('in'), { indexed: true });

    // request/response: the echo function's reply reaches every client, from VIP:port
    const replies = (): Set<number> => new Set(clients.received.filter((d) => text(d.data).startsWith('in#')).map((d) => d.socket));
    await clients.waitFor(() => replies().size === CLIENTS, 60_000, `a reply at each of the ${CLIENTS} clients`);
    for (const d of clients.received) {
      expect(`${d.fromAddress}:${d.fromPort}`).toBe(`${fleet.vip}:${UDP_LISTENER.port}`);
      expect(text(d.data)).toBe(`in#${d.socket}`);
    }

    // ingress: every datagram is in the queue once, with the client's own address and port
    const packets = await fleet.drainIngress((got) => got.length >= CLIENTS, 60_000);
    expect(packets).toHaveLength(CLIENTS);
    const seen = new Set<number>();
    for (const p of packets) {
      const socket = Number(/^in#(\d+)$/.exec(text(p.Data))?.[1]);
      expect(Number.isInteger(socket)).toBe(true);
      expect(p.Remote).toEqual({ IpAddress: fleet.clientAddress, Port: clients.ports[socket] });
      expect(p.Local).toMatchObject({ Port: UDP_LISTENER.port, Protocol: 'udp', IpAddress: fleet.vip });
      seen.add(socket);
    }
    expect(seen.size).toBe(CLIENTS);

    // the load balancer spread the flows: one per client, every task owns some
    const ports = new Set(clients.ports);
    const flows = fleet.owners().filter((f) => f.clientAddress === fleet.clientAddress && ports.has(f.clientPort) && f.port === UDP_LISTENER.port);
    expect(flows).toHaveLength(CLIENTS);
    const perTask = Array.from({ length: TASKS }, (_, i) => flows.filter((f) => f.task === i + 1).length);
    for (const owned of perTask) expect(owned).toBeGreaterThan(0);

    // and no task logged a failure
    const failures = fleet.logs().filter((r) => r.message === FAILURE_LOG_MESSAGE);
    expect(failures).toEqual([]);
  }, 120_000);

  test('sourced packets: every push reaches its client from the VIP, whichever task consumed it; nothing from the NAT address', async () => {
    const before = clients.received.length;
    for (let i = 0; i < CLIENTS; i++) {
      await fleet.publish([{ Data: Buffer.from(`push#${i}`).toString('base64'), Remote: { Address: fleet.clientAddress, Port: clients.ports[i] } }]);
    }
    const pushes = (): typeof clients.received => clients.received.slice(before);
    const failed = (): TaskLogRecord[] => fleet.logs().filter((r) => r.message === FAILURE_LOG_MESSAGE);
    await clients.waitFor(() => pushes().length + failed().length >= CLIENTS, 60_000, `${CLIENTS} sourced packets sent or failed`);
    // every message is deleted from the delivery queue once its entry is sent
    const deadline = Date.now() + 15_000;
    let backlog = await fleet.deliveryBacklog();
    while (backlog > 0 && Date.now() < deadline) {
      await new Promise((done) => setTimeout(done, 200));
      backlog = await fleet.deliveryBacklog();
    }
    expect(backlog).toBe(0);

    // nothing ever arrives from the NAT address (no task sends outside a flow it owns)
    expect(clients.received.filter((d) => d.fromAddress === fleet.natAddress)).toEqual([]);
    for (const d of pushes()) {
      expect(`${d.fromAddress}:${d.fromPort}`).toBe(`${fleet.vip}:${UDP_LISTENER.port}`);
      expect(text(d.data)).toBe(`push#${d.socket}`);
    }
    // all of them arrived, once each, and no task recorded a failure: the task that consumed a
    // message relayed its entry to the task owning the flow (docs/FLEET.md)
    const arrived = pushes().map((d) => d.socket);
    expect(arrived).toHaveLength(CLIENTS);
    expect(new Set(arrived).size).toBe(CLIENTS);
    expect(failed()).toEqual([]);
  }, 120_000);

  test('flow and member items are in the directory table; the configuration table holds only Listener and PacketSource records', async () => {
    const dynamo = new DynamoDBClient({ region: fleet.region, endpoint: fleet.endpoints.dynamodb, credentials: { accessKeyId: 'fleet', secretAccessKey: 'fleet' } });
    try {
      const keys = async (table: string): Promise<string[]> => {
        const out = await dynamo.send(new ScanCommand({ TableName: table, ProjectionExpression: 'pk' }));
        return (out.Items ?? []).map((item) => item.pk.S!);
      };
      const directory = await keys(fleet.directoryTableName);
      expect(directory.filter((k) => k.startsWith('member#'))).toHaveLength(TASKS);
      expect(directory.filter((k) => k.startsWith('flow#')).length).toBeGreaterThanOrEqual(CLIENTS);
      const configuration = await keys(fleet.tableName);
      expect(configuration.length).toBeGreaterThan(0);
      expect(configuration.filter((k) => !/^(LISTENER|SOURCE)#/.test(k))).toEqual([]);
    } finally {
      dynamo.destroy();
    }
  });

  test('a task stopped with SIGTERM exits 0; started again, it answers the flows the load balancer keeps sending it', async () => {
    const ports = new Map(clients.ports.map((port, socket) => [port, socket]));
    const owned = fleet.owners().filter((f) => f.task === 1 && ports.has(f.clientPort)).map((f) => ports.get(f.clientPort)!);
    expect(owned.length).toBeGreaterThan(0);
    expect(await fleet.stopTask(1, 'SIGTERM')).toBe(0);
    expect(fleet.isRunning(1)).toBe(false);
    expect(fleet.logs(1).map((r) => r.message)).toContain('stopped');

    await fleet.startTask(1);
    expect(fleet.isRunning(1)).toBe(true);
    const before = clients.received.length;
    await clients.send(fleet.vip, UDP_LISTENER.port, Buffer.from('again'), { indexed: true, sockets: owned });
    const again = (): typeof clients.received => clients.received.slice(before).filter((d) => text(d.data).startsWith('again#'));
    await clients.waitFor(() => again().length === owned.length, 30_000, `a reply at each of the ${owned.length} clients of task 1`);
    expect(new Set(again().map((d) => d.socket))).toEqual(new Set(owned));
    for (const d of again()) expect(`${d.fromAddress}:${d.fromPort}`).toBe(`${fleet.vip}:${UDP_LISTENER.port}`);
    expect(await fleet.drainIngress((got) => got.length >= owned.length, 30_000)).toHaveLength(owned.length);

    // the restarted task is a new fleet member: it owns those flows now, and pushes for them reach
    // the clients from the VIP whichever task consumes them
    const beforePush = clients.received.length;
    for (const socket of owned) {
      await fleet.publish([{ Data: Buffer.from(`after#${socket}`).toString('base64'), Remote: { Address: fleet.clientAddress, Port: clients.ports[socket] } }]);
    }
    const after = (): typeof clients.received => clients.received.slice(beforePush).filter((d) => text(d.data).startsWith('after#'));
    // a long poll the stopped task left open may still take a message: it is received again after
    // the delivery queue's visibility timeout (30 s), so allow for that
    await clients.waitFor(() => after().length >= owned.length, 45_000, `a push at each of the ${owned.length} clients of the restarted task`);
    expect(after()).toHaveLength(owned.length);
    expect(new Set(after().map((d) => d.socket))).toEqual(new Set(owned));
    for (const d of after()) expect(`${d.fromAddress}:${d.fromPort}`).toBe(`${fleet.vip}:${UDP_LISTENER.port}`);
    expect(clients.received.filter((d) => d.fromAddress === fleet.natAddress)).toEqual([]);
    expect(fleet.logs().filter((r) => r.message === FAILURE_LOG_MESSAGE)).toEqual([]);
  }, 120_000);

  test('stopping the fleet removes every namespace of its prefix', async () => {
    await fleet.stop();
    expect(labNamespaces(prefix)).toEqual([]);
  }, 60_000);
});

describeFleet(`a fleet that cannot start${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  test('rejects naming the task and its output, and leaves no namespace behind', async () => {
    const prefix = `pfx${Date.now().toString(16).slice(-5)}`;
    const bundled = existsSync(join(__dirname, '..', '..', 'assets', 'service', 'index.js'));
    await expect(startFleet({ tasks: 1, prefix, logLevel: 'LOUD', service: bundled ? 'bundle' : 'source' }))
      .rejects.toThrow(/^task 1 exited \(2\); its last output:\n[^]*--log-level "LOUD" is not valid/);
    expect(labNamespaces(prefix)).toEqual([]);
  }, 60_000);
});
