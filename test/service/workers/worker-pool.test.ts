/**
 * The worker pool as the fleet relay uses it (Node.js 22.12 or later: run
 * `npx -y -p node@22 node node_modules/jest/bin/jest.js test/service/workers`): a client whose
 * datagrams land on a worker thread is held by the pool, and a datagram sent through the pool's
 * view of the Listeners leaves from that worker's socket, on the Listener's port; SNS signature
 * checks given to the pool are made on the worker thread.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { EgressDatagram, Failure, ListenerHandle } from '../../../service/contracts';
import { SnsCertificateStore } from '../../../service/sourcing/sns-certificates';
import { SnsMessageVerifier } from '../../../service/sourcing/sns-message-verifier';
import { dgramHasReusePort } from '../../../service/workers/worker-count';
import { WorkerPool } from '../../../service/workers/worker-pool';
import { capturingLogger, eventually, freePort, UdpClient } from '../helpers';
import { certUrl, documentedStringToSign, FakeCertificateHost, makeSigningIdentity, signEnvelope } from '../sourcing/sns-signing';

const HANDLER = resolve(__dirname, '..', 'fixtures', 'thread-echo-handler.cjs');

const withReusePort = dgramHasReusePort() ? describe : describe.skip;

withReusePort(`worker pool${dgramHasReusePort() ? '' : ' (skipped: dgram has no reusePort on this Node.js, before 22.12; CI runs it on Node 22)'}`, () => {
  let dir: string;
  let port: number;
  let pool: WorkerPool;
  const claimed: string[] = [];
  const mainSent: EgressDatagram[] = [];
  // the main thread holds no client here: its Listener answers NoActiveFlow
  const mainListener: ListenerHandle = {
    name: 'relay',
    protocol: 'udp',
    address: '127.0.0.1',
    port: 0,
    send: (datagram, done) => {
      mainSent.push(datagram);
      done?.({ code: 'NoActiveFlow', reason: 'not the main thread\'s client' });
    },
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pg-pool-'));
    port = await freePort();
    const configPath = join(dir, 'gateway.json');
    writeFileSync(configPath, JSON.stringify({
      Listeners: [{
        Name: 'relay',
        Protocol: 'udp',
        Port: port,
        BindAddress: '127.0.0.1',
        Destinations: [{ Name: 'echo', Type: 'local', Module: HANDLER, Batching: { Count: 1, TimeoutInSeconds: 0.01 } }],
      }],
    }));
    pool = new WorkerPool({
      count: 2,
      logger: capturingLogger().logger,
      onWorkerFlow: (listener, address, remotePort) => claimed.push(`${listener} ${address}:${remotePort}`),
      workerData: { mode: 'local', region: 'us-east-1', host: '127.0.0.1', configPath, watchConfig: false, metricsIntervalSeconds: 0, logLevel: 'SILENT' },
    });
    await pool.start();
  }, 60_000);

  afterAll(async () => {
    await pool?.stop(2_000);
    rmSync(dir, { recursive: true, force: true });
  });

  test('a worker\'s new flow is claimed once and held by the pool; a relayed datagram leaves from that worker', async () => {
    const client = await UdpClient.open();
    try {
      expect(pool.holds('relay', '127.0.0.1', client.port)).toBe(false);
      await client.send('first', port);
      await client.waitFor(1, 10_000);
      await eventually(() => pool.holds('relay', '127.0.0.1', client.port), 5_000, 'the pool to hear of the flow');
      expect(claimed).toEqual([`relay 127.0.0.1:${client.port}`]);

      const relayed = pool.listenersOf({ get: (name) => (name === 'relay' ? mainListener : undefined), list: () => [mainListener] });
      const failure = await new Promise<Failure | undefined>((done) => relayed.get('relay')!.send({ data: Buffer.from('pushed'), address: '127.0.0.1', port: client.port }, done));
      expect(failure).toBeUndefined();
      await client.waitFor(2, 5_000);
      expect(client.received[1].data.toString()).toBe('pushed');
      expect(client.received[1].from).toMatchObject({ address: '127.0.0.1', port });
      // the owner was known: the main thread was not tried
      expect(mainSent).toEqual([]);
    } finally {
      await client.close();
    }
  });

  test('a client whose owner is unknown goes to the main thread first, then to the next worker', async () => {
    const relayed = pool.listenersOf({ get: () => mainListener, list: () => [mainListener] });
    const failure = await new Promise<Failure | undefined>((done) => relayed.get('relay')!.send({ data: Buffer.from('x'), address: '127.0.0.1', port: 9 }, done));
    // local mode sends without a flow: worker 1 sent it after the main thread's NoActiveFlow
    expect(failure).toBeUndefined();
    expect(mainSent.map((d) => d.port)).toEqual([9]);
  });

  test('SNS signature checks made on the worker thread give the verifier\'s verdicts: authentic, and forged once a signed field changes', async () => {
    const sns = makeSigningIdentity();
    const url = certUrl('eu-west-1');
    const verifier = new SnsMessageVerifier(
      new SnsCertificateStore({ fetcher: new FakeCertificateHost().serve(url, sns.certificatePem).fetcher }),
      { check: pool.checkSignature },
    );
    const envelope = {
      Type: 'Notification',
      MessageId: 'm-1',
      TopicArn: 'arn:aws:sns:eu-west-1:111122223333:push',
      Message: JSON.stringify({ Messages: [{ Data: 'aGk=', Remote: { Address: '192.0.2.7', Port: 4000 } }] }),
      Timestamp: '2026-12-07T18:00:00.000Z',
    };
    const signed = [signEnvelope(envelope, sns, url, '1'), signEnvelope({ ...envelope, MessageId: 'm-2' }, sns, url, '2')];
    // with a worker thread running, a check is a message to it (a promise), not made here (a boolean)
    const key = (await new SnsCertificateStore({ fetcher: new FakeCertificateHost().serve(url, sns.certificatePem).fetcher }).keyFor(url));
    if (key.kind !== 'key') throw new Error(`the test certificate was refused: ${JSON.stringify(key)}`);
    const onWorker = pool.checkSignature('sha1', documentedStringToSign(signed[0]), key.key, signed[0].Signature as string);
    expect(onWorker).toBeInstanceOf(Promise);
    await expect(onWorker).resolves.toBe(true);
    const verdicts = await Promise.all([...signed, { ...signed[1], Message: '{"Messages":[]}' }].map((e) => verifier.verify(e)));
    expect(verdicts.map((v) => v.verdict)).toEqual(['authentic', 'authentic', 'forged']);
  });
});
