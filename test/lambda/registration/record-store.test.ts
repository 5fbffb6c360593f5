import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { LocalDynamo, REGION } from './support';
import { settingsFromEnvironment } from '../../../lambda/registration/context';
import { RecordStore, TableNotFoundError } from '../../../lambda/registration/record-store';
import { RegistrationEnvironment } from '../../../lib/private/resource-properties';

let dynamo: LocalDynamo;
let store: RecordStore;

beforeAll(async () => {
  dynamo = await LocalDynamo.start();
  store = new RecordStore(() => dynamo.documents);
});

afterAll(async () => {
  await dynamo.stop();
});

const owner = { StackId: 'stack-a', LogicalResourceId: 'A' };

/** A store whose first write is preceded by `interfere` (another deployment writing the same item). */
function storeWithInterference(interfere: () => Promise<unknown>): RecordStore {
  let interfered = false;
  const client = {
    send: async (command: unknown) => {
      if (!interfered && (command instanceof PutCommand)) {
        interfered = true;
        await interfere();
      }
      return dynamo.documents.send(command as PutCommand);
    },
  } as unknown as DynamoDBDocumentClient;
  return new RecordStore(() => client);
}

test('a write conditional on a version someone else changed is decided again on the fresh item', async () => {
  const table = { Region: REGION, TableName: await dynamo.createTable() };
  await store.mutate(table, 'SOURCE#t', 'PacketSource', () => ({ put: { record: { n: 1 }, owner } }));
  const racing = storeWithInterference(() => dynamo.documents.send(new PutCommand({
    TableName: table.TableName, Item: { pk: 'SOURCE#t', kind: 'PacketSource', record: { n: 10 }, owner, version: 2 },
  })));
  const seen: number[] = [];

  await racing.mutate<{ n: number }>(table, 'SOURCE#t', 'PacketSource', (current) => {
    seen.push(current!.record.n);
    return { put: { record: { n: current!.record.n + 1 }, owner } };
  });

  expect(seen).toEqual([1, 10]);
  const item = (await dynamo.documents.send(new GetCommand({ TableName: table.TableName, Key: { pk: 'SOURCE#t' }, ConsistentRead: true }))).Item;
  expect(item).toMatchObject({ record: { n: 11 }, version: 3 });
});

test('creating an item that appeared meanwhile is decided again instead of overwriting it', async () => {
  const table = { Region: REGION, TableName: await dynamo.createTable() };
  const racing = storeWithInterference(() => dynamo.documents.send(new PutCommand({
    TableName: table.TableName, Item: { pk: 'LISTENER#l', kind: 'Listener', record: { n: 5 }, owner, version: 1 },
  })));
  const seen: Array<number | undefined> = [];
  await racing.mutate<{ n: number }>(table, 'LISTENER#l', 'Listener', (current) => {
    seen.push(current?.record.n);
    return current ? { keep: true } : { put: { record: { n: 1 }, owner } };
  });
  expect(seen).toEqual([undefined, 5]);
  expect((await store.get<{ n: number }>(table, 'LISTENER#l'))?.record.n).toBe(5);
});

test('settings come from the environment and a bad variable is named', () => {
  const env = {
    [RegistrationEnvironment.DeliveryTargets]: JSON.stringify([{ Region: REGION, QueueArn: 'arn:aws:sqs:eu-west-1:123456789012:q', TableName: 't' }]),
    [RegistrationEnvironment.AccessRoleArn]: 'arn:aws:iam::123456789012:role/access',
    [RegistrationEnvironment.ConfirmationTimeoutSeconds]: '60',
  };
  expect(settingsFromEnvironment(env)).toEqual({
    targets: [{ Region: REGION, QueueArn: 'arn:aws:sqs:eu-west-1:123456789012:q', TableName: 't' }],
    accessRoleArn: 'arn:aws:iam::123456789012:role/access',
    confirmationTimeoutMs: 60_000,
    gatewayAccount: '123456789012',
  });
  expect(() => settingsFromEnvironment({ ...env, [RegistrationEnvironment.DeliveryTargets]: '[]' }))
    .toThrow('PACKET_GATEWAY_DELIVERY_TARGETS must be a non-empty JSON array');
  expect(() => settingsFromEnvironment({ ...env, [RegistrationEnvironment.AccessRoleArn]: undefined }))
    .toThrow('environment variable PACKET_GATEWAY_ACCESS_ROLE_ARN is not set');
  expect(() => settingsFromEnvironment({ ...env, [RegistrationEnvironment.AccessRoleArn]: 'arn:aws:iam::123456789012:user/access' }))
    .toThrow('environment variable PACKET_GATEWAY_ACCESS_ROLE_ARN must be an IAM role ARN (arn:<partition>:iam::<account>:role/<name>), got "arn:aws:iam::123456789012:user/access"');
  expect(() => settingsFromEnvironment({ ...env, [RegistrationEnvironment.AccessRoleArn]: 'arn:aws:iam::123456789012:role/' }))
    .toThrow('must be an IAM role ARN (arn:<partition>:iam::<account>:role/<name>), got "arn:aws:iam::123456789012:role/"');
});

test('the resource types a function instance serves come from the environment', () => {
  const env = {
    [RegistrationEnvironment.DeliveryTargets]: JSON.stringify([{ Region: REGION, QueueArn: 'arn:aws:sqs:eu-west-1:123456789012:q', TableName: 't' }]),
    [RegistrationEnvironment.AccessRoleArn]: 'arn:aws:iam::123456789012:role/access',
  };
  expect(settingsFromEnvironment(env).servedResourceTypes).toBeUndefined();
  expect(settingsFromEnvironment({ ...env, [RegistrationEnvironment.ServedResourceTypes]: '["Custom::PacketGatewayPacketSource"]' }).servedResourceTypes)
    .toEqual(['Custom::PacketGatewayPacketSource']);
  expect(() => settingsFromEnvironment({ ...env, [RegistrationEnvironment.ServedResourceTypes]: '["Custom::Other"]' }))
    .toThrow('environment variable PACKET_GATEWAY_SERVED_RESOURCE_TYPES must be a non-empty JSON array of resource types '
      + '(allowed: Custom::PacketGatewayListener, Custom::PacketGatewayPacketSource, Custom::PacketGatewayWireGuardKey), got ["Custom::Other"]');
});

describe('a table that does not exist', () => {
  const missing = { Region: 'eu-central-1', TableName: 'gateway-deleted' };

  test('fails every call with an error naming the table and its region', async () => {
    const reason = 'Table gateway-deleted of the gateway in eu-central-1 does not exist (ResourceNotFoundException)';
    await expect(store.get(missing, 'SOURCE#t')).rejects.toThrow(reason);
    await expect(store.list(missing, 'PacketSource')).rejects.toThrow(reason);
    await expect(store.mutate(missing, 'SOURCE#t', 'PacketSource', () => ({ put: { record: {}, owner } }))).rejects.toThrow(TableNotFoundError);
  });

  test('reads as empty and takes no writes in a store for deletions, which is told of it', async () => {
    const told: string[] = [];
    const deleting = store.missingTablesAsEmpty((table) => told.push(`${table.Region}/${table.TableName}`));
    const decide = jest.fn(() => ({ delete: true as const }));

    expect(await deleting.get(missing, 'SOURCE#t')).toBeUndefined();
    expect(await deleting.list(missing, 'PacketSource')).toEqual([]);
    expect(await deleting.mutate(missing, 'SOURCE#t', 'PacketSource', decide)).toBeUndefined();
    expect(decide).not.toHaveBeenCalled();
    expect(told).toEqual(['eu-central-1/gateway-deleted', 'eu-central-1/gateway-deleted', 'eu-central-1/gateway-deleted']);
  });
});
