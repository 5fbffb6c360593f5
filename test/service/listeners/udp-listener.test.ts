import type { Failure, InboundDatagram, IngressSink, ListenerHandle } from '../../../service/contracts';
import { EgressPolicy } from '../../../service/egress/egress-policy';
import { FlowTable } from '../../../service/egress/flow-table';
import { createListener } from '../../../service/listener-factory';
import { UdpListener } from '../../../service/listeners/udp-listener';
import { CapturingFailureReporter, CapturingMetrics, silentLogger, UdpClient } from '../helpers';

class RecordingSink implements IngressSink {
  public readonly datagrams: InboundDatagram[] = [];
  public accept(_listener: ListenerHandle, datagram: InboundDatagram): void {
    this.datagrams.push(datagram);
  }
}

function send(listener: UdpListener, datagram: Parameters<UdpListener['send']>[0]): Promise<Failure | undefined> {
  return new Promise((resolve) => listener.send(datagram, resolve));
}

async function start(options: Partial<ConstructorParameters<typeof UdpListener>[0]> = {}) {
  const listener = new UdpListener({
    record: { Name: 'l', Protocol: 'udp', Port: 0, MaxPayloadBytes: 100, Destinations: [], ...options.record },
    sink: new RecordingSink(),
    logger: silentLogger,
    defaultBindAddress: '127.0.0.1',
    egress: new EgressPolicy({ allowLoopback: true }),
    ...options,
  });
  await listener.start();
  return listener;
}

describe('UdpListener.send', () => {
  test('sends from the Listener socket', async () => {
    const listener = await start();
    const client = await UdpClient.open();
    try {
      expect(await send(listener, { data: Buffer.from('hi'), address: '127.0.0.1', port: client.port })).toBeUndefined();
      await client.waitFor(1);
      expect(client.received[0].from).toMatchObject({ address: '127.0.0.1', port: listener.port });
    } finally {
      await client.close();
      await listener.close();
    }
  });

  test.each([
    [{ port: 0 }, 'InvalidPort', 'port 0 is not valid (allowed: integer 1–65535)'],
    [{ port: 70000 }, 'InvalidPort', 'port 70000 is not valid (allowed: integer 1–65535)'],
    [{ port: 1.5 }, 'InvalidPort', 'port 1.5 is not valid (allowed: integer 1–65535)'],
    [{ address: 'example.com' }, 'InvalidAddress', '"example.com" is not an IP address (allowed: IPv4 dotted quad or IPv6 without zone)'],
    [{ address: '::1' }, 'InvalidAddress', 'Listener l is bound to IPv4 127.0.0.1 and cannot send to IPv6 ::1'],
    [{ data: Buffer.alloc(101) }, 'PayloadTooLarge', "payload of 101 bytes exceeds the Listener's MaxPayloadBytes 100"],
    [{ address: '169.254.169.254' }, 'DestinationDenied', "169.254.169.254 is link-local (169.254.0.0/16, fe80::/10); egress there is denied unless the Listener's EgressAllowedNetworks covers it"],
    [{ address: '255.255.255.255' }, 'DestinationDenied', "255.255.255.255 is broadcast (255.255.255.255/32); egress there is denied unless the Listener's EgressAllowedNetworks covers it"],
  ])('refuses %j with %s before anything reaches the wire', async (override, code, reason) => {
    const listener = await start();
    try {
      expect(await send(listener, { data: Buffer.from('x'), address: '127.0.0.1', port: 9, ...override })).toEqual({ code, reason });
    } finally {
      await listener.close();
    }
  });

  test('a remote sent to before is remembered in canonical form; other texts are still judged', async () => {
    const flows = new FlowTable();
    const listener = await start({ flows, requireActiveFlow: true });
    const client = await UdpClient.open();
    try {
      flows.touch('l', '127.0.0.1', client.port);
      for (let i = 0; i < 3; i++) {
        expect(await send(listener, { data: Buffer.from('x'), address: '::ffff:127.0.0.1', port: client.port })).toBeUndefined();
      }
      await client.waitFor(3);
      expect((await send(listener, { data: Buffer.from('x'), address: '127.0.0.01', port: client.port }))?.code).toBe('InvalidAddress');
      expect((await send(listener, { data: Buffer.from('x'), address: '::ffff:169.254.169.254', port: client.port }))?.code).toBe('DestinationDenied');
      expect(await send(listener, { data: Buffer.from('x'), address: '::ffff:127.0.0.1', port: client.port })).toBeUndefined();
      expect(await send(listener, { data: Buffer.from('x'), address: 7 as unknown as string, port: client.port })).toMatchObject({ code: 'InvalidAddress' });
      await client.waitFor(4);
    } finally {
      await client.close();
      await listener.close();
    }
  });

  test('with requireActiveFlow, the datagrams sent in one job check their flow against one reading of the flow table\'s clock', async () => {
    let reads = 0;
    const flows = new FlowTable({ now: () => (reads++, Date.now()) });
    const listener = await start({ flows, requireActiveFlow: true });
    const client = await UdpClient.open();
    try {
      flows.touch('l', '127.0.0.1', client.port, Date.now());
      const failures: Array<Failure | undefined> = [];
      await Promise.resolve();
      const before = reads;
      for (let i = 0; i < 10; i++) listener.send({ data: Buffer.from('x'), address: '127.0.0.1', port: client.port }, (f) => failures.push(f));
      // the Listener's flow checks read the flow table's own clock once for the job, not once per datagram
      expect(reads - before).toBe(1);
      await client.waitFor(10);
      expect(failures).toEqual(new Array(10).fill(undefined));
      // a client without a flow is still refused
      expect((await send(listener, { data: Buffer.from('x'), address: '127.0.0.1', port: client.port + 1 }))?.code).toBe('NoActiveFlow');
    } finally {
      await client.close();
      await listener.close();
    }
  });

  test('with requireActiveFlow, a flow\'s age is told by the flow table\'s own clock', async () => {
    let now = Date.now();
    const flows = new FlowTable({ now: () => now, idleSeconds: 30 });
    const listener = await start({ flows, requireActiveFlow: true });
    const client = await UdpClient.open();
    try {
      flows.touch('l', '127.0.0.1', client.port);
      expect(await send(listener, { data: Buffer.from('x'), address: '127.0.0.1', port: client.port })).toBeUndefined();
      // 31 s later by the table's clock (the wall clock has hardly moved): the flow is idle
      now += 31_000;
      expect((await send(listener, { data: Buffer.from('x'), address: '127.0.0.1', port: client.port }))?.code).toBe('NoActiveFlow');
    } finally {
      await client.close();
      await listener.close();
    }
  });

  test('with requireActiveFlow, only clients that sent recently can be reached', async () => {
    const flows = new FlowTable();
    const listener = await start({ flows, requireActiveFlow: true });
    const client = await UdpClient.open();
    try {
      const failure = await send(listener, { data: Buffer.from('x'), address: '127.0.0.1', port: client.port });
      expect(failure?.code).toBe('NoActiveFlow');
      expect(failure?.reason).toBe(`no active flow from 127.0.0.1:${client.port} to Listener l: the client must have sent to the Listener recently (keepalive ≤ 25 s)`);
      flows.touch('l', '127.0.0.1', client.port);
      expect(await send(listener, { data: Buffer.from('x'), address: '::ffff:127.0.0.1', port: client.port })).toBeUndefined();
      await client.waitFor(1);
    } finally {
      await client.close();
      await listener.close();
    }
  });

  test('a send without a callback reports its refusal to the failure reporter, naming the Listener and remote', async () => {
    const failures = new CapturingFailureReporter();
    const listener = await start({ failures });
    try {
      listener.send({ data: Buffer.from('x'), address: '169.254.169.254', port: 80 });
      listener.send({ data: Buffer.alloc(101), address: '::1', port: 9 });
      expect(failures.records).toEqual([
        { failure: expect.objectContaining({ code: 'DestinationDenied' }), context: { listener: 'l', remote: '169.254.169.254:80' } },
        { failure: expect.objectContaining({ code: 'PayloadTooLarge' }), context: { listener: 'l', remote: '[::1]:9' } },
      ]);
    } finally {
      await listener.close();
    }
    listener.send({ data: Buffer.from('x'), address: '127.0.0.1', port: 9 });
    expect(failures.records[2]).toEqual({ failure: { code: 'SendFailed', reason: 'Listener l is not running' }, context: { listener: 'l', remote: '127.0.0.1:9' } });
  });

  test('a send without a callback that the socket fails reports SendFailed to the failure reporter', async () => {
    const failures = new CapturingFailureReporter();
    // a payload limit above what UDP over IPv4 carries: the socket refuses the datagram (EMSGSIZE)
    const listener = await start({ failures, record: { Name: 'l', Protocol: 'udp', Port: 0, MaxPayloadBytes: 70_000, Destinations: [] } });
    try {
      listener.send({ data: Buffer.alloc(66_000), address: '127.0.0.1', port: 9 });
      await failures.waitFor(1);
      expect(failures.records[0].failure.code).toBe('SendFailed');
      expect(failures.records[0].failure.reason).toMatch(/^send to 127\.0\.0\.1:9 failed: /);
      expect(failures.records[0].context).toEqual({ listener: 'l', remote: '127.0.0.1:9' });
    } finally {
      await listener.close();
    }
  });

  test('after close, sends fail with SendFailed and close is idempotent', async () => {
    const listener = await start();
    await listener.close();
    await listener.close();
    expect(await send(listener, { data: Buffer.from('x'), address: '127.0.0.1', port: 9 })).toEqual({ code: 'SendFailed', reason: 'Listener l is not running' });
    expect(listener.bound).toBe(false);
  });

  test('an IPv6 dual-stack Listener reaches IPv4 and IPv6 clients and reports IPv4 clients plainly', async () => {
    const sink = new RecordingSink();
    const listener = await start({ record: { Name: 'six', Protocol: 'udp', Port: 0, BindAddress: '::', Destinations: [] }, sink });
    const v4 = await UdpClient.open('127.0.0.1');
    const v6 = await UdpClient.open('::1');
    try {
      await v4.send('a', listener.port, '127.0.0.1');
      await v6.send('b', listener.port, '::1');
      await new Promise((r) => setTimeout(r, 50));
      expect(sink.datagrams.map((d) => d.remoteAddress).sort()).toEqual(['127.0.0.1', '::1']);
      expect(await send(listener, { data: Buffer.from('4'), address: '127.0.0.1', port: v4.port })).toBeUndefined();
      expect(await send(listener, { data: Buffer.from('6'), address: '::1', port: v6.port })).toBeUndefined();
      await v4.waitFor(1);
      await v6.waitFor(1);
    } finally {
      await v4.close();
      await v6.close();
      await listener.close();
    }
  });

  test('update applies in place when the socket settings are unchanged', async () => {
    // AWS-style policy (loopback denied) that the record's EgressAllowedNetworks can open up.
    const egressFor = (r: { EgressAllowedNetworks?: readonly string[] }): EgressPolicy =>
      new EgressPolicy({ allowedNetworks: r.EgressAllowedNetworks });
    const listener = await start({ egress: egressFor({}), egressFor });
    const client = await UdpClient.open();
    try {
      const base = { Name: 'l', Protocol: 'udp' as const, Port: 0, Destinations: [] };
      expect((await send(listener, { data: Buffer.alloc(1), address: '127.0.0.1', port: client.port }))?.code).toBe('DestinationDenied');
      expect(listener.update({ ...base, MaxPayloadBytes: 10, EgressAllowedNetworks: ['127.0.0.1/32'] })).toBe(true);
      expect((await send(listener, { data: Buffer.alloc(11), address: '127.0.0.1', port: client.port }))?.code).toBe('PayloadTooLarge');
      expect(await send(listener, { data: Buffer.alloc(1), address: '127.0.0.1', port: client.port })).toBeUndefined();
      await client.waitFor(1);
      expect(listener.update({ ...base, Port: 1234 })).toBe(false);
    } finally {
      await client.close();
      await listener.close();
    }
  });

  test('a sink that throws does not stop the socket', async () => {
    let calls = 0;
    const listener = await start({ sink: { accept: () => { calls++; throw new Error('bug'); } } });
    const client = await UdpClient.open();
    try {
      await client.send('1', listener.port);
      await client.send('2', listener.port);
      await new Promise((r) => setTimeout(r, 50));
      expect(calls).toBe(2);
    } finally {
      await client.close();
      await listener.close();
    }
  });
});

describe('UdpListener receive', () => {
  /** Hands the Listener a datagram as its socket does, without a network round trip. */
  function read(listener: UdpListener, data: string, port = 40000): void {
    (listener as unknown as { onMessage: (msg: Buffer, rinfo: { address: string; port: number; family: string; size: number }) => void })
      .onMessage(Buffer.from(data), { address: '127.0.0.1', port, family: 'IPv4', size: data.length });
  }

  test('a burst of datagrams reaches the sink whole and in order, each with the time it was read', async () => {
    const sink = new RecordingSink();
    const listener = await start({ sink });
    const client = await UdpClient.open();
    try {
      const before = Date.now();
      for (let i = 0; i < 50; i++) await client.send(`d${i}`, listener.port);
      for (let waited = 0; sink.datagrams.length < 50 && waited < 2000; waited += 10) await new Promise((r) => setTimeout(r, 10));
      expect(sink.datagrams.map((d) => d.data.toString())).toEqual(Array.from({ length: 50 }, (_, i) => `d${i}`));
      for (const d of sink.datagrams) {
        expect(d).toMatchObject({ remoteAddress: '127.0.0.1', remotePort: client.port });
        expect(d.receivedAt).toBeGreaterThanOrEqual(before);
        expect(d.receivedAt).toBeLessThanOrEqual(Date.now());
      }
    } finally {
      await client.close();
      await listener.close();
    }
  });

  test('datagrams read before stopReceiving are accepted; none after it', async () => {
    const sink = new RecordingSink();
    const listener = await start({ sink });
    try {
      read(listener, 'a');
      read(listener, 'b');
      listener.stopReceiving();
      expect(sink.datagrams.map((d) => d.data.toString())).toEqual(['a', 'b']);
      read(listener, 'c');
      await new Promise((r) => setImmediate(r));
      expect(sink.datagrams.map((d) => d.data.toString())).toEqual(['a', 'b']);
    } finally {
      await listener.close();
    }
  });

  test('datagrams read before a new sink is set go to the sink of their time', async () => {
    const first = new RecordingSink();
    const second = new RecordingSink();
    const listener = await start({ sink: first });
    try {
      read(listener, 'old');
      listener.setSink(second);
      read(listener, 'new');
      await new Promise((r) => setImmediate(r));
      expect(first.datagrams.map((d) => d.data.toString())).toEqual(['old']);
      expect(second.datagrams.map((d) => d.data.toString())).toEqual(['new']);
    } finally {
      await listener.close();
    }
  });

  test('datagrams read before close are accepted when close is called, before the socket closes', async () => {
    const sink = new RecordingSink();
    const listener = await start({ sink });
    read(listener, 'last');
    const closed = listener.close();
    expect(sink.datagrams.map((d) => d.data.toString())).toEqual(['last']);
    await closed;
    expect(sink.datagrams).toHaveLength(1);
  });

  test('a sink that throws on one datagram of a turn does not lose the others', async () => {
    const accepted: string[] = [];
    const listener = await start({ sink: { accept: (_l, d) => { if (d.data.toString() === 'bad') throw new Error('bug'); accepted.push(d.data.toString()); } } });
    try {
      read(listener, 'a');
      read(listener, 'bad');
      read(listener, 'b');
      await new Promise((r) => setImmediate(r));
      expect(accepted).toEqual(['a', 'b']);
    } finally {
      await listener.close();
    }
  });
});

describe('createListener', () => {
  test('builds plain UDP Listeners and names the Listener for unknown protocols', () => {
    const deps = {
      sink: new RecordingSink(),
      logger: silentLogger,
      failures: new CapturingFailureReporter(),
      metrics: new CapturingMetrics(),
      flows: new FlowTable(),
      requireActiveFlow: false,
      allowLoopbackEgress: true,
      deniedNetworks: [],
      defaultBindAddress: '127.0.0.1',
      local: true,
    };
    expect(createListener({ Name: 'u', Protocol: 'udp', Port: 1, Destinations: [] }, deps)).toBeInstanceOf(UdpListener);
    expect(() => createListener({ Name: 'x', Protocol: 'sctp' as never, Port: 1, Destinations: [] }, deps)).toThrow('Listener x: Protocol "sctp" is not supported (allowed: udp, wg)');
  });
});

describe('payload limit of records without MaxPayloadBytes', () => {
  const deps = (local: boolean) => ({
    sink: new RecordingSink(),
    logger: silentLogger,
    failures: new CapturingFailureReporter(),
    metrics: new CapturingMetrics(),
    flows: new FlowTable(),
    requireActiveFlow: false,
    allowLoopbackEgress: true,
    deniedNetworks: [],
    defaultBindAddress: '127.0.0.1',
    local,
  });

  test('in AWS the internet-safe 1452 bytes; locally the whole UDP payload', async () => {
    const aws = createListener({ Name: 'u', Protocol: 'udp', Port: 0, Destinations: [] }, deps(false)) as UdpListener;
    const local = createListener({ Name: 'u', Protocol: 'udp', Port: 0, Destinations: [] }, deps(true)) as UdpListener;
    await aws.start();
    await local.start();
    try {
      expect(await send(aws, { data: Buffer.alloc(1453), address: '127.0.0.1', port: 9 }))
        .toEqual({ code: 'PayloadTooLarge', reason: "payload of 1453 bytes exceeds the Listener's MaxPayloadBytes 1452" });
      expect(await send(aws, { data: Buffer.alloc(1452), address: '127.0.0.1', port: 9 })).toBeUndefined();
      expect(await send(local, { data: Buffer.alloc(9000), address: '127.0.0.1', port: 9 })).toBeUndefined();
    } finally {
      await aws.close();
      await local.close();
    }
  });
});
