import { join, resolve } from 'node:path';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { capturingLogger, freePort, UdpClient } from './helpers';
import { loadConfigFile } from '../../service/config/file-config-source';
import { PACKET_LOG_MESSAGE } from '../../service/local/log-destination';
import { LocalService, startLocalService } from '../../service/local-service';
import { optionsFromCommandLine } from '../../service/main';

const ROOT = resolve(__dirname, '..', '..');
const TOPIC = 'arn:aws:sns:us-east-1:000000000000:packet-source';

describe('local mode, end to end', () => {
  let service: LocalService;
  let port: number;
  const { logger, records } = capturingLogger();

  beforeAll(async () => {
    port = await freePort();
    // The shipped demo configuration, reduced to its plain UDP Listener on a free port.
    const shipped = await loadConfigFile(join(ROOT, 'examples', 'local', 'gateway.json'));
    const demo = shipped.Listeners.find((l) => l.Name === 'demo')!;
    const [handler, ...others] = demo.Destinations;
    service = await startLocalService({
      document: {
        Listeners: [{ ...demo, Port: port, Destinations: [{ ...handler, Batching: { Count: 100, TimeoutInSeconds: 0.2 } }, ...others] }],
        PacketSources: shipped.PacketSources?.filter((s) => s.ListenerName === 'demo'),
      },
      logger,
      metricsIntervalSeconds: 0,
    });
  });

  afterAll(async () => {
    await service.stop();
  });

  test('datagrams get the counter handler\'s replies, from the Listener address and port', async () => {
    const alice = await UdpClient.open();
    const bob = await UdpClient.open();
    try {
      await Promise.all([alice.send('a1', port), alice.send('a2', port), alice.send('a3', port), bob.send('b1', port)]);
      await alice.waitFor(3);
      await bob.waitFor(1);
      for (const reply of [...alice.received, ...bob.received]) expect(reply.from).toMatchObject({ address: '127.0.0.1', port });
      expect(alice.received.map((r) => r.data.toString())).toEqual(['count=3', 'count=3', 'count=3']);
      expect(bob.received.map((r) => r.data.toString())).toEqual(['count=1']);
      // The log destination printed each packet, readable.
      const logged = records.filter((r) => r.message === PACKET_LOG_MESSAGE && r.attributes.remote === `127.0.0.1:${bob.port}`);
      expect(logged.map((r) => r.attributes)).toEqual([expect.objectContaining({ listener: 'demo', destination: 'log', text: 'b1', bytes: 2, formatter: 'base64' })]);
    } finally {
      await alice.close();
      await bob.close();
    }
  });

  test('health and discovery endpoints', async () => {
    const health = await fetch(`${service.healthUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok', listeners: [{ name: 'demo', protocol: 'udp', address: '127.0.0.1', port, bound: true }] });
    const listeners = await fetch(`${service.healthUrl}/listeners`);
    expect(await listeners.json()).toEqual([{ name: 'demo', protocol: 'udp', address: '127.0.0.1', port }]);
    expect((await fetch(`${service.healthUrl}/nope`)).status).toBe(404);
  });

  test('a packet published with the AWS SDK to the local SNS endpoint leaves from the Listener port', async () => {
    const client = await UdpClient.open();
    const sns = new SNSClient({ endpoint: service.snsUrl, region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } });
    try {
      await sns.send(new PublishCommand({ TopicArn: TOPIC, Message: JSON.stringify({ Messages: [{ Data: 'aGk=', Remote: { Address: '127.0.0.1', Port: client.port } }] }) }));
      await client.waitFor(1);
      expect(client.received[0].data.toString()).toBe('hi');
      expect(client.received[0].from).toMatchObject({ address: '127.0.0.1', port });
    } finally {
      sns.destroy();
      await client.close();
    }
  });
});

describe('the embedded default configuration', () => {
  test('is the DESIGN.md local demo: Listener demo on 127.0.0.1:5555, counter handler plus log, packet-source topic bound to demo', async () => {
    const config = await loadConfigFile(join(ROOT, 'examples', 'local', 'gateway.json'));
    const demo = config.Listeners.find((l) => l.Name === 'demo');
    expect(demo).toMatchObject({ Protocol: 'udp', Port: 5555, BindAddress: '127.0.0.1' });
    expect(demo?.Destinations.map((d) => [d.Type, d.Module])).toEqual([
      ['local', join(ROOT, 'examples', 'local', 'counter-handler.ts')],
      ['log', undefined],
    ]);
    expect(config.PacketSources).toContainEqual({ TopicArn: TOPIC, ListenerName: 'demo' });
  });
});

describe('command line and environment', () => {
  test('--local defaults', () => {
    expect(optionsFromCommandLine(['--local'], {})).toMatchObject({
      mode: 'local',
      region: 'us-east-1',
      host: '127.0.0.1',
      healthPort: 8080,
      snsPort: 4576,
      configPath: join(ROOT, 'examples', 'local', 'gateway.json'),
    });
  });

  test('flags win over environment variables, which win over defaults', () => {
    const env = { PACKET_GATEWAY_HEALTH_PORT: '9000', PACKET_GATEWAY_SNS_PORT: '9001', PACKET_GATEWAY_HOST: '0.0.0.0', AWS_REGION: 'eu-west-1', PACKET_GATEWAY_LOG_LEVEL: 'debug' };
    expect(optionsFromCommandLine(['--local', '--health-port', '7000', '--region', 'ap-south-1'], env)).toMatchObject({
      healthPort: 7000, snsPort: 9001, host: '0.0.0.0', region: 'ap-south-1', logLevel: 'debug',
    });
  });

  test('AWS mode reads the table, queue, VPC networks and tag secret from the environment', () => {
    const options = optionsFromCommandLine([], {
      AWS_REGION: 'us-west-2',
      PACKET_GATEWAY_TABLE: 'cfg',
      PACKET_GATEWAY_DELIVERY_QUEUE_URL: 'https://sqs.us-west-2.amazonaws.com/1/q',
      PACKET_GATEWAY_VPC_CIDRS: '10.0.0.0/16, fd00::/64',
      PACKET_GATEWAY_TAG_SECRET: Buffer.alloc(32, 1).toString('base64'),
    });
    expect(options).toMatchObject({ mode: 'aws', region: 'us-west-2', host: '0.0.0.0', tableName: 'cfg', deniedNetworks: ['10.0.0.0/16', 'fd00::/64'] });
    expect(options !== 'help' && options.configPath).toBeUndefined();
  });

  test('the graceful stop deadline comes from the environment, in seconds', () => {
    expect(optionsFromCommandLine(['--local'], { PACKET_GATEWAY_STOP_DEADLINE_SECONDS: '12.5' })).toMatchObject({ stopDeadlineMs: 12_500 });
    expect(optionsFromCommandLine(['--local'], {})).toMatchObject({ stopDeadlineMs: undefined });
  });

  test('the delivery queue visibility timeout comes from the environment, in whole seconds; a bad one is refused naming what is allowed', () => {
    expect(optionsFromCommandLine(['--local'], { PACKET_GATEWAY_DELIVERY_QUEUE_VISIBILITY_TIMEOUT_SECONDS: '5' })).toMatchObject({ deliveryQueueVisibilityTimeoutSeconds: 5 });
    expect(optionsFromCommandLine(['--local'], {})).toMatchObject({ deliveryQueueVisibilityTimeoutSeconds: undefined });
    for (const bad of ['0', '2.5', '43201', 'x']) {
      expect(() => optionsFromCommandLine(['--local'], { PACKET_GATEWAY_DELIVERY_QUEUE_VISIBILITY_TIMEOUT_SECONDS: bad }))
        .toThrow(`PACKET_GATEWAY_DELIVERY_QUEUE_VISIBILITY_TIMEOUT_SECONDS "${bad}" is not valid (allowed: whole seconds 1–43200)`);
    }
  });

  test('a bad peer SQS endpoint is refused naming its environment variable', () => {
    expect(() => optionsFromCommandLine([], { AWS_REGION: 'us-west-2', PACKET_GATEWAY_TABLE: 'cfg', PACKET_GATEWAY_PEER_SQS_ENDPOINTS: 'nowhere' }))
      .toThrow(/^PACKET_GATEWAY_PEER_SQS_ENDPOINTS: peer SQS endpoint "nowhere" is not valid/);
  });

  test('the WireGuard crypto preference is read from the environment; an unknown one is refused naming what is allowed', () => {
    expect(optionsFromCommandLine(['--local'], { PACKET_GATEWAY_WIREGUARD_CRYPTO: 'node' })).toMatchObject({ wireGuardCrypto: 'node' });
    expect(optionsFromCommandLine(['--local'], { PACKET_GATEWAY_WIREGUARD_CRYPTO: 'native' })).toMatchObject({ wireGuardCrypto: 'native' });
    expect(optionsFromCommandLine(['--local'], {})).toMatchObject({ wireGuardCrypto: undefined });
    expect(() => optionsFromCommandLine(['--local'], { PACKET_GATEWAY_WIREGUARD_CRYPTO: 'openssl' }))
      .toThrow('PACKET_GATEWAY_WIREGUARD_CRYPTO "openssl" is not valid (allowed: auto, native, node)');
  });

  test.each([
    [['--health-port', 'x', '--local'], {}, '--health-port "x" is not a valid port (allowed: integer 0–65535)'],
    [['--local', '--log-level', 'loud'], {}, '--log-level "loud" is not valid (allowed: TRACE, DEBUG, INFO, WARN, ERROR, CRITICAL, SILENT)'],
    [[], {}, 'no region: set AWS_REGION or pass --region'],
    [['--local', '--config', '/nonexistent.json'], {}, 'config file /nonexistent.json does not exist'],
    [['--bogus'], {}, /^Unknown option '--bogus'/],
    [['--local'], { PACKET_GATEWAY_STOP_DEADLINE_SECONDS: '0' }, 'PACKET_GATEWAY_STOP_DEADLINE_SECONDS "0" is not valid (allowed: 1–3600 seconds)'],
  ])('fails if %j', (argv, env, message) => {
    expect(() => optionsFromCommandLine(argv, env)).toThrow(message);
  });
});
