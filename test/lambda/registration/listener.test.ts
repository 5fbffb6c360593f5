import {
  ACCOUNT, homeRegionTables, listenerProps, OTHER_STACK_ID, REGION, request, STACK_ID, TENANT_ACCOUNT, TENANT_STACK_ID, TestContext,
} from './support';
import type { ResourceEvent } from '../../../lambda/registration/events';
import { handleCompletion, handleEvent } from '../../../lambda/registration/index';
import { LISTENER_RESOURCE_TYPE, PACKET_SOURCE_RESOURCE_TYPE, WIREGUARD_KEY_RESOURCE_TYPE } from '../../../lib/private/resource-properties';

const tables = homeRegionTables();

function item(name: string): Promise<Record<string, any> | undefined> {
  return tables.item(`LISTENER#${name}`);
}

function event(type: ResourceEvent['RequestType'], props: Record<string, unknown>, extra: Partial<ResourceEvent> = {}): ResourceEvent {
  return request(type, LISTENER_RESOURCE_TYPE, props, { LogicalResourceId: 'Telemetry', ...extra });
}

test('Create stores the record under LISTENER#<name>; the physical id is the name', async () => {
  const response = await handleEvent(event('Create', listenerProps('telemetry', 5555)), tables.ctx);

  expect(response).toEqual({ PhysicalResourceId: 'telemetry', Data: { ListenerName: 'telemetry' } });
  expect(await item('telemetry')).toMatchObject({
    pk: 'LISTENER#telemetry',
    kind: 'Listener',
    version: 1,
    owner: { LogicalResourceId: 'Telemetry' },
    record: { Name: 'telemetry', Protocol: 'udp', Port: 5555, Destinations: [{ Name: 'lambda-0', Type: 'lambda' }] },
  });
  expect(await handleCompletion({ ...event('Create', listenerProps()), PhysicalResourceId: 'telemetry' }, tables.ctx)).toEqual({ IsComplete: true });
});

test('a Configuration naming its protocol by Proxylity\'s Protocols list is stored with Protocol too', async () => {
  const props = listenerProps('telemetry', 5555);
  const { Protocol: _protocol, ...configuration } = JSON.parse(props.Configuration as string);
  await handleEvent(event('Create', { ...props, Configuration: JSON.stringify({ ...configuration, Protocols: ['udp'] }) }), tables.ctx);
  expect((await item('telemetry'))?.record).toMatchObject({ Protocol: 'udp', Protocols: ['udp'] });
  await expect(handleEvent(event('Update', { ...props, Configuration: JSON.stringify({ ...configuration, Protocols: ['udp', 'wg'] }) }), tables.ctx))
    .rejects.toThrow(/Configuration\.Protocols: \["udp","wg"\] holds 2 protocols \(allowed: exactly one of udp, wg/);
});

test('Update with the same name rewrites the record in place', async () => {
  await handleEvent(event('Create', listenerProps('telemetry', 5555)), tables.ctx);
  const response = await handleEvent(event('Update', listenerProps('telemetry', 6000), { PhysicalResourceId: 'telemetry', OldResourceProperties: listenerProps() }), tables.ctx);

  expect(response.PhysicalResourceId).toBe('telemetry');
  expect(await item('telemetry')).toMatchObject({ version: 2, record: { Port: 6000 } });
});

test('a new name replaces the resource: written under the new name, the old record removed by the Delete that follows', async () => {
  await handleEvent(event('Create', listenerProps('telemetry')), tables.ctx);
  const response = await handleEvent(event('Update', listenerProps('sensors'), { PhysicalResourceId: 'telemetry', OldResourceProperties: listenerProps() }), tables.ctx);

  expect(response.PhysicalResourceId).toBe('sensors');
  expect(await item('telemetry')).toBeDefined();
  await handleEvent(event('Delete', listenerProps('telemetry'), { PhysicalResourceId: 'telemetry' }), tables.ctx);
  expect(await item('telemetry')).toBeUndefined();
  expect((await item('sensors'))?.record.Name).toBe('sensors');
});

test('Delete removes the record; deleting a record that is gone succeeds', async () => {
  await handleEvent(event('Create', listenerProps()), tables.ctx);
  await handleEvent(event('Delete', listenerProps(), { PhysicalResourceId: 'telemetry' }), tables.ctx);
  expect(await item('telemetry')).toBeUndefined();
  await expect(handleEvent(event('Delete', listenerProps(), { PhysicalResourceId: 'telemetry' }), tables.ctx)).resolves.toEqual({ PhysicalResourceId: 'telemetry' });
});

test('refuses a name another stack defines, naming that stack', async () => {
  await handleEvent(event('Create', listenerProps()), tables.ctx);
  await expect(handleEvent(event('Create', listenerProps('telemetry', 7000), { StackId: OTHER_STACK_ID }), tables.ctx))
    .rejects.toThrow(/Listener telemetry already exists in this gateway, defined by stack .*:stack\/app\/.*choose another listenerName/);
  expect((await item('telemetry'))?.record.Port).toBe(5555);

  // And another stack's Delete leaves it alone.
  await handleEvent(event('Delete', listenerProps(), { PhysicalResourceId: 'telemetry', StackId: OTHER_STACK_ID }), tables.ctx);
  expect(await item('telemetry')).toBeDefined();
});

test('a construct moved to a new logical id takes the name over; deleting the old resource keeps the new record', async () => {
  await handleEvent(event('Create', listenerProps('telemetry', 5555)), tables.ctx);
  await handleEvent(event('Create', listenerProps('telemetry', 5556), { LogicalResourceId: 'TelemetryMoved' }), tables.ctx);
  expect((await item('telemetry'))?.previous.owner.LogicalResourceId).toBe('Telemetry');

  await handleEvent(event('Delete', listenerProps('telemetry', 5555), { PhysicalResourceId: 'telemetry' }), tables.ctx);

  const after = await item('telemetry');
  expect(after).toMatchObject({ owner: { LogicalResourceId: 'TelemetryMoved' }, record: { Port: 5556 } });
  expect(after?.previous).toBeUndefined();
});

test('rolling back that move restores the record of the old resource', async () => {
  await handleEvent(event('Create', listenerProps('telemetry', 5555)), tables.ctx);
  await handleEvent(event('Create', listenerProps('telemetry', 5556), { LogicalResourceId: 'TelemetryMoved' }), tables.ctx);

  await handleEvent(event('Delete', listenerProps('telemetry', 5556), { PhysicalResourceId: 'telemetry', LogicalResourceId: 'TelemetryMoved' }), tables.ctx);

  expect(await item('telemetry')).toMatchObject({ owner: { LogicalResourceId: 'Telemetry' }, record: { Port: 5555 } });
});

describe('ports', () => {
  test("refuses a port another stack's Listener uses, naming that Listener only", async () => {
    await handleEvent(event('Create', listenerProps('telemetry', 5555)), tables.ctx);

    const failure = handleEvent(event('Create', listenerProps('sensors', 5555), { StackId: OTHER_STACK_ID, LogicalResourceId: 'Sensors' }), tables.ctx);
    await expect(failure).rejects.toThrow('Port 5555 of Listener sensors is already used by Listener telemetry of this gateway. Two Listeners cannot share a port');
    const reason = await failure.catch((err: Error) => err.message);
    for (const secret of [STACK_ID, 'stack/app', 'Telemetry']) expect(reason).not.toContain(secret);
    expect(await item('sensors')).toBeUndefined();
  });

  test('refuses an Update onto a port in use, keeping the old record', async () => {
    await handleEvent(event('Create', listenerProps('telemetry', 5555)), tables.ctx);
    await handleEvent(event('Create', listenerProps('control', 5556), { LogicalResourceId: 'Control' }), tables.ctx);

    const moved = event('Update', listenerProps('control', 5555), { LogicalResourceId: 'Control', PhysicalResourceId: 'control', OldResourceProperties: listenerProps('control', 5556) });
    await expect(handleEvent(moved, tables.ctx)).rejects.toThrow('Port 5555 of Listener control is already used by Listener telemetry');
    expect((await item('control'))?.record.Port).toBe(5556);
  });

  test('a resource keeps its port while CloudFormation replaces it under a new name', async () => {
    await handleEvent(event('Create', listenerProps('telemetry', 5555)), tables.ctx);
    await expect(handleEvent(event('Update', listenerProps('sensors', 5555), { PhysicalResourceId: 'telemetry', OldResourceProperties: listenerProps() }), tables.ctx))
      .resolves.toMatchObject({ PhysicalResourceId: 'sensors' });
  });

  test('of two registrations racing for one port, at most one keeps it', async () => {
    const outcomes = await Promise.allSettled([
      handleEvent(event('Create', listenerProps('first', 6000), { LogicalResourceId: 'First' }), tables.ctx),
      handleEvent(event('Create', listenerProps('second', 6000), { StackId: OTHER_STACK_ID, LogicalResourceId: 'Second' }), tables.ctx),
    ]);

    const kept = [await item('first'), await item('second')].filter((i) => i !== undefined);
    expect(kept.length).toBeLessThanOrEqual(1);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(kept.length);
  });
});

describe('accepted from the gateway account only', () => {
  test("refuses a tenant's Listener on the platform's WireGuard port, with the platform's key variable and its own queue", async () => {
    await handleEvent(event('Create', wireGuardProps({})), tables.ctx);
    const before = await item('tunnel');
    const hijack = {
      ListenerName: 'tunnel-tenant',
      Configuration: JSON.stringify({
        Name: 'tunnel-tenant',
        Protocol: 'wg',
        Port: 51820,
        Destinations: [{ Name: 'sqs-0', Type: 'sqs', Arn: `arn:aws:sqs:${REGION}:${TENANT_ACCOUNT}:loot` }],
        WireGuard: { PrivateKeyEnvironmentVariable: 'PACKET_GATEWAY_WG_KEY_TUNNEL', Peers: [{ PublicKey: PEER_KEY, AllowedIPs: ['10.10.0.9/32'] }] },
      }),
    };

    for (const type of ['Create', 'Update'] as const) {
      await expect(handleEvent(event(type, hijack, { StackId: TENANT_STACK_ID, PhysicalResourceId: 'tunnel-tenant', OldResourceProperties: hijack }), tables.ctx))
        .rejects.toThrow(`Custom::PacketGatewayListener is accepted from the gateway's own account ${ACCOUNT} only, but the stack is in account ${TENANT_ACCOUNT}`);
    }
    expect(await item('tunnel-tenant')).toBeUndefined();
    expect(await item('tunnel')).toEqual(before);
  });

  test('refuses a request whose ServiceToken is in another account', async () => {
    const forged = event('Create', { ...listenerProps('sensors', 6001), ServiceToken: `arn:aws:lambda:${REGION}:${TENANT_ACCOUNT}:function:provider` });
    await expect(handleEvent(forged, tables.ctx)).rejects.toThrow(`but the ServiceToken is in account ${TENANT_ACCOUNT}`);
    expect(await item('sensors')).toBeUndefined();
  });

  test("a tenant's Delete succeeds and removes nothing of the gateway's", async () => {
    await handleEvent(event('Create', listenerProps()), tables.ctx);
    await expect(handleEvent(event('Delete', listenerProps(), { StackId: TENANT_STACK_ID, PhysicalResourceId: 'telemetry' }), tables.ctx))
      .resolves.toEqual({ PhysicalResourceId: 'telemetry' });
    expect(await item('telemetry')).toBeDefined();
  });
});

describe('the service token of other accounts serves PacketSources only', () => {
  let tenantToken: TestContext;
  beforeEach(() => {
    tenantToken = { ...tables.ctx, servedResourceTypes: [PACKET_SOURCE_RESOURCE_TYPE] };
  });

  test("refuses a Listener forged with the gateway's own StackId and ServiceToken", async () => {
    const forged = event('Create', { ...listenerProps('telemetry', 5555), ServiceToken: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:provider` }, { StackId: STACK_ID });
    await expect(handleEvent(forged, tenantToken)).rejects.toThrow(
      `${LISTENER_RESOURCE_TYPE} is not served by this service token (allowed: ${PACKET_SOURCE_RESOURCE_TYPE})`);
    expect(await item('telemetry')).toBeUndefined();
  });

  test('refuses Updates of Listeners and WireGuard keys', async () => {
    await handleEvent(event('Create', listenerProps('telemetry', 5555)), tables.ctx);
    const before = await item('telemetry');
    const update = event('Update', listenerProps('telemetry', 6000), { PhysicalResourceId: 'telemetry', OldResourceProperties: listenerProps('telemetry', 5555) });
    await expect(handleEvent(update, tenantToken)).rejects.toThrow(`${LISTENER_RESOURCE_TYPE} is not served by this service token`);
    const key = request('Create', WIREGUARD_KEY_RESOURCE_TYPE, { ListenerName: 'tunnel' });
    await expect(handleEvent(key, tenantToken)).rejects.toThrow(`${WIREGUARD_KEY_RESOURCE_TYPE} is not served by this service token`);
    expect(await item('telemetry')).toEqual(before);
  });

  test('a Delete of a Listener through it succeeds and removes nothing', async () => {
    await handleEvent(event('Create', listenerProps()), tables.ctx);
    await expect(handleEvent(event('Delete', listenerProps(), { StackId: STACK_ID, PhysicalResourceId: 'telemetry' }), tenantToken))
      .resolves.toEqual({ PhysicalResourceId: 'telemetry' });
    expect(await item('telemetry')).toBeDefined();
  });
});

function wireGuardProps(peer: Record<string, unknown>): Record<string, unknown> {
  return {
    ListenerName: 'tunnel',
    Configuration: JSON.stringify({
      Name: 'tunnel',
      Protocol: 'wg',
      Port: 51820,
      Destinations: [{ Name: 'lambda-0', Type: 'lambda', Arn: `arn:aws:lambda:${REGION}:123456789012:function:ingest` }],
      WireGuard: { PrivateKeyEnvironmentVariable: 'PACKET_GATEWAY_WG_KEY_TUNNEL', Peers: [{ PublicKey: PEER_KEY, AllowedIPs: ['10.10.0.2/32'], ...peer }] },
    }),
  };
}

const PEER_KEY = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';
const PRIVATE_KEY = 'yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=';

test('a WireGuard record names the environment variables of its keys, never the keys', async () => {
  await handleEvent(event('Create', wireGuardProps({ PresharedKeyEnvironmentVariable: 'PACKET_GATEWAY_WG_PSK_TUNNEL_0' })), tables.ctx);
  expect((await item('tunnel'))?.record.WireGuard).toEqual({
    PrivateKeyEnvironmentVariable: 'PACKET_GATEWAY_WG_KEY_TUNNEL',
    Peers: [{ PublicKey: PEER_KEY, AllowedIPs: ['10.10.0.2/32'], PresharedKeyEnvironmentVariable: 'PACKET_GATEWAY_WG_PSK_TUNNEL_0' }],
  });
});

describe('fails with a reason naming the problem', () => {
  test('a WireGuard peer names both a preshared key and its environment variable, or a malformed variable', async () => {
    await expect(handleEvent(event('Create', wireGuardProps({ PresharedKey: PEER_KEY, PresharedKeyEnvironmentVariable: 'PSK' })), tables.ctx))
      .rejects.toThrow('Configuration.WireGuard.Peers[0]: PresharedKey and PresharedKeyEnvironmentVariable are both set (allowed: one of them)');
    await expect(handleEvent(event('Create', wireGuardProps({ PresharedKeyEnvironmentVariable: '0-psk' })), tables.ctx))
      .rejects.toThrow(/Configuration.WireGuard.Peers\[0\].PresharedKeyEnvironmentVariable: "0-psk" is not an environment variable name/);
    expect(await item('tunnel')).toBeUndefined();
  });

  /** The properties of Listener `tunnel` with `wireGuard` as its WireGuard settings. */
  function withWireGuard(wireGuard: Record<string, unknown>): Record<string, unknown> {
    const props = wireGuardProps({});
    const record = JSON.parse(props.Configuration as string) as Record<string, unknown>;
    return { ...props, Configuration: JSON.stringify({ ...record, WireGuard: wireGuard }) };
  }

  const allowedSources = 'allowed: PrivateKeyEnvironmentVariable (an ECS secret of the fleet, as the constructs pass it) or PrivateKeySecretArn';

  test('a WireGuard private key in plain text (local configuration files only), and nothing is stored', async () => {
    const props = withWireGuard({ PrivateKey: PRIVATE_KEY, Peers: [{ PublicKey: PEER_KEY }] });
    await expect(handleEvent(event('Create', props), tables.ctx)).rejects.toThrow(
      'Invalid Listener properties: Configuration.WireGuard.PrivateKey: a private key in plain text is for local configuration files only; '
      + `a deployed gateway refuses it (${allowedSources})`);
    expect(await item('tunnel')).toBeUndefined();

    await handleEvent(event('Create', wireGuardProps({})), tables.ctx);
    const before = await item('tunnel');
    await expect(handleEvent(event('Update', props, { PhysicalResourceId: 'tunnel', OldResourceProperties: wireGuardProps({}) }), tables.ctx))
      .rejects.toThrow('Configuration.WireGuard.PrivateKey: a private key in plain text is for local configuration files only');
    expect(await item('tunnel')).toEqual(before);
  });

  test('a WireGuard Listener without a private key source, which could never start in the fleet', async () => {
    await expect(handleEvent(event('Create', withWireGuard({})), tables.ctx)).rejects.toThrow(
      `Invalid Listener properties: Configuration.WireGuard: no private key source, so the Listener could never start in the fleet (${allowedSources})`);
    await expect(handleEvent(event('Create', withWireGuard({ PublicKey: PEER_KEY, Peers: [{ PublicKey: PEER_KEY }] })), tables.ctx))
      .rejects.toThrow('Configuration.WireGuard: no private key source');
    expect(await item('tunnel')).toBeUndefined();
  });

  test('a peer\'s preshared key in plain text; its environment variable or a secret ARN registers', async () => {
    await expect(handleEvent(event('Create', wireGuardProps({ PresharedKey: PEER_KEY })), tables.ctx)).rejects.toThrow(
      'Configuration.WireGuard.Peers[0].PresharedKey: a preshared key in plain text is for local configuration files only; a deployed gateway refuses it '
      + '(allowed: PresharedKeyEnvironmentVariable, or PresharedKey as the ARN of a Secrets Manager secret)');
    expect(await item('tunnel')).toBeUndefined();

    const secretArn = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:tunnel-psk-AbCdEf`;
    await handleEvent(event('Create', wireGuardProps({ PresharedKey: secretArn })), tables.ctx);
    expect((await item('tunnel'))?.record.WireGuard.Peers[0].PresharedKey).toBe(secretArn);
  });

  test('a private key in a Secrets Manager secret registers', async () => {
    const secretArn = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:tunnel-key-AbCdEf`;
    await handleEvent(event('Create', withWireGuard({ PrivateKeySecretArn: secretArn, Peers: [{ PublicKey: PEER_KEY }] })), tables.ctx);
    expect((await item('tunnel'))?.record.WireGuard).toEqual({ PrivateKeySecretArn: secretArn, Peers: [{ PublicKey: PEER_KEY }] });
  });

  test('an SQS destination whose QueueUrl names a host other than the SQS endpoint of its queue', async () => {
    const destination = { Name: 'sqs-0', Type: 'sqs', Arn: `arn:aws:sqs:${REGION}:${ACCOUNT}:archive`, QueueUrl: `https://collector.example.net/${ACCOUNT}/archive` };
    const configuration = JSON.stringify({ Name: 'telemetry', Protocol: 'udp', Port: 5555, Destinations: [destination] });
    await expect(handleEvent(event('Create', { ListenerName: 'telemetry', Configuration: configuration }), tables.ctx))
      .rejects.toThrow(`Configuration.Destinations[0].QueueUrl: "https://collector.example.net/${ACCOUNT}/archive" is not the URL of an SQS queue on its regional endpoint`);
    expect(await item('telemetry')).toBeUndefined();
  });

  test('Configuration is not JSON', async () => {
    await expect(handleEvent(event('Create', { ListenerName: 'telemetry', Configuration: '{"Name":' }), tables.ctx))
      .rejects.toThrow(/Configuration is not valid JSON/);
  });

  test('the record is invalid (every problem listed)', async () => {
    const configuration = JSON.stringify({ Name: 'telemetry', Protocol: 'tcp', Port: 70000, Destinations: [] });
    const failure = handleEvent(event('Create', { ListenerName: 'telemetry', Configuration: configuration }), tables.ctx);
    await expect(failure).rejects.toThrow(/Invalid Listener properties: .*Configuration.Protocol.*Configuration.Port/);
    expect(await item('telemetry')).toBeUndefined();
  });

  test.each([
    ['local', { Name: 'd', Type: 'local', Module: 'handler.js' }],
    ['log', { Name: 'd', Type: 'log' }],
  ])('a destination of Type %s (local mode only) is refused, naming the types allowed', async (type, destination) => {
    const configuration = JSON.stringify({ Name: 'telemetry', Protocol: 'udp', Port: 5555, Destinations: [destination] });
    await expect(handleEvent(event('Create', { ListenerName: 'telemetry', Configuration: configuration }), tables.ctx))
      .rejects.toThrow(`Invalid Listener properties: Configuration.Destinations[0].Type: "${type}" exists only in local mode (allowed: lambda, sqs, stepfunctions, apigateway, logs, s3, dynamodb, sns, kinesis, firehose, eventbridge)`);
    expect(await item('telemetry')).toBeUndefined();
  });

  test('CloudWatch Logs, S3 and DynamoDB destinations with their Arguments are stored', async () => {
    const destinations = [
      { Name: 'audit', Type: 'logs', Arn: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/udp/audit:*` },
      { Name: 'archive', Type: 's3', Arn: 'arn:aws:s3:::packet-archive', Arguments: { KeyPrefix: 'udp/' } },
      { Name: 'store', Type: 'dynamodb', Arn: `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/packets`, Arguments: { SortKeyAttribute: 'ts' } },
    ];
    const configuration = JSON.stringify({ Name: 'telemetry', Protocol: 'udp', Port: 5555, Destinations: destinations });
    await handleEvent(event('Create', { ListenerName: 'telemetry', Configuration: configuration }), tables.ctx);
    expect((await item('telemetry'))?.record).toMatchObject({ Destinations: destinations });
  });

  test('Configuration.Name differs from ListenerName', async () => {
    const props = { ...listenerProps('telemetry'), ListenerName: 'other' };
    await expect(handleEvent(event('Create', props), tables.ctx)).rejects.toThrow('Configuration.Name "telemetry" differs from ListenerName "other"');
  });

  test('the resource type is not served', async () => {
    await expect(handleEvent(request('Create', 'Custom::Something', {}), tables.ctx)).rejects.toThrow(/Resource type Custom::Something is not served/);
    await expect(handleEvent(request('Delete', 'Custom::Something', {}, { PhysicalResourceId: 'x' }), tables.ctx)).resolves.toEqual({ PhysicalResourceId: 'x' });
  });
});

describe('destination Roles', () => {
  const withRole = (role: Record<string, unknown>, name = 'telemetry'): Record<string, unknown> => {
    const configuration = JSON.parse(listenerProps(name).Configuration as string);
    configuration.Destinations[0].Role = role;
    return { ListenerName: name, Configuration: JSON.stringify(configuration) };
  };
  const ROLE_ARN = 'arn:aws:iam::333333333333:role/delivery';

  test('the ExternalId is the registering stack\'s account id, set by the gateway', async () => {
    await handleEvent(event('Create', withRole({ Arn: ROLE_ARN })), tables.ctx);
    expect((await item('telemetry'))?.record.Destinations[0].Role).toEqual({ Arn: ROLE_ARN, ExternalId: ACCOUNT });
  });

  test('a record naming its own account\'s ExternalId is accepted; another account\'s is refused', async () => {
    await handleEvent(event('Create', withRole({ Arn: ROLE_ARN, ExternalId: ACCOUNT })), tables.ctx);
    expect((await item('telemetry'))?.record.Destinations[0].Role.ExternalId).toBe(ACCOUNT);
    await expect(handleEvent(event('Create', withRole({ Arn: ROLE_ARN, ExternalId: TENANT_ACCOUNT }, 'other')), tables.ctx))
      .rejects.toThrow(`Configuration.Destinations[0].Role.ExternalId "${TENANT_ACCOUNT}" is not this stack's account id (allowed: ${ACCOUNT}, or leave it out`);
    expect(await item('other')).toBeUndefined();
  });

  test('Lambda options and region maps are accepted as validated', async () => {
    const configuration = JSON.parse(listenerProps().Configuration as string);
    configuration.Destinations[0] = {
      Name: 'fn',
      Type: 'lambda',
      Arn: { [REGION]: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:ingest`, '*': `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:ingest` },
      Arguments: { UseResponseStreaming: true, TenantIdExpression: '[0:4]', TenantIdFormatter: 'hex' },
    };
    await handleEvent(event('Create', { ListenerName: 'telemetry', Configuration: JSON.stringify(configuration) }), tables.ctx);
    expect((await item('telemetry'))?.record.Destinations[0]).toMatchObject({ Arguments: { UseResponseStreaming: true, TenantIdExpression: '[0:4]' } });
    configuration.Destinations[0].Arguments.InvocationType = 'Event';
    await expect(handleEvent(event('Update', { ListenerName: 'telemetry', Configuration: JSON.stringify(configuration) }, { PhysicalResourceId: 'telemetry' }), tables.ctx))
      .rejects.toThrow('UseResponseStreaming: true is set with InvocationType Event');
  });
});
