/**
 * `Custom::PacketGatewayWireGuardKey` lifecycle against an in-memory Secrets Manager (versions,
 * AWSCURRENT, idempotent ClientRequestToken) wired into aws-sdk-client-mock.
 */
import { randomUUID } from 'node:crypto';
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { ACCOUNT, LocalDynamo, REGION, request, target, TENANT_ACCOUNT, TENANT_STACK_ID, testContext, TestContext } from './support';
import type { ResourceEvent } from '../../../lambda/registration/events';
import { handleCompletion, handleEvent } from '../../../lambda/registration/index';
import { generatePrivateKey, generationVersionId, isWireGuardKey, publicKeyOf } from '../../../lambda/registration/wireguard-keys';
import { WIREGUARD_KEY_RESOURCE_TYPE } from '../../../lib/private/resource-properties';
import { publicKeyOf as dataPlanePublicKeyOf } from '../../../service/wireguard/keys';

const SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:GatewayTunnelPrivateKey-AbCdEf`;
const OWN_SECRET_ARN = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:devices/wg-key-QwErTy`;

function awsError(name: string, message: string): Error {
  const err = new Error(message);
  err.name = name;
  return err;
}

interface FakeSecret {
  readonly versions: Map<string, { readonly text?: string; readonly binary?: Uint8Array }>;
  current: string;
}

/** Secrets Manager in memory: the calls the handler makes, with the service's version semantics. */
class FakeSecretsManager {
  public readonly mock = mockClient(SecretsManagerClient);
  public readonly secrets = new Map<string, FakeSecret>();
  /** Errors to throw, by command name, once each. */
  public readonly failNext = new Map<string, Error>();
  /** Runs once at the next PutSecretValue, before it takes effect (another writer getting there first). */
  public beforeNextPut: (() => void) | undefined;

  constructor() {
    this.mock.on(GetSecretValueCommand).callsFake((input) => {
      this.maybeFail('GetSecretValue');
      const secret = this.secret(input.SecretId);
      const versionId = input.VersionId ?? secret.current;
      const version = secret.versions.get(versionId);
      if (!version) throw awsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret value for VersionId");
      return { ARN: input.SecretId, VersionId: versionId, SecretString: version.text, SecretBinary: version.binary };
    });
    this.mock.on(PutSecretValueCommand).callsFake((input) => {
      this.maybeFail('PutSecretValue');
      const race = this.beforeNextPut;
      this.beforeNextPut = undefined;
      race?.();
      const secret = this.secret(input.SecretId);
      const versionId = input.ClientRequestToken ?? randomUUID();
      const existing = secret.versions.get(versionId);
      if (existing && existing.text !== input.SecretString) {
        throw awsError('ResourceExistsException', 'A resource with the ID you requested already exists.');
      }
      secret.versions.set(versionId, { text: input.SecretString });
      secret.current = versionId;
      return { ARN: input.SecretId, VersionId: versionId, VersionStages: ['AWSCURRENT'] };
    });
  }

  /** A secret as CloudFormation creates it: one version with a generated placeholder (32 letters and digits). */
  public create(arn: string, value: string | Uint8Array = 'Pl4ceh0lderPl4ceh0lderPl4ceh0lde'): void {
    const versionId = randomUUID();
    this.secrets.set(arn, { versions: new Map([[versionId, typeof value === 'string' ? { text: value } : { binary: value }]]), current: versionId });
  }

  /** The value of the current version. */
  public current(arn: string): string | undefined {
    const secret = this.secrets.get(arn)!;
    return secret.versions.get(secret.current)?.text;
  }

  public calls(name: 'GetSecretValue' | 'PutSecretValue'): number {
    return this.mock.commandCalls(name === 'GetSecretValue' ? GetSecretValueCommand : PutSecretValueCommand).length;
  }

  public restore(): void {
    this.mock.restore();
  }

  private secret(id: string | undefined): FakeSecret {
    const secret = id === undefined ? undefined : this.secrets.get(id);
    if (!secret) throw awsError('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    return secret;
  }

  private maybeFail(command: string): void {
    const err = this.failNext.get(command);
    if (err) {
      this.failNext.delete(command);
      throw err;
    }
  }
}

let dynamo: LocalDynamo;
let ctx: TestContext;
let sm: FakeSecretsManager;
let logged: unknown[];

beforeAll(async () => {
  dynamo = await LocalDynamo.start();
});

afterAll(async () => {
  await dynamo.stop();
});

beforeEach(async () => {
  const base = testContext(dynamo, [target(REGION, await dynamo.createTable())]);
  logged = [];
  const record = (message: string, ...extra: unknown[]): void => {
    logged.push(message, ...extra);
  };
  ctx = { ...base, logger: { info: record, warn: record } };
  sm = new FakeSecretsManager();
  sm.create(SECRET_ARN);
});

afterEach(() => {
  sm.restore();
});

function keyProps(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { ListenerName: 'tunnel', SecretArn: SECRET_ARN, KeySource: 'Generated', Generation: '1', ...overrides };
}

function event(type: ResourceEvent['RequestType'], props: Record<string, unknown>, extra: Partial<ResourceEvent> = {}): ResourceEvent {
  return request(type, WIREGUARD_KEY_RESOURCE_TYPE, props, { LogicalResourceId: 'GatewayTunnelKeyPair', ...extra });
}

function update(props: Record<string, unknown>, old: Record<string, unknown>): ResourceEvent {
  return event('Update', props, { PhysicalResourceId: String(old.SecretArn ?? SECRET_ARN), OldResourceProperties: old });
}

/** The handler's failure reason for `e`. */
async function reason(e: ResourceEvent): Promise<string> {
  try {
    await handleEvent(e, ctx);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('expected the request to fail');
}

describe('generated keys', () => {
  test('Create generates a key pair, stores the private key in the secret and returns the matching public key', async () => {
    const response = await handleEvent(event('Create', keyProps()), ctx);

    const privateKey = sm.current(SECRET_ARN)!;
    expect(isWireGuardKey(privateKey)).toBe(true);
    const raw = Buffer.from(privateKey, 'base64');
    // Clamped like `wg genkey`: the low three bits of the first byte clear, the top bit of the last clear, the next one set.
    expect([raw[0] % 8, Math.floor(raw[31] / 64)]).toEqual([0, 1]);
    expect(response).toEqual({
      PhysicalResourceId: SECRET_ARN,
      Data: { PublicKey: dataPlanePublicKeyOf(privateKey), VersionId: generationVersionId(SECRET_ARN, 1) },
    });
    expect(sm.secrets.get(SECRET_ARN)!.current).toBe(response.Data!.VersionId);
    // The private key leaves Secrets Manager neither through the response nor through the log.
    expect(JSON.stringify(response)).not.toContain(privateKey);
    expect(JSON.stringify(logged)).not.toContain(privateKey);
    expect(JSON.stringify(logged)).toContain(response.Data!.PublicKey);
    expect(await handleCompletion({ ...event('Create', keyProps()), PhysicalResourceId: SECRET_ARN }, ctx)).toEqual({ IsComplete: true });
  });

  test('Update with the same generation keeps the key pair and writes nothing', async () => {
    const created = await handleEvent(event('Create', keyProps()), ctx);
    const privateKey = sm.current(SECRET_ARN);

    const updated = await handleEvent(update(keyProps({ ListenerName: 'tunnel' }), keyProps()), ctx);

    expect(updated).toEqual(created);
    expect(sm.current(SECRET_ARN)).toBe(privateKey);
    expect(sm.calls('PutSecretValue')).toBe(1);
  });

  test('a new generation is a new key pair; rolling back to the earlier generation finds its key again', async () => {
    const first = await handleEvent(event('Create', keyProps()), ctx);
    const second = await handleEvent(update(keyProps({ Generation: '2' }), keyProps()), ctx);

    expect(second.Data!.PublicKey).not.toBe(first.Data!.PublicKey);
    expect(second.Data!.VersionId).toBe(generationVersionId(SECRET_ARN, 2));
    expect(second.Data!.PublicKey).toBe(publicKeyOf(sm.current(SECRET_ARN)!));

    const rolledBack = await handleEvent(update(keyProps(), keyProps({ Generation: '2' })), ctx);
    expect(rolledBack).toEqual(first);
    expect(sm.calls('PutSecretValue')).toBe(2);
  });

  test('a repeated Create (a retried request) returns the key it stored the first time', async () => {
    const e = event('Create', keyProps());
    const first = await handleEvent(e, ctx);
    expect(await handleEvent(e, ctx)).toEqual(first);
    expect(sm.calls('PutSecretValue')).toBe(1);
  });

  test('when another request stores the same generation first, its key wins', async () => {
    const winner = generatePrivateKey();
    const versionId = generationVersionId(SECRET_ARN, 1);
    // The racing request writes between this request's look-up and its write.
    sm.beforeNextPut = () => sm.secrets.get(SECRET_ARN)!.versions.set(versionId, { text: winner });

    const response = await handleEvent(event('Create', keyProps()), ctx);

    expect(response.Data).toEqual({ PublicKey: publicKeyOf(winner), VersionId: versionId });
  });

  test('a generation version changed outside the gateway fails with a reason and how to recover', async () => {
    sm.secrets.get(SECRET_ARN)!.versions.set(generationVersionId(SECRET_ARN, 1), { text: 'edited by hand' });
    const message = await reason(event('Create', keyProps()));
    expect(message).toMatch(/generation 1 of the key of Listener tunnel\) does not hold a WireGuard private key/);
    expect(message).toMatch(/privateKeyGeneration/);
    expect(message).not.toContain('edited by hand');
  });

  test('Secrets Manager errors become reasons that name the secret and what to fix', async () => {
    sm.failNext.set('PutSecretValue', awsError('AccessDeniedException', 'User is not authorized to perform: secretsmanager:PutSecretValue'));
    expect(await reason(event('Create', keyProps()))).toMatch(
      new RegExp(`The registration function may not write secret ${SECRET_ARN} \\(key of Listener tunnel\\) \\(AccessDeniedException: .*\\)\\. The Listener grants it secretsmanager:PutSecretValue`),
    );
    expect(await reason(event('Create', keyProps({ SecretArn: `${SECRET_ARN}x` })))).toMatch(/secretsmanager:.*GatewayTunnelPrivateKey-AbCdEfx \(key of Listener tunnel\) does not exist in this account and region/);
    sm.failNext.set('GetSecretValue', awsError('DecryptionFailure', 'Access to KMS is not allowed'));
    expect(await reason(event('Create', keyProps()))).toMatch(/cannot use the KMS key of secret .* the key must be enabled and allow the registration role to use it/);
  });
});

describe('provided keys', () => {
  test('the public key is derived from the key in the secret; the secret is never written', async () => {
    const privateKey = generatePrivateKey();
    sm.create(OWN_SECRET_ARN, `${privateKey}\n`);

    const response = await handleEvent(event('Create', keyProps({ SecretArn: OWN_SECRET_ARN, KeySource: 'Provided' })), ctx);

    expect(response).toEqual({
      PhysicalResourceId: OWN_SECRET_ARN,
      Data: { PublicKey: dataPlanePublicKeyOf(privateKey), VersionId: sm.secrets.get(OWN_SECRET_ARN)!.current },
    });
    expect(sm.calls('PutSecretValue')).toBe(0);
    expect(JSON.stringify(logged)).not.toContain(privateKey);
  });

  test('a new generation reads the secret again and follows its current version', async () => {
    sm.create(OWN_SECRET_ARN, generatePrivateKey());
    const props = keyProps({ SecretArn: OWN_SECRET_ARN, KeySource: 'Provided' });
    const before = await handleEvent(event('Create', props), ctx);
    const replacement = generatePrivateKey();
    sm.secrets.get(OWN_SECRET_ARN)!.versions.set('v2-00000000-0000-0000-0000-000000000000', { text: replacement });
    sm.secrets.get(OWN_SECRET_ARN)!.current = 'v2-00000000-0000-0000-0000-000000000000';

    const after = await handleEvent(update({ ...props, Generation: '2' }, props), ctx);

    expect(after.Data).toEqual({ PublicKey: publicKeyOf(replacement), VersionId: 'v2-00000000-0000-0000-0000-000000000000' });
    expect(after.Data!.PublicKey).not.toBe(before.Data!.PublicKey);
  });

  test.each([
    ['text that is not a key', 'correct horse battery staple', /does not hold a WireGuard private key: expected 32 bytes in base64 \(44 characters, as printed by 'wg genkey'\), got 28 characters/],
    ['a JSON document', JSON.stringify({ privateKey: generatePrivateKey() }), /got a JSON document; store the key alone, as plain text/],
    ['a key of 31 bytes', Buffer.alloc(31, 1).toString('base64'), /does not hold a WireGuard private key/],
    ['binary data', new Uint8Array(32), /holds binary data; it must hold the WireGuard private key as text/],
  ])('a secret holding %s fails with a reason naming the secret, never its value', async (_what, value, expected) => {
    sm.create(OWN_SECRET_ARN, value);
    const message = await reason(event('Create', keyProps({ SecretArn: OWN_SECRET_ARN, KeySource: 'Provided' })));
    expect(message).toMatch(expected);
    expect(message).toContain(`Secret ${OWN_SECRET_ARN} (privateKey of Listener tunnel)`);
    if (typeof value === 'string') expect(message).not.toContain(value);
  });

  test('switching from a generated key to your own secret replaces the resource; the Delete of the old one changes nothing', async () => {
    await handleEvent(event('Create', keyProps()), ctx);
    const generated = sm.current(SECRET_ARN);
    const own = generatePrivateKey();
    sm.create(OWN_SECRET_ARN, own);

    const response = await handleEvent(update(keyProps({ SecretArn: OWN_SECRET_ARN, KeySource: 'Provided' }), keyProps()), ctx);
    expect(response.PhysicalResourceId).toBe(OWN_SECRET_ARN);
    expect(response.Data!.PublicKey).toBe(publicKeyOf(own));

    await handleEvent(event('Delete', keyProps(), { PhysicalResourceId: SECRET_ARN }), ctx);
    expect(sm.current(SECRET_ARN)).toBe(generated);
    expect(sm.current(OWN_SECRET_ARN)).toBe(own);
  });

  test('a secret the function may not read fails naming the permission', async () => {
    sm.create(OWN_SECRET_ARN, generatePrivateKey());
    sm.failNext.set('GetSecretValue', awsError('AccessDeniedException', 'not authorized'));
    expect(await reason(event('Create', keyProps({ SecretArn: OWN_SECRET_ARN, KeySource: 'Provided' }))))
      .toMatch(/may not read secret .*devices\/wg-key-QwErTy \(key of Listener tunnel\).*secretsmanager:GetSecretValue/);
  });
});

describe('properties and Delete', () => {
  test.each([
    ['no secret ARN', { SecretArn: undefined }, /SecretArn must be a Secrets Manager secret ARN .*, got nothing/],
    ['an ARN of another service', { SecretArn: `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter/wg` }, /SecretArn must be a Secrets Manager secret ARN/],
    ['an unknown key source', { KeySource: 'Random' }, /KeySource must be one of Generated, Provided, got "Random"/],
    ['a negative generation', { Generation: '-1' }, /Generation must be an integer from 0 to 2147483647, got "-1"/],
    ['a fractional generation', { Generation: '1.5' }, /Generation must be an integer/],
    ['a bad Listener name', { ListenerName: 'no spaces' }, /ListenerName must be a Listener name/],
    ['an unknown property', { PrivateKey: 'x' }, /unknown property PrivateKey \(allowed: ServiceToken, ListenerName, SecretArn, KeySource, Generation\)/],
  ])('fails with %s', async (_what, overrides, expected) => {
    const message = await reason(event('Create', keyProps(overrides)));
    expect(message).toMatch(/^Invalid WireGuard key properties: /);
    expect(message).toMatch(expected);
    expect(sm.calls('GetSecretValue') + sm.calls('PutSecretValue')).toBe(0);
  });

  test('Delete leaves the secret to its own resource and makes no call', async () => {
    await handleEvent(event('Create', keyProps()), ctx);
    const value = sm.current(SECRET_ARN);
    const calls = sm.calls('GetSecretValue') + sm.calls('PutSecretValue');

    expect(await handleEvent(event('Delete', keyProps(), { PhysicalResourceId: SECRET_ARN }), ctx)).toEqual({ PhysicalResourceId: SECRET_ARN });
    expect(await handleEvent(event('Delete', { Garbage: true }, { PhysicalResourceId: SECRET_ARN }), ctx)).toEqual({ PhysicalResourceId: SECRET_ARN });

    expect(sm.calls('GetSecretValue') + sm.calls('PutSecretValue')).toBe(calls);
    expect(sm.current(SECRET_ARN)).toBe(value);
  });
});

test("a tenant account's key resource is refused before Secrets Manager is called: it could replace or read the gateway's key", async () => {
  await handleEvent(event('Create', keyProps()), ctx);
  const value = sm.current(SECRET_ARN);
  const calls = sm.calls('GetSecretValue') + sm.calls('PutSecretValue');

  for (const props of [keyProps({ Generation: '7' }), keyProps({ KeySource: 'Provided' })]) {
    for (const type of ['Create', 'Update'] as const) {
      const tenant = { StackId: TENANT_STACK_ID, PhysicalResourceId: SECRET_ARN, OldResourceProperties: keyProps() };
      const message = await reason(event(type, props, tenant));
      expect(message).toBe(`Custom::PacketGatewayWireGuardKey is accepted from the gateway's own account ${ACCOUNT} only, `
        + `but the stack is in account ${TENANT_ACCOUNT}. `
        + 'Other accounts in allowedAccounts may register PacketSources; Listeners and WireGuard keys are defined in the stack of the gateway.');
    }
  }
  expect(await handleEvent(event('Delete', keyProps(), { StackId: TENANT_STACK_ID, PhysicalResourceId: SECRET_ARN }), ctx)).toEqual({ PhysicalResourceId: SECRET_ARN });

  expect(sm.calls('GetSecretValue') + sm.calls('PutSecretValue')).toBe(calls);
  expect(sm.current(SECRET_ARN)).toBe(value);
});

test('keys: generated keys are distinct, clamped, and derive RFC 7748 public keys', () => {
  const keys = new Set(Array.from({ length: 20 }, () => generatePrivateKey()));
  expect(keys.size).toBe(20);
  for (const key of keys) {
    const raw = Buffer.from(key, 'base64');
    expect([raw[0] % 8, raw[31] >= 64 && raw[31] < 128]).toEqual([0, true]);
  }
  // RFC 7748 section 6.1: Bob's private and public key.
  const bob = Buffer.from('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb', 'hex').toString('base64');
  expect(publicKeyOf(bob)).toBe(Buffer.from('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f', 'hex').toString('base64'));
  // RFC 7748 section 6.1: Alice's private and public key.
  const alice = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex').toString('base64');
  expect(publicKeyOf(alice)).toBe(Buffer.from('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a', 'hex').toString('base64'));
  expect(() => publicKeyOf('not a key')).toThrow(/private key must be a WireGuard key/);
});
