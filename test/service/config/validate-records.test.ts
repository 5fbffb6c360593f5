import type { GatewayConfigDocument, ListenerRecord } from '../../../lib/private/records';
import {
  assertValidConfigDocument,
  ConfigValidationError,
  validateConfigDocument,
  validateListenerRecord,
  validatePacketArgument,
  validatePacketSourceRecord,
} from '../../../lib/private/validate-records';

const KEY = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';
const listener: ListenerRecord = {
  Name: 'demo',
  Protocol: 'udp',
  Port: 5555,
  Destinations: [{ Name: 'fn', Type: 'lambda', Arn: 'arn:aws:lambda:us-east-1:123456789012:function:f' }],
};
const valid: GatewayConfigDocument = {
  Listeners: [
    listener,
    {
      Name: 'demo-wg',
      Protocol: 'wg',
      Port: 51820,
      BindAddress: '::',
      Domain: 'wg.example.com',
      PublicAddress: '203.0.113.10',
      Formatter: 'hex',
      ClientRestrictions: { Networks: ['10.0.0.0/8', '2001:db8::/32', '192.0.2.1/32'] },
      EgressAllowedNetworks: ['10.1.0.0/16'],
      MaxPayloadBytes: 1400,
      ReplyTagTtlSeconds: 60,
      WireGuard: {
        PrivateKey: KEY,
        AllowUnknownPeers: true,
        DecapsulatedDelivery: true,
        Peers: [{ PublicKey: KEY, AllowedIPs: ['10.10.10.20/32'], Endpoint: '[2001:db8::1]:51820' }],
      },
      Destinations: [
        { Name: 'q', Type: 'sqs', Arn: 'arn:aws:sqs:us-east-1:123456789012:q.fifo', Batching: { Count: 10, TimeoutInSeconds: 0.25, SizeInBytes: 65536 } },
        { Name: 'h', Type: 'local', Module: './handler.ts', Handler: 'main', MaxQueuedPackets: 100, MaxInFlightBatches: 2 },
        { Name: 'log', Type: 'log' },
      ],
    },
  ],
  PacketSources: [
    {
      TopicArn: 'arn:aws:sns:us-east-1:000000000000:packet-source',
      ListenerName: 'demo',
      Enabled: true,
      DeadLetterQueueArn: 'arn:aws:sqs:us-east-1:123456789012:dlq',
      DeliveryLogGroupArn: 'arn:aws:logs:us-east-1:123456789012:log-group:/pg/delivery:*',
      HomeRegion: 'us-east-1',
      SubscriptionState: 'Confirmed',
      RoleArn: 'arn:aws:iam::123456789012:role/pg-subscriber',
      ExternalId: 'ext-123',
      EgressRegions: ['us-east-1', 'eu-west-1'],
    },
  ],
};

/** The document with `patch` applied to Listeners[0] (or replacing the whole document when a function). */
function withListener(patch: Record<string, unknown>): unknown {
  return { Listeners: [{ ...listener, ...patch }] };
}

describe('validateConfigDocument', () => {
  test('accepts a complete valid document', () => {
    expect(validateConfigDocument(valid)).toEqual([]);
    expect(() => assertValidConfigDocument(valid)).not.toThrow();
  });

  test('a Listener may name its protocol by Proxylity\'s Protocols list of one, alone or with the same Protocol', () => {
    const { Protocol: _protocol, ...withoutProtocol } = listener;
    expect(validateConfigDocument({ Listeners: [{ ...withoutProtocol, Protocols: ['udp'] }] })).toEqual([]);
    expect(validateConfigDocument({ Listeners: [{ ...withoutProtocol, Protocols: ['wg'], WireGuard: { AllowUnknownPeers: true } }] })).toEqual([]);
    expect(validateConfigDocument(withListener({ Protocols: ['udp'] }))).toEqual([]);
  });

  test.each<[string, Record<string, unknown>, string[]]>([
    ['Protocols holds two protocols', { Protocols: ['udp', 'wg'] }, [
      'Listeners[0].Protocols: ["udp","wg"] holds 2 protocols (allowed: exactly one of udp, wg, e.g. ["udp"]: a Listener speaks one protocol; define one Listener per protocol)',
    ]],
    ['Protocols is empty', { Protocols: [] }, [
      'Listeners[0].Protocols: [] holds 0 protocols (allowed: exactly one of udp, wg, e.g. ["udp"]: a Listener speaks one protocol; define one Listener per protocol)',
    ]],
    ['Protocols names an unknown protocol', { Protocols: ['tcp'] }, ['Listeners[0].Protocols[0]: "tcp" is not a protocol (allowed: udp, wg)']],
    ['Protocols is a string', { Protocols: 'udp' }, ['Listeners[0].Protocols: "udp" is not an array (allowed: an array)']],
    ['Protocol and Protocols disagree', { Protocol: 'udp', Protocols: ['wg'] }, ['Listeners[0].Protocol: "udp" differs from Protocols[0] "wg" (allowed: Protocol or Protocols, or both naming the same protocol)']],
    ['neither Protocol nor Protocols', { Protocol: undefined }, ['Listeners[0].Protocol: missing (required; allowed: udp, wg)']],
  ])('fails if %s', (_name, patch, errors) => {
    expect(validateConfigDocument(withListener(patch))).toEqual(errors);
  });

  test('a WireGuard peer may leave AllowedIPs out (every address, as Proxylity)', () => {
    expect(validateConfigDocument(withListener({ Protocol: 'wg', WireGuard: { Peers: [{ PublicKey: KEY }] } }))).toEqual([]);
  });

  test.each<[string, unknown, string[]]>([
    ['the document is not an object', [], ['(document): an array is not an object (allowed: an object with Listeners, PacketSources)']],
    ['Listeners is missing', {}, ['Listeners: missing (required; allowed: an array)']],
    ['Listeners is not an array', { Listeners: {} }, ['Listeners: an object is not an array (allowed: an array)']],
    ['a top-level field is unknown', { Listeners: [], Listener: [] }, ['Listener: unknown field (allowed: Listeners, PacketSources)']],
    ['the port is out of range', withListener({ Port: 70000 }), ['Listeners[0].Port: 70000 is not a valid port (allowed: integer 1–65535)']],
    ['the port is a string', withListener({ Port: '5555' }), ['Listeners[0].Port: "5555" is not a valid port (allowed: integer 1–65535)']],
    ['the port is fractional', withListener({ Port: 1.5 }), ['Listeners[0].Port: 1.5 is not a valid port (allowed: integer 1–65535)']],
    ['the port is missing', withListener({ Port: undefined }), ['Listeners[0].Port: missing (required; allowed: integer 1–65535)']],
    ['the name has bad characters', withListener({ Name: 'de mo' }), ['Listeners[0].Name: "de mo" is not a valid name (allowed: 1–64 characters of A-Z a-z 0-9 _ -)']],
    ['the protocol is unknown', withListener({ Protocol: 'tcp' }), ['Listeners[0].Protocol: "tcp" is not a protocol (allowed: udp, wg)']],
    ['a field name is misspelled', withListener({ Formater: 'hex' }), ['Listeners[0].Formater: unknown field (allowed: Name, Protocol, Protocols, Port, BindAddress, Domain, PublicAddress, Formatter, Destinations, ClientRestrictions, EgressAllowedNetworks, MaxPayloadBytes, ReplyTagTtlSeconds, WireGuard)']],
    ['the Formatter is unknown', withListener({ Formatter: 'base32' }), ['Listeners[0].Formatter: "base32" is not a Formatter (allowed: base64, hex, ascii, utf8, coap)']],
    ['BindAddress is not an IP', withListener({ BindAddress: 'localhost' }), ['Listeners[0].BindAddress: "localhost" is not an IP address (allowed: IPv4 dotted quad or IPv6)']],
    ['Domain is not a host name', withListener({ Domain: 'a b' }), ['Listeners[0].Domain: "a b" is not a host name (allowed: DNS labels of A-Z a-z 0-9 - separated by dots, up to 253 characters)']],
    ['a client network is not a CIDR', withListener({ ClientRestrictions: { Networks: ['10.0.0.0/40'] } }), ['Listeners[0].ClientRestrictions.Networks[0]: "10.0.0.0/40" is not a CIDR (prefix must be 0–32) (allowed: CIDR a.b.c.d/0–32 or IPv6/0–128)']],
    ['ClientRestrictions has no Networks', withListener({ ClientRestrictions: {} }), ['Listeners[0].ClientRestrictions.Networks: missing (required; allowed: an array)']],
    ['an egress network is not a CIDR', withListener({ EgressAllowedNetworks: ['example.com/24'] }), ['Listeners[0].EgressAllowedNetworks[0]: "example.com/24" is not a CIDR (the address part is not an IP address) (allowed: CIDR a.b.c.d/0–32 or IPv6/0–128)']],
    ['MaxPayloadBytes is too large', withListener({ MaxPayloadBytes: 70000 }), ['Listeners[0].MaxPayloadBytes: 70000 is not a valid payload limit (allowed: integer 1–65507)']],
    ['ReplyTagTtlSeconds is zero', withListener({ ReplyTagTtlSeconds: 0 }), ['Listeners[0].ReplyTagTtlSeconds: 0 is not a valid tag lifetime (allowed: integer 1–3600)']],
    ['ReplyTagTtlSeconds exceeds an hour', withListener({ ReplyTagTtlSeconds: 3601 }), ['Listeners[0].ReplyTagTtlSeconds: 3601 is not a valid tag lifetime (allowed: integer 1–3600)']],
    ['a client network is a bare address', withListener({ ClientRestrictions: { Networks: ['192.0.2.1'] } }), ['Listeners[0].ClientRestrictions.Networks[0]: "192.0.2.1" is not a CIDR (the prefix is missing: write 192.0.2.1/32 for one address) (allowed: CIDR a.b.c.d/0–32 or IPv6/0–128)']],
    ['an egress network is a bare address', withListener({ EgressAllowedNetworks: ['fd00::1'] }), ['Listeners[0].EgressAllowedNetworks[0]: "fd00::1" is not a CIDR (the prefix is missing: write fd00::1/128 for one address) (allowed: CIDR a.b.c.d/0–32 or IPv6/0–128)']],
    ['a WireGuard AllowedIPs entry is a bare address', withListener({ Protocol: 'wg', WireGuard: { Peers: [{ PublicKey: KEY, AllowedIPs: ['10.10.0.3'] }] } }), ['Listeners[0].WireGuard.Peers[0].AllowedIPs[0]: "10.10.0.3" is not a CIDR (the prefix is missing: write 10.10.0.3/32 for one address) (allowed: CIDR a.b.c.d/0–32 or IPv6/0–128)']],
    ['HomeRegion has a three-digit number', { Listeners: [listener], PacketSources: [{ TopicArn: 'arn:aws:sns:us-east-1:123456789012:t', ListenerName: 'demo', HomeRegion: 'us-east-100' }] }, ['PacketSources[0].HomeRegion: "us-east-100" is not a region (allowed: a region name such as us-east-1)']],
    ['WireGuard is set on a udp Listener', withListener({ WireGuard: {} }), ['Listeners[0].WireGuard: an object is set on a Listener with Protocol "udp" (allowed: WireGuard only when Protocol is wg)']],
    ['a WireGuard private key is malformed', withListener({ Protocol: 'wg', WireGuard: { PrivateKey: 'short' } }), ['Listeners[0].WireGuard.PrivateKey: not valid (allowed: 44 characters of base64 encoding 32 bytes)']],
    ['a WireGuard peer\'s AllowedIPs is not an array', withListener({ Protocol: 'wg', WireGuard: { Peers: [{ PublicKey: KEY, AllowedIPs: '10.0.0.1/32' }] } }), ['Listeners[0].WireGuard.Peers[0].AllowedIPs: "10.0.0.1/32" is not an array (allowed: an array)']],
    ['a WireGuard peer endpoint has no port', withListener({ Protocol: 'wg', WireGuard: { Peers: [{ PublicKey: KEY, AllowedIPs: [], Endpoint: 'vpn.example.com' }] } }), ['Listeners[0].WireGuard.Peers[0].Endpoint: "vpn.example.com" is not an endpoint (allowed: host:port or [IPv6]:port with port 1–65535)']],
    ['Destinations is missing', withListener({ Destinations: undefined }), ['Listeners[0].Destinations: missing (required; allowed: an array)']],
    ['a destination type is unknown', withListener({ Destinations: [{ Name: 'k', Type: 'mq' }] }), ['Listeners[0].Destinations[0].Type: "mq" is not a destination type (allowed: lambda, sqs, local, log, stepfunctions, apigateway, logs, s3, dynamodb, sns, kinesis, firehose, eventbridge)']],
    ['a lambda destination has no Arn', withListener({ Destinations: [{ Name: 'f', Type: 'lambda' }] }), ['Listeners[0].Destinations[0].Arn: missing (required; allowed: a function ARN, name, or name:alias)']],
    ['a lambda Arn is an SQS ARN', withListener({ Destinations: [{ Name: 'f', Type: 'lambda', Arn: 'arn:aws:sqs:us-east-1:123456789012:q' }] }), ['Listeners[0].Destinations[0].Arn: "arn:aws:sqs:us-east-1:123456789012:q" is not a Lambda function (allowed: a function ARN, name, or name:alias)']],
    ['an sqs destination has neither Arn nor QueueUrl', withListener({ Destinations: [{ Name: 'q', Type: 'sqs' }] }), ['Listeners[0].Destinations[0].Arn: missing (required; allowed: an SQS queue ARN, or QueueUrl)']],
    ['a local destination has no Module', withListener({ Destinations: [{ Name: 'h', Type: 'local' }] }), ['Listeners[0].Destinations[0].Module: missing (required; allowed: path of a .js/.cjs/.mjs/.ts module)']],
    ['Module is set on a lambda destination', withListener({ Destinations: [{ Name: 'f', Type: 'lambda', Arn: 'f', Module: 'x.js' }] }), ['Listeners[0].Destinations[0].Module: "x.js" is set on a destination of Type lambda (allowed: Module only for Type local)']],
    ['Batching.Count is zero', withListener({ Destinations: [{ Name: 'l', Type: 'log', Batching: { Count: 0 } }] }), ['Listeners[0].Destinations[0].Batching.Count: 0 is not a valid batch count (allowed: integer 1–10000)']],
    ['Batching.TimeoutInSeconds is negative', withListener({ Destinations: [{ Name: 'l', Type: 'log', Batching: { TimeoutInSeconds: -1 } }] }), ['Listeners[0].Destinations[0].Batching.TimeoutInSeconds: -1 is not a valid batch timeout (allowed: number of seconds 0–60, fractions allowed)']],
    ['Batching.SizeInBytes is above 6 MiB', withListener({ Destinations: [{ Name: 'l', Type: 'log', Batching: { SizeInBytes: 7e6 } }] }), ['Listeners[0].Destinations[0].Batching.SizeInBytes: 7000000 is not a valid batch size (allowed: integer 1024–6291456)']],
    ['MaxInFlightBatches is zero', withListener({ Destinations: [{ Name: 'l', Type: 'log', MaxInFlightBatches: 0 }] }), ['Listeners[0].Destinations[0].MaxInFlightBatches: 0 is not a valid in-flight limit (allowed: integer 1–1000)']],
    ['two destinations share a name', withListener({ Destinations: [{ Name: 'l', Type: 'log' }, { Name: 'l', Type: 'log' }] }), ['Listeners[0].Destinations[1].Name: "l" is used by Listeners[0].Destinations[0] (allowed: unique destination names within a Listener)']],
    ['two Listeners share a name', { Listeners: [listener, { ...listener, Port: 1 }] }, ['Listeners[1].Name: "demo" is used by Listeners[0] (allowed: unique Listener names)']],
    ['two Listeners share a port', { Listeners: [listener, { ...listener, Name: 'other' }] }, ['Listeners[1].Port: 5555 is used by Listeners[0] (allowed: one Listener per port)']],
    ['a PacketSource names an unknown Listener', { Listeners: [listener], PacketSources: [{ TopicArn: 'arn:aws:sns:us-east-1:123456789012:t', ListenerName: 'nope' }] }, ['PacketSources[0].ListenerName: "nope" is not a Listener of this configuration (allowed: demo)']],
    ['a PacketSource TopicArn is not an SNS ARN', { Listeners: [listener], PacketSources: [{ TopicArn: 'arn:aws:sqs:us-east-1:123456789012:t', ListenerName: 'demo' }] }, ['PacketSources[0].TopicArn: "arn:aws:sqs:us-east-1:123456789012:t" is not an SNS topic ARN (allowed: arn:<partition>:sns:<region>:<account>:<topic>)']],
    ['two PacketSources bind one topic', { Listeners: [listener], PacketSources: [{ TopicArn: 'arn:aws:sns:us-east-1:123456789012:t', ListenerName: 'demo' }, { TopicArn: 'arn:aws:sns:us-east-1:123456789012:t', ListenerName: 'demo' }] }, ['PacketSources[1].TopicArn: "arn:aws:sns:us-east-1:123456789012:t" is bound by PacketSources[0] (allowed: one PacketSource per topic)']],
    ['Enabled is a string', { Listeners: [listener], PacketSources: [{ TopicArn: 'arn:aws:sns:us-east-1:123456789012:t', ListenerName: 'demo', Enabled: 'yes' }] }, ['PacketSources[0].Enabled: "yes" is not a boolean (allowed: true or false)']],
    ['EgressRegions holds a bad region', { Listeners: [listener], PacketSources: [{ TopicArn: 'arn:aws:sns:us-east-1:123456789012:t', ListenerName: 'demo', EgressRegions: ['mars'] }] }, ['PacketSources[0].EgressRegions[0]: "mars" is not a region (allowed: a region name such as us-east-1)']],
  ])('fails if %s', (_name, doc, errors) => {
    expect(validateConfigDocument(doc)).toEqual(errors);
  });

  test('accepts the limits at their bounds', () => {
    expect(validateConfigDocument(withListener({ ReplyTagTtlSeconds: 3600, MaxPayloadBytes: 65507, ClientRestrictions: { Networks: ['192.0.2.1/32', '::/0'] } }))).toEqual([]);
    expect(validateConfigDocument({ Listeners: [listener], PacketSources: [{ TopicArn: 'arn:aws:sns:us-east-1:123456789012:t', ListenerName: 'demo', HomeRegion: 'ap-southeast-12' }] })).toEqual([]);
  });

  describe('an SQS QueueUrl names only the regional SQS endpoint of its queue', () => {
    const ARN = 'arn:aws:sqs:eu-west-1:123456789012:telemetry';
    const sqs = (fields: Record<string, unknown>) => withListener({ Destinations: [{ Name: 'q', Type: 'sqs', ...fields }] });
    const allowed = 'https://sqs.<region>.amazonaws.com/<account>/<queue>, https://<region>.queue.amazonaws.com/<account>/<queue>, or the same on amazonaws.com.cn in China';

    test.each([
      ['the regional endpoint', { Arn: ARN, QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/telemetry' }],
      ['the legacy endpoint', { Arn: ARN, QueueUrl: 'https://eu-west-1.queue.amazonaws.com/123456789012/telemetry' }],
      ['China', { Arn: 'arn:aws-cn:sqs:cn-north-1:123456789012:q', QueueUrl: 'https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q' }],
      ['a FIFO queue without Arn', { QueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/q.fifo' }],
    ])('accepts %s', (_name, fields) => {
      expect(validateConfigDocument(sqs(fields))).toEqual([]);
    });

    test.each([
      ['another host', { Arn: ARN, QueueUrl: 'https://collector.example.net/123456789012/telemetry' },
        `Listeners[0].Destinations[0].QueueUrl: "https://collector.example.net/123456789012/telemetry" is not the URL of an SQS queue on its regional endpoint (allowed: ${allowed})`],
      ['a host that only ends like an SQS endpoint', { QueueUrl: 'https://sqs.eu-west-1.amazonaws.com.example.net/123456789012/telemetry' },
        `Listeners[0].Destinations[0].QueueUrl: "https://sqs.eu-west-1.amazonaws.com.example.net/123456789012/telemetry" is not the URL of an SQS queue on its regional endpoint (allowed: ${allowed})`],
      ['plain http', { QueueUrl: 'http://sqs.eu-west-1.amazonaws.com/123456789012/telemetry' },
        `Listeners[0].Destinations[0].QueueUrl: "http://sqs.eu-west-1.amazonaws.com/123456789012/telemetry" is not the URL of an SQS queue on its regional endpoint (allowed: ${allowed})`],
      ['credentials in the URL', { QueueUrl: 'https://user:pw@sqs.eu-west-1.amazonaws.com/123456789012/telemetry' },
        `Listeners[0].Destinations[0].QueueUrl: "https://user:pw@sqs.eu-west-1.amazonaws.com/123456789012/telemetry" is not the URL of an SQS queue on its regional endpoint (allowed: ${allowed})`],
      ['the endpoint of another region', { Arn: ARN, QueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/telemetry' },
        `Listeners[0].Destinations[0].QueueUrl: "https://sqs.us-east-1.amazonaws.com/123456789012/telemetry" does not name the queue of Arn ${ARN} (allowed: https://sqs.eu-west-1.amazonaws.com/123456789012/telemetry, or leave QueueUrl out)`],
      ['another account\'s queue', { Arn: ARN, QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/999999999999/telemetry' },
        `Listeners[0].Destinations[0].QueueUrl: "https://sqs.eu-west-1.amazonaws.com/999999999999/telemetry" does not name the queue of Arn ${ARN} (allowed: https://sqs.eu-west-1.amazonaws.com/123456789012/telemetry, or leave QueueUrl out)`],
      ['a China host for a queue outside China', { QueueUrl: 'https://sqs.eu-west-1.amazonaws.com.cn/123456789012/telemetry' },
        `Listeners[0].Destinations[0].QueueUrl: "https://sqs.eu-west-1.amazonaws.com.cn/123456789012/telemetry" is not the URL of an SQS queue on its regional endpoint (allowed: ${allowed})`],
    ])('fails if it names %s', (_name, fields, error) => {
      expect(validateConfigDocument(sqs(fields))).toEqual([error]);
    });

    test('a configured SDK endpoint (tests, labs) is accepted only when given', () => {
      const doc = sqs({ Arn: ARN, QueueUrl: 'http://127.0.0.1:9324/123456789012/telemetry' });
      expect(validateConfigDocument(doc)).toHaveLength(1);
      expect(validateConfigDocument(doc, { queueEndpoints: ['http://127.0.0.1:9324'] })).toEqual([]);
      expect(validateConfigDocument(doc, { queueEndpoints: ['http://127.0.0.1:9325'] })).toHaveLength(1);
    });
  });

  test('collects every error instead of stopping at the first', () => {
    const errors = validateConfigDocument({ Listeners: [{ Name: '', Protocol: 'x', Port: 0, Destinations: [{ Type: 'log' }] }] });
    expect(errors).toEqual([
      'Listeners[0].Name: "" is not a valid name (allowed: 1–64 characters of A-Z a-z 0-9 _ -)',
      'Listeners[0].Protocol: "x" is not a protocol (allowed: udp, wg)',
      'Listeners[0].Port: 0 is not a valid port (allowed: integer 1–65535)',
      'Listeners[0].Destinations[0].Name: missing (required; allowed: 1–64 characters of A-Z a-z 0-9 _ . -)',
    ]);
  });

  test('never echoes a private key', () => {
    const secret = 'not-a-key-but-secret-material';
    const errors = validateConfigDocument(withListener({ Protocol: 'wg', WireGuard: { PrivateKey: secret } }));
    expect(errors.join('\n')).not.toContain(secret);
  });

  test('assertValidConfigDocument throws one error listing all problems', () => {
    let error: unknown;
    try {
      assertValidConfigDocument({ Listeners: [{ ...listener, Port: -1, Formatter: 'x' }] }, 'config file gw.json');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigValidationError);
    expect((error as ConfigValidationError).errors).toHaveLength(2);
    expect((error as Error).message).toBe(
      'config file gw.json is invalid (2 errors):\n'
      + '  Listeners[0].Port: -1 is not a valid port (allowed: integer 1–65535)\n'
      + '  Listeners[0].Formatter: "x" is not a Formatter (allowed: base64, hex, ascii, utf8, coap)',
    );
  });
});

describe('single-record validation (registration and table records)', () => {
  test('validateListenerRecord prefixes the given path', () => {
    expect(validateListenerRecord({ ...listener, Port: 0 }, 'Listener')).toEqual(['Listener.Port: 0 is not a valid port (allowed: integer 1–65535)']);
  });

  test('unknown fields can be tolerated for records written by newer versions', () => {
    expect(validateListenerRecord({ ...listener, FutureField: 1 }, 'L', { rejectUnknownFields: false })).toEqual([]);
    expect(validateListenerRecord({ ...listener, FutureField: 1 }, 'L')).toHaveLength(1);
  });

  test('validatePacketSourceRecord checks ARNs and enums', () => {
    expect(validatePacketSourceRecord({ TopicArn: 'arn:aws:sns:us-east-1:123456789012:t', ListenerName: 'demo', SubscriptionState: 'Done', DeadLetterQueueArn: 'dlq' }, 'PacketSource')).toEqual([
      'PacketSource.DeadLetterQueueArn: "dlq" is not an SQS queue ARN (allowed: arn:<partition>:sqs:<region>:<account>:<queue>)',
      'PacketSource.SubscriptionState: "Done" is not a subscription state (allowed: PendingConfirmation, Confirmed)',
    ]);
  });

  test('a FIFO dead-letter queue is refused: a standard topic\'s subscription and the failure records need a standard queue', () => {
    const record = { TopicArn: 'arn:aws:sns:us-east-1:123456789012:t', ListenerName: 'demo' };
    expect(validatePacketSourceRecord({ ...record, DeadLetterQueueArn: 'arn:aws:sqs:us-east-1:123456789012:failures.fifo' }, 'PacketSource')).toEqual([
      'PacketSource.DeadLetterQueueArn: "arn:aws:sqs:us-east-1:123456789012:failures.fifo" is a FIFO queue (allowed: a standard queue: SNS moves a standard topic\'s ' +
        'undeliverable messages only to a standard queue, and failure records carry no message group)',
    ]);
    expect(validatePacketSourceRecord({ ...record, DeadLetterQueueArn: 'arn:aws:sqs:us-east-1:123456789012:failures-fifo' }, 'PacketSource')).toEqual([]);
  });
});

describe('a Listener record stays under DynamoDB\'s 400 KB item limit', () => {
  const peerKey = (i: number) => { const b = Buffer.alloc(32); b.writeUInt32BE(i + 1); return b.toString('base64'); };
  const wg = (peers: Array<{ PublicKey: string; AllowedIPs: string[] }>): ListenerRecord => ({
    Name: 'tunnel', Protocol: 'wg', Port: 51820, Destinations: listener.Destinations, WireGuard: { Peers: peers },
  });

  test('1,000 typical peers fit', () => {
    const peers = Array.from({ length: 1000 }, (_, i) => ({ PublicKey: peerKey(i), AllowedIPs: [`10.${Math.floor(i / 256)}.${i % 256}.1/32`] }));
    expect(validateListenerRecord(wg(peers), 'Listener')).toEqual([]);
  });

  test('fails with more than 1,000 peers, naming the count and the limit', () => {
    const peers = Array.from({ length: 1001 }, (_, i) => ({ PublicKey: peerKey(i), AllowedIPs: ['10.0.0.1/32'] }));
    expect(validateListenerRecord(wg(peers), 'Listener')).toEqual([expect.stringMatching(/^Listener\.WireGuard\.Peers: 1001 peers \(allowed: at most 1000, .*400 KB item limit/)]);
  });

  test('fails when the record itself outgrows the item, naming its size', () => {
    const allowed = Array.from({ length: 12 }, (_, j) => `2001:db8:ffff:ffff:ffff:ffff:ffff:${j.toString(16)}/128`);
    const peers = Array.from({ length: 900 }, (_, i) => ({ PublicKey: peerKey(i), AllowedIPs: allowed }));
    expect(validateListenerRecord(wg(peers), 'Listener')).toEqual([expect.stringMatching(/^Listener: the record takes \d+ bytes as JSON \(allowed: at most 380000/)]);
  });
});

describe('packet arguments (binary range expression + Formatter)', () => {
  test('a valid expression and Formatter, or neither, pass', () => {
    expect(validatePacketArgument({ PartitionKeyExpression: '[0:4]', PartitionKeyFormatter: 'hex' }, 'PartitionKey', 'Listener.Destinations[0].Arguments')).toEqual([]);
    expect(validatePacketArgument({}, 'MessageGroupId', 'Arguments')).toEqual([]);
  });

  test('a bad expression is reported with its column and what was expected', () => {
    expect(validatePacketArgument({ MessageGroupIdExpression: '[0] == 0xFE ? [3:5]' }, 'MessageGroupId', 'Listener.Destinations[0].Arguments')).toEqual([
      'Listener.Destinations[0].Arguments.MessageGroupIdExpression: "[0] == 0xFE ? [3:5]" at column 20: expected \':\' of the ternary, found the end of the expression'
        + ' (allowed: a binary range expression such as [0:4], [1:], [0] or [0] == 0xFE ? [3:5] : 0xFFFF)',
    ]);
  });

  test('a non-string expression and an unknown Formatter are reported', () => {
    expect(validatePacketArgument({ TenantIdExpression: 4, TenantIdFormatter: 'coap' }, 'TenantId', 'Arguments')).toEqual([
      'Arguments.TenantIdExpression: 4 is not a string (allowed: a binary range expression such as [0:4], [1:], [0] or [0] == 0xFE ? [3:5] : 0xFFFF)',
      'Arguments.TenantIdFormatter: "coap" is not a Formatter for an argument (allowed: base64, hex, ascii, utf8)',
    ]);
  });
});
