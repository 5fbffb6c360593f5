import type { EgressDatagram, Failure, ListenerHandle } from '../../../service/contracts';
import { FlowTable } from '../../../service/egress/flow-table';
import { Fleet } from '../../../service/fleet/fleet';
import { RegionForwarder } from '../../../service/fleet/region-forwarder';
import { RelayOutcome, RelayRequest } from '../../../service/fleet/relay-codec';
import { startService } from '../../../service/runtime';
import { fleetMembers } from '../../support/fleet-members';

const SECRET = Buffer.alloc(32, 3);
const NO_METRICS = { increment: () => undefined, observe: () => undefined };
const QUIET = { info: () => undefined, warn: () => undefined, debug: () => undefined };

/** A fleet member with a Listener that records what it sends. */
interface TestMember {
  readonly fleet: Fleet;
  readonly flows: FlowTable;
  readonly sent: EgressDatagram[];
  readonly listener: ListenerHandle;
}

function send(member: TestMember, port: number, deadline = 0): Promise<Failure | undefined> {
  return new Promise((resolve) => member.fleet.send(member.listener, { data: Buffer.from(`to ${port}`), address: '198.51.100.2', port }, { messageId: 'm', index: 0, deadline }, resolve));
}

describe('fleet: entries leave from the member owning their flow', () => {
  const members = fleetMembers(SECRET);

  /** `sendMs`: how long the Listener takes to complete a send (its callback is called then). */
  async function member(
    memberId: string,
    retryBudgetMs = 3_000,
    region?: string,
    forwarder?: RegionForwarder,
    { suspectMs, sendMs }: { suspectMs?: number; sendMs?: number } = {},
  ): Promise<TestMember> {
    const sent: EgressDatagram[] = [];
    const listener: ListenerHandle = {
      name: 'udp-main',
      protocol: 'udp',
      address: '0.0.0.0',
      port: 5555,
      send: (d, done) => {
        sent.push(d);
        if (sendMs === undefined) done?.(undefined);
        else setTimeout(() => done?.(undefined), sendMs);
      },
    };
    const { fleet, flows } = await members.start({ memberId, listener, retryBudgetMs, region, forwarder, suspectMs });
    return { fleet, flows, sent, listener };
  }

  test('an own flow is sent from the local Listener without a directory read', async () => {
    const a = await member('a');
    a.flows.touch('udp-main', '198.51.100.2', 40000);
    await expect(send(a, 40000)).resolves.toBeUndefined();
    expect(a.sent.map((d) => d.port)).toEqual([40000]);
  });

  test('an entry whose Remote.Address is written another way finds its own flow and is sent at once', async () => {
    const a = await member('a');
    a.flows.touch('udp-main', '198.51.100.2', 40000);
    const started = Date.now();
    const failure = await new Promise((resolve) => a.fleet.send(a.listener, { data: Buffer.from('x'), address: '::ffff:198.51.100.2', port: 40000 }, { messageId: 'm', index: 0, deadline: 0 }, resolve));
    expect(failure).toBeUndefined();
    expect(Date.now() - started).toBeLessThan(200); // no wait for an owner
    expect(a.sent.map((d) => [d.address, d.port])).toEqual([['198.51.100.2', 40000]]);
  });

  test('an IPv6 Remote.Address written out in full and in upper case is relayed to the member owning its flow', async () => {
    const a = await member('a');
    const b = await member('b');
    b.flows.touch('udp-main', '2001:db8::5', 40020);
    await b.fleet.directory.flush();
    const failure = await new Promise((resolve) => a.fleet.send(
      a.listener, { data: Buffer.from('x'), address: '2001:0DB8:0000:0000:0000:0000:0000:0005', port: 40020 }, { messageId: 'm', index: 0, deadline: 0 }, resolve,
    ));
    expect(failure).toBeUndefined();
    expect(a.sent).toEqual([]);
    expect(b.sent.map((d) => [d.address, d.port])).toEqual([['2001:db8::5', 40020]]);
  });

  test('a relayed entry whose address is written another way is served by the member owning its flow', async () => {
    const b = await member('b');
    b.flows.touch('udp-main', '198.51.100.2', 40021);
    const answers: unknown[] = [];
    const request: RelayRequest = { requestId: 1, to: 'b', deadline: 0, listener: 'udp-main', address: '::FFFF:198.51.100.2', port: 40021, messageId: 'm', index: 0, data: Buffer.from('x') };
    b.fleet.serve(request, 'a', (answer) => answers.push(answer));
    expect(answers).toEqual([{ outcome: RelayOutcome.Sent }]);
    expect(b.sent.map((d) => [d.address, d.port])).toEqual([['198.51.100.2', 40021]]);
  });

  test('a Remote.Address that is no IP address still waits for an owner and fails NoActiveFlow', async () => {
    const a = await member('a', 600);
    a.flows.touch('udp-main', '198.51.100.2', 40022);
    const failure = await new Promise<Failure | undefined>((resolve) => a.fleet.send(a.listener, { data: Buffer.from('x'), address: 'not-an-address', port: 40022 }, { messageId: 'm', index: 0, deadline: 0 }, resolve));
    expect(failure?.code).toBe('NoActiveFlow');
    expect(a.sent).toEqual([]);
  });

  test('a flow owned by another member is relayed and sent there', async () => {
    const a = await member('a');
    const b = await member('b');
    b.flows.touch('udp-main', '198.51.100.2', 40001);
    await b.fleet.directory.flush();
    await expect(send(a, 40001)).resolves.toBeUndefined();
    expect(a.sent).toEqual([]);
    expect(b.sent.map((d) => [d.port, d.data.toString()])).toEqual([[40001, 'to 40001']]);
  });

  test('an entry whose flow has no owner yet waits for one instead of failing at once', async () => {
    const a = await member('a');
    const b = await member('b');
    const result = send(a, 40002);
    await new Promise((r) => setTimeout(r, 400));
    b.flows.touch('udp-main', '198.51.100.2', 40002); // the client's next datagram lands on b
    await expect(result).resolves.toBeUndefined();
    expect(b.sent.map((d) => d.port)).toEqual([40002]);
    expect(a.sent).toEqual([]);
  });

  test('a flow owned in another region is never relayed there; it waits for an owner in this region', async () => {
    const a = await member('a', 3_000, 'us-east-1');
    const b = await member('b', 3_000, 'eu-west-1');
    const c = await member('c', 3_000, 'us-east-1');
    b.flows.touch('udp-main', '198.51.100.2', 40010);
    await b.fleet.directory.flush();
    const result = send(a, 40010);
    await new Promise((r) => setTimeout(r, 400));
    expect(b.sent).toEqual([]);
    c.flows.touch('udp-main', '198.51.100.2', 40010); // the client moved to this region: c owns the flow now
    await expect(result).resolves.toBeUndefined();
    expect(c.sent.map((d) => d.port)).toEqual([40010]);
    expect(b.sent).toEqual([]);
    expect(a.sent).toEqual([]);
  });

  test('an entry of a message without EgressRegion whose flow another region owns goes to that region\'s delivery queue', async () => {
    const commands: Array<{ region: string; input: any }> = [];
    const forwarder = new RegionForwarder({
      region: 'us-east-1',
      queueUrls: new Map([['eu-west-1', 'https://sqs.eu-west-1.amazonaws.com/123456789012/delivery']]),
      sqs: (region) => ({ send: async (command) => { commands.push({ region, input: command.input }); } }),
      metrics: NO_METRICS,
    });
    const a = await member('a', 3_000, 'us-east-1', forwarder);
    const b = await member('b', 3_000, 'eu-west-1');
    b.flows.touch('udp-main', '198.51.100.2', 40012);
    await b.fleet.directory.flush();
    const notification = { Type: 'Notification', MessageId: 'm', Message: '{}' };
    const failure = await new Promise((resolve) => a.fleet.send(
      a.listener, { data: Buffer.from('x'), address: '198.51.100.2', port: 40012 }, { messageId: 'm', index: 3, deadline: 0, notification }, resolve,
    ));
    expect(failure).toBeUndefined();
    expect(commands).toEqual([{
      region: 'eu-west-1',
      input: expect.objectContaining({ QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/delivery', MessageBody: JSON.stringify(notification) }),
    }]);
    expect(commands[0].input.MessageAttributes.PacketGatewayForwardedEntries.StringValue).toBe('3');
    expect(a.sent).toEqual([]);
    expect(b.sent).toEqual([]);
  });

  test('members of one region relay to each other as before', async () => {
    const a = await member('a', 3_000, 'us-east-1');
    const b = await member('b', 3_000, 'us-east-1');
    b.flows.touch('udp-main', '198.51.100.2', 40011);
    await b.fleet.directory.flush();
    await expect(send(a, 40011)).resolves.toBeUndefined();
    expect(b.sent.map((d) => d.port)).toEqual([40011]);
  });

  test('an entry without an owner within the budget fails NoActiveFlow; one past its TTL fails Expired', async () => {
    const a = await member('a', 600);
    const started = Date.now();
    const failure = await send(a, 40003);
    expect(failure?.code).toBe('NoActiveFlow');
    expect(failure?.reason).toMatch(/no fleet member owns a flow from 198\.51\.100\.2:40003 to Listener udp-main/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    await expect(send(a, 40004, Date.now() + 300)).resolves.toMatchObject({ code: 'Expired' });
  });

  test('an owner whose relay does not answer is suspected and the entry goes to the next owner', async () => {
    const a = await member('a', 5_000);
    const b = await member('b');
    const c = await member('c');
    b.flows.touch('udp-main', '198.51.100.2', 40005);
    await b.fleet.directory.flush();
    await b.fleet.relay.stop(); // b dies without a word
    const result = send(a, 40005);
    await new Promise((r) => setTimeout(r, 900)); // three unanswered tries
    c.flows.touch('udp-main', '198.51.100.2', 40005); // the load balancer moved the flow to c
    await expect(result).resolves.toBeUndefined();
    expect(c.sent.map((d) => d.port)).toEqual([40005]);
    expect(b.sent).toEqual([]);
  });

  test('an entry retried after its owner\'s answer came late is sent by the owner once', async () => {
    const a = await member('a', 5_000, undefined, undefined, { suspectMs: 300 });
    const b = await member('b', 3_000, undefined, undefined, { sendMs: 1_000 }); // answers after 1000 ms: a's relay times out first
    b.flows.touch('udp-main', '198.51.100.2', 40023);
    await b.fleet.directory.flush();
    await expect(send(a, 40023)).resolves.toBeUndefined(); // the retry after the suspect time is answered from b's answers
    expect(b.sent.map((d) => d.port)).toEqual([40023]);
    expect(a.sent).toEqual([]);
  });

  test('an entry its owner answered NotOwner is sent there once the flow is there again', async () => {
    const a = await member('a', 5_000);
    const b = await member('b');
    b.flows.touch('udp-main', '198.51.100.2', 40025, Date.now() - 200_000); // expired: b answers NotOwner
    await b.fleet.directory.flush();
    const result = send(a, 40025);
    await new Promise((r) => setTimeout(r, 400));
    expect(b.sent).toEqual([]);
    b.flows.touch('udp-main', '198.51.100.2', 40025); // the client's next datagram lands on b again
    await expect(result).resolves.toBeUndefined();
    expect(b.sent.map((d) => d.port)).toEqual([40025]);
  });

  test('a try answered NotOwner sent nothing: unless a try timed out, the next try takes a new requestId', async () => {
    const a = await member('a', 5_000);
    const b = await member('b');
    const requestIds: number[] = [];
    const serve = b.fleet.serve.bind(b.fleet);
    jest.spyOn(b.fleet, 'serve').mockImplementation((request: RelayRequest, sender, answer) => {
      requestIds.push(request.requestId);
      serve(request, sender, answer);
    });
    b.flows.touch('udp-main', '198.51.100.2', 40026, Date.now() - 200_000); // expired: b answers NotOwner
    await b.fleet.directory.flush();
    const result = send(a, 40026);
    await new Promise((r) => setTimeout(r, 400));
    b.flows.touch('udp-main', '198.51.100.2', 40026);
    await expect(result).resolves.toBeUndefined();
    expect(b.sent.map((d) => d.port)).toEqual([40026]);
    expect(requestIds.length).toBeGreaterThanOrEqual(2);
    expect(new Set(requestIds).size).toBe(requestIds.length); // a member that remembers NotOwner answers still serves the next try
  });

  test('an entry whose relay requests never leave this member ends SendFailed with the socket\'s error, not NoActiveFlow', async () => {
    const a = await member('a', 600);
    const b = await member('b');
    b.flows.touch('udp-main', '198.51.100.2', 40027);
    await b.fleet.directory.flush();
    const failure = { code: 'SendFailed' as const, reason: 'relay request to fleet member b could not be sent: send EINVAL' };
    jest.spyOn(a.fleet.relay, 'request').mockImplementation((_to, _request, done) => done({ outcome: 'SendError', code: 'EINVAL', failure }));
    await expect(send(a, 40027)).resolves.toEqual(failure);
    expect(b.sent).toEqual([]);
  });

  test('a payload too large for the relay fails PayloadTooLarge at once and its owner stays a relay target', async () => {
    // ECS task ids and an SNS MessageId: the lengths the relay datagram carries in a deployment
    const a = await member('0123456789abcdef0123456789abcdef');
    const b = await member('fedcba9876543210fedcba9876543210');
    b.flows.touch('udp-main', '198.51.100.2', 40024);
    await b.fleet.directory.flush();
    const started = Date.now();
    const failure = await new Promise<Failure | undefined>((resolve) => a.fleet.send(
      a.listener, { data: Buffer.alloc(65_400, 1), address: '198.51.100.2', port: 40024 }, { messageId: '5b0e6b5e-8c2f-5e2b-9f1a-2c9d4b7e1a3f', index: 0, deadline: 0 }, resolve,
    ));
    expect(failure?.code).toBe('PayloadTooLarge');
    expect(failure?.reason).toMatch(/^payload of 65400 bytes cannot be relayed to fleet member fedcba9876543210fedcba9876543210, which owns the flow: the relay datagram would be 65580 bytes, above 65507 \(largest relayable payload of this entry: 65327 bytes\)$/);
    expect(Date.now() - started).toBeLessThan(200); // no relay tries, no Timeout
    expect(b.sent).toEqual([]);
    const peer = await new Promise((resolve) => a.fleet.membership.peer(b.fleet.memberId, resolve));
    expect(peer).toMatchObject({ memberId: b.fleet.memberId }); // not suspect
    await expect(send(a, 40024)).resolves.toBeUndefined();
    expect(b.sent.map((d) => d.data.length)).toEqual([8]);
  });

  test('a relayed entry the owner no longer holds is answered NotOwner and not sent there', async () => {
    const a = await member('a', 800);
    const b = await member('b');
    b.flows.touch('udp-main', '198.51.100.2', 40006, Date.now() - 200_000); // long expired
    await b.fleet.directory.flush();
    await expect(send(a, 40006)).resolves.toMatchObject({ code: 'NoActiveFlow' });
    expect(b.sent).toEqual([]);
  });

  test('a draining member sends for none of its flows: relays get NotOwner and go to the member the client moved to', async () => {
    const a = await member('a', 5_000);
    const b = await member('b');
    const c = await member('c');
    b.flows.touch('udp-main', '198.51.100.2', 40007);
    await b.fleet.directory.flush();
    await b.fleet.drain(); // SIGTERM: the load balancer has ended b's flows
    expect(b.fleet.isDraining).toBe(true);
    const result = send(a, 40007);
    await new Promise((r) => setTimeout(r, 400)); // answered NotOwner, not sent from b
    expect(b.sent).toEqual([]);
    c.flows.touch('udp-main', '198.51.100.2', 40007); // the client's next datagram lands on c
    await expect(result).resolves.toBeUndefined();
    expect(c.sent.map((d) => d.port)).toEqual([40007]);
    expect(b.sent).toEqual([]);
    expect(a.sent).toEqual([]);
  });

  test('a draining member whose Listeners are already closed answers NotOwner, not SendFailed', async () => {
    const a = await member('a', 5_000);
    const b = await member('b');
    b.flows.touch('udp-main', '198.51.100.2', 40014);
    await b.fleet.directory.flush();
    await b.fleet.drain();
    const answers: unknown[] = [];
    const request: RelayRequest = { requestId: 1, to: 'b', deadline: 0, listener: 'gone', address: '198.51.100.2', port: 40014, messageId: 'm', index: 0, data: Buffer.from('x') };
    b.fleet.serve(request, 'a', (answer) => answers.push(answer));
    expect(answers).toEqual([{ outcome: RelayOutcome.NotOwner }]);
    expect(a.sent).toEqual([]);
  });

  test('a draining member hands the entries it holds to the flows\' new owners instead of sending them itself', async () => {
    const b = await member('b', 5_000);
    const c = await member('c');
    b.flows.touch('udp-main', '198.51.100.2', 40008);
    await b.fleet.directory.flush();
    await b.fleet.drain();
    const result = send(b, 40008);
    await new Promise((r) => setTimeout(r, 300));
    expect(b.sent).toEqual([]);
    c.flows.touch('udp-main', '198.51.100.2', 40008);
    await expect(result).resolves.toBeUndefined();
    expect(c.sent.map((d) => d.port)).toEqual([40008]);
    expect(b.sent).toEqual([]);
  });

  test('a draining member is no relay target once its item says so', async () => {
    const a = await member('a', 5_000);
    const b = await member('b');
    b.flows.touch('udp-main', '198.51.100.2', 40009);
    await b.fleet.directory.flush();
    await b.fleet.drain();
    const peer = await new Promise((resolve) => a.fleet.membership.peer('b', resolve));
    expect(peer).toMatchObject({ memberId: 'b', draining: true });
    let served = 0;
    const serve = b.fleet.serve.bind(b.fleet);
    b.fleet.serve = (...args) => {
      served++;
      serve(...args);
    };
    const result = send(a, 40009);
    await new Promise((r) => setTimeout(r, 600));
    expect(served).toBe(0); // the entry waits; nothing is relayed to b
    const c = await member('c');
    c.flows.touch('udp-main', '198.51.100.2', 40009);
    await expect(result).resolves.toBeUndefined();
    expect(c.sent.map((d) => d.port)).toEqual([40009]);
  });

  test('stopped after draining, a member leaves the entries still waiting unsettled (their message returns through the queue)', async () => {
    const b = await member('b', 5_000);
    await b.fleet.drain();
    let settled: Failure | undefined | 'no' = 'no';
    b.fleet.send(b.listener, { data: Buffer.from('x'), address: '198.51.100.2', port: 40010 }, { messageId: 'm', index: 0, deadline: 0 }, (f) => {
      settled = f;
    });
    await new Promise((r) => setTimeout(r, 100));
    await b.fleet.stop();
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe('no');
    expect(b.sent).toEqual([]);
  });

  test('a flow held for 3.5 days has its directory item written once more; a draining member refreshes nothing', async () => {
    const b = await member('b');
    b.flows.touch('udp-main', '198.51.100.2', 40012);
    await b.fleet.directory.flush();
    const written = b.fleet.directory.writes;
    expect(b.fleet.claims.size).toBe(1);
    b.flows.touch('udp-main', '198.51.100.2', 40012, Date.now() + 3.5 * 24 * 3600 * 1000); // still talking
    expect(b.fleet.claims.check(Date.now() + 3.5 * 24 * 3600 * 1000)).toBe(1);
    await b.fleet.directory.flush();
    expect(b.fleet.directory.writes).toBe(written + 1);
    await b.fleet.drain();
    expect(b.fleet.claims.check(Date.now() + 7 * 24 * 3600 * 1000)).toBe(0);
    // nor does it claim a flow a late datagram starts
    b.flows.touch('udp-main', '198.51.100.2', 40013);
    await b.fleet.directory.flush();
    expect(b.fleet.directory.writes).toBe(written + 1);
  });

  test('stopped without draining, a member fails the entries still waiting NoActiveFlow', async () => {
    const b = await member('b', 5_000);
    const result = send(b, 40011);
    await new Promise((r) => setTimeout(r, 100));
    await b.fleet.stop();
    await expect(result).resolves.toMatchObject({ code: 'NoActiveFlow', reason: expect.stringContaining('this member is stopping') });
  });
});

describe('fleet: the service turns it on only with a relay port and a directory table', () => {
  test('a relay port without a directory table stops the start, naming both variables', async () => {
    await expect(startService({
      mode: 'aws',
      region: 'us-east-1',
      host: '127.0.0.1',
      healthPort: 0,
      snsPort: 0,
      tableName: 'config-table',
      tagSecret: SECRET,
      relayPort: 0,
      metricsIntervalSeconds: 0,
      logger: QUIET as never,
    })).rejects.toThrow(/PACKET_GATEWAY_RELAY_PORT 0\) needs the fleet's directory table \(PACKET_GATEWAY_DIRECTORY_TABLE\)/);
  });
});
