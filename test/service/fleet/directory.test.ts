import { GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoDbConfigSource } from '../../../service/config/dynamodb-config-source';
import { FleetDirectory } from '../../../service/fleet/directory';
import { FleetMembership } from '../../../service/fleet/membership';
import { LocalDynamo } from '../../support/local-dynamo';

class CountingMetrics {
  readonly counts = new Map<string, number>();
  increment(metric: string, value = 1): void {
    this.counts.set(metric, (this.counts.get(metric) ?? 0) + value);
  }
  observe(): void {
    // not counted
  }
}

function lookup(directory: FleetDirectory, key: string): Promise<string | undefined> {
  return new Promise((resolve) => directory.lookup(key, resolve));
}

describe('fleet directory and membership on dynalite', () => {
  let dynamo: LocalDynamo;
  beforeAll(async () => {
    dynamo = await LocalDynamo.start();
  });
  afterAll(() => dynamo.stop());

  test('claims are coalesced into batch writes and carry owner, time and TTL', async () => {
    const tableName = await dynamo.createTable();
    const metrics = new CountingMetrics();
    const directory = new FleetDirectory({ documents: dynamo.documents, tableName, memberId: 'a', metrics, flushMs: 20 });
    for (let i = 0; i < 60; i++) directory.claimFlow('udp-main', '198.51.100.2', 40000 + i);
    directory.claimFlow('udp-main', '198.51.100.2', 40055); // claimed again before its write: one item
    directory.claimPeer('wg', 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=', '198.51.100.3', 51000);
    await directory.flush();
    expect(directory.writes).toBe(61);
    const item = (await dynamo.documents.send(new GetCommand({ TableName: tableName, Key: { pk: 'flow#udp-main#198.51.100.2#40001' } }))).Item;
    expect(item).toEqual({ pk: 'flow#udp-main#198.51.100.2#40001', member: 'a', since: expect.any(Number), expiresAt: expect.any(Number) });
    expect(item!.expiresAt - Math.floor(item!.since / 1000)).toBe(7 * 24 * 3600);
    const peer = (await dynamo.documents.send(new GetCommand({ TableName: tableName, Key: { pk: 'peer#wg#xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=' } }))).Item;
    expect(peer).toMatchObject({ member: 'a', endpoint: '198.51.100.3:51000' });
  });

  test('claims carry the owner\'s region; an owner of another region is answered with its region, one of this region without', async () => {
    const tableName = await dynamo.createTable();
    const east = new FleetDirectory({ documents: dynamo.documents, tableName, memberId: 'east-1', region: 'us-east-1', metrics: new CountingMetrics(), flushMs: 5 });
    east.claimFlow('udp-main', '198.51.100.2', 1);
    await east.flush();
    const item = (await dynamo.documents.send(new GetCommand({ TableName: tableName, Key: { pk: 'flow#udp-main#198.51.100.2#1' } }))).Item;
    expect(item).toMatchObject({ member: 'east-1', region: 'us-east-1' });
    const answers = (directory: FleetDirectory): Promise<[string | undefined, string | undefined]> =>
      new Promise((resolve) => directory.lookup('flow#udp-main#198.51.100.2#1', (owner, region) => resolve([owner, region])));
    const europe = new FleetDirectory({ documents: dynamo.documents, tableName, memberId: 'eu-1', region: 'eu-west-1', metrics: new CountingMetrics() });
    await expect(answers(europe)).resolves.toEqual(['east-1', 'us-east-1']);
    await expect(answers(europe)).resolves.toEqual(['east-1', 'us-east-1']); // from the cache
    const sameRegion = new FleetDirectory({ documents: dynamo.documents, tableName, memberId: 'east-2', region: 'us-east-1', metrics: new CountingMetrics() });
    await expect(answers(sameRegion)).resolves.toEqual(['east-1', undefined]);
  });

  test('lookups read missed keys together and then answer from the cache', async () => {
    const tableName = await dynamo.createTable();
    const writer = new FleetDirectory({ documents: dynamo.documents, tableName, memberId: 'b', metrics: new CountingMetrics(), flushMs: 5 });
    writer.claimFlow('udp-main', '198.51.100.2', 1);
    writer.claimFlow('udp-main', '198.51.100.2', 2);
    await writer.flush();
    const metrics = new CountingMetrics();
    const reader = new FleetDirectory({ documents: dynamo.documents, tableName, memberId: 'a', metrics });
    const sent: string[] = [];
    const documents = dynamo.documents;
    const send = documents.send.bind(documents);
    const spy = jest.spyOn(documents, 'send').mockImplementation(((command: { constructor: { name: string } }) => {
      sent.push(command.constructor.name);
      return send(command as never);
    }) as never);
    try {
      const owners = await Promise.all([
        lookup(reader, 'flow#udp-main#198.51.100.2#1'),
        lookup(reader, 'flow#udp-main#198.51.100.2#2'),
        lookup(reader, 'flow#udp-main#198.51.100.2#3'),
      ]);
      expect(owners).toEqual(['b', 'b', undefined]);
      expect(sent).toEqual(['BatchGetCommand']);
      await expect(lookup(reader, 'flow#udp-main#198.51.100.2#1')).resolves.toBe('b');
      expect(sent).toEqual(['BatchGetCommand']);
      expect(metrics.counts.get('OwnerLookups')).toBe(4);
      expect(metrics.counts.get('OwnerCacheHits')).toBe(1);
      reader.forget('flow#udp-main#198.51.100.2#1');
      await expect(reader.lookupConsistent('flow#udp-main#198.51.100.2#1')).resolves.toBe('b');
      expect(sent).toEqual(['BatchGetCommand', 'GetCommand']);
    } finally {
      spy.mockRestore();
    }
  });

  test('a peer lookup by endpoint that cannot read the table fails and is logged: it is no answer about the endpoint', async () => {
    const warnings: unknown[] = [];
    const logger = { warn: (...args: unknown[]) => warnings.push(args) };
    const directory = new FleetDirectory({
      documents: dynamo.documents, tableName: 'no-such-table', memberId: 'a', metrics: new CountingMetrics(), logger: logger as never,
    });
    const answer = await new Promise((resolve) => directory.peerAt('wg', '198.51.100.2', 40000, (key, failed) => resolve([key, failed])));
    expect(answer).toEqual([undefined, true]);
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings[0])).toContain('fleet directory read failed');
  });

  test('the configuration source ignores directory and member items', async () => {
    const tableName = await dynamo.createTable();
    await dynamo.documents.send(new PutCommand({
      TableName: tableName,
      Item: { pk: 'LISTENER#udp-main', kind: 'Listener', record: { Name: 'udp-main', Protocol: 'udp', Port: 5555, Destinations: [] } },
    }));
    const directory = new FleetDirectory({ documents: dynamo.documents, tableName, memberId: 'a', metrics: new CountingMetrics() });
    directory.claimFlow('udp-main', '198.51.100.2', 40000);
    await directory.flush();
    const membership = new FleetMembership({ documents: dynamo.documents, tableName, self: { memberId: 'a', address: '10.20.0.11' }, relayPort: 7470 });
    await membership.start();
    const errors: unknown[] = [];
    const logger = { error: (...args: unknown[]) => errors.push(args), warn: () => undefined, info: () => undefined };
    const source = new DynamoDbConfigSource({ client: dynamo.documents, tableName, logger: logger as never });
    const config = await source.start();
    await source.stop();
    await membership.stop();
    expect(config.Listeners.map((l) => l.Name)).toEqual(['udp-main']);
    expect(errors).toEqual([]);
  });

  test('a member is announced, found by others, suspected on demand and removed at stop', async () => {
    const tableName = await dynamo.createTable();
    const b = new FleetMembership({ documents: dynamo.documents, tableName, self: { memberId: 'b', address: '10.20.0.12' }, relayPort: 7470 });
    await b.start();
    const item = (await dynamo.documents.send(new GetCommand({ TableName: tableName, Key: { pk: 'member#b' } }))).Item;
    expect(item).toMatchObject({ relay: '10.20.0.12:7470', draining: false, expiresAt: expect.any(Number) });
    let now = Date.now();
    const a = new FleetMembership({ documents: dynamo.documents, tableName, self: { memberId: 'a', address: '10.20.0.11' }, relayPort: 7470, now: () => now, peerCacheMs: 0 });
    const peerOf = (id: string) => new Promise((resolve) => a.peer(id, resolve));
    await expect(peerOf('b')).resolves.toEqual({ memberId: 'b', address: '10.20.0.12', port: 7470 });
    await expect(peerOf('nobody')).resolves.toBeUndefined();
    a.suspect('b');
    await expect(peerOf('b')).resolves.toBeUndefined();
    now += 10_001;
    await expect(peerOf('b')).resolves.toEqual({ memberId: 'b', address: '10.20.0.12', port: 7470 });
    await b.drain();
    expect((await dynamo.documents.send(new GetCommand({ TableName: tableName, Key: { pk: 'member#b' } }))).Item).toMatchObject({ draining: true });
    await b.stop();
    await expect(peerOf('b')).resolves.toBeUndefined();
    const left = await dynamo.documents.send(new ScanCommand({ TableName: tableName }));
    expect(left.Items).toEqual([]);
  });
});
