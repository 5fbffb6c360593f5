import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import {
  EXPIRY_MARGIN_MS, REFRESH_BEFORE_EXPIRY_MS, ROLE_SESSION_NAME, RoleCredentials, SESSION_DURATION_SECONDS,
} from '../../../service/destinations/role-credentials';

const sts = mockClient(STSClient);
const ROLE = { Arn: 'arn:aws:iam::210987654321:role/gateway-delivery', ExternalId: '123456789012' };
const HOUR = 3_600_000;

/** STS answers with numbered sessions that expire an hour after `now()`. */
function answerWithSessions(now: () => number): { calls: () => number } {
  let n = 0;
  sts.on(AssumeRoleCommand).callsFake(async () => {
    n++;
    return { Credentials: { AccessKeyId: `ASIA${n}`, SecretAccessKey: `secret${n}`, SessionToken: `token${n}`, Expiration: new Date(now() + HOUR) } };
  });
  return { calls: () => n };
}

describe('RoleCredentials', () => {
  let clock = 1_000_000;
  const now = (): number => clock;
  const warnings: unknown[] = [];
  const logger = { warn: (...args: unknown[]) => warnings.push(args) } as never;
  const credentials = (): RoleCredentials => new RoleCredentials({ sts: () => new STSClient({ region: 'us-east-1' }), logger, now });

  beforeEach(() => {
    sts.reset();
    clock = 1_000_000;
    warnings.length = 0;
  });

  test('assumes the role with its ExternalId, a named session and an hour\'s lifetime', async () => {
    answerWithSessions(now);
    const identity = await credentials().provider(ROLE)();
    expect(identity).toMatchObject({ accessKeyId: 'ASIA1', secretAccessKey: 'secret1', sessionToken: 'token1' });
    expect(sts.commandCalls(AssumeRoleCommand)[0].args[0].input).toEqual({
      RoleArn: ROLE.Arn, ExternalId: '123456789012', RoleSessionName: ROLE_SESSION_NAME, DurationSeconds: SESSION_DURATION_SECONDS,
    });
  });

  test('one session per role and ExternalId, shared by every provider of it; concurrent first uses wait for one AssumeRole', async () => {
    const sessions = answerWithSessions(now);
    const roles = credentials();
    const all = await Promise.all([roles.provider(ROLE)(), roles.provider({ ...ROLE })(), roles.provider(ROLE)()]);
    expect(all.map((c) => c.accessKeyId)).toEqual(['ASIA1', 'ASIA1', 'ASIA1']);
    expect(sessions.calls()).toBe(1);
    await roles.provider({ ...ROLE, ExternalId: 'other-id' })();
    await roles.provider({ Arn: ROLE.Arn })();
    expect(sessions.calls()).toBe(3);
    expect(sts.commandCalls(AssumeRoleCommand)[2].args[0].input.ExternalId).toBeUndefined();
  });

  /** An STS stand-in whose answers the test releases one by one. */
  function scriptedSts(): { client: STSClient; inputs: unknown[]; answer: (fn: () => Promise<unknown>) => void } {
    const inputs: unknown[] = [];
    const script: Array<() => Promise<unknown>> = [];
    const client = { send: (command: AssumeRoleCommand) => { inputs.push(command.input); return script.shift()!(); } } as unknown as STSClient;
    return { client, inputs, answer: (fn) => script.push(fn) };
  }
  const session = (id: string): unknown => ({ Credentials: { AccessKeyId: id, SecretAccessKey: 's', SessionToken: 't', Expiration: new Date(clock + HOUR) } });

  test('cached until the renewal window; renewed in the background there, without waiting', async () => {
    const fake = scriptedSts();
    const provider = new RoleCredentials({ sts: () => fake.client, logger, now }).provider(ROLE);
    fake.answer(async () => session('ASIA1'));
    await provider();
    clock += HOUR - REFRESH_BEFORE_EXPIRY_MS - 1;
    expect((await provider()).accessKeyId).toBe('ASIA1');
    expect(fake.inputs).toHaveLength(1);

    clock += 2; // inside the renewal window: the current session answers, a new one is requested
    let release!: () => void;
    fake.answer(async () => {
      await new Promise<void>((resolve) => { release = resolve; });
      return session('ASIA2');
    });
    expect((await provider()).accessKeyId).toBe('ASIA1');
    expect((await provider()).accessKeyId).toBe('ASIA1'); // no second renewal while one is running
    expect(fake.inputs).toHaveLength(2);
    release();
    await new Promise((resolve) => setImmediate(resolve));
    expect((await provider()).accessKeyId).toBe('ASIA2');
  });

  test('a failed background renewal is logged; the session serves until it expires, then a delivery waits for a new one', async () => {
    const fake = scriptedSts();
    const provider = new RoleCredentials({ sts: () => fake.client, logger, now }).provider(ROLE);
    fake.answer(async () => session('ASIA1'));
    await provider();
    clock += HOUR - REFRESH_BEFORE_EXPIRY_MS + 1;
    fake.answer(() => Promise.reject(Object.assign(new Error('Rate exceeded'), { name: 'Throttling' })));
    expect((await provider()).accessKeyId).toBe('ASIA1');
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings).toHaveLength(1);
    expect(JSON.stringify(warnings[0])).toContain('Rate exceeded');
    expect((await provider()).accessKeyId).toBe('ASIA1'); // no new attempt right after a failure
    expect(fake.inputs).toHaveLength(2);

    clock += REFRESH_BEFORE_EXPIRY_MS - EXPIRY_MARGIN_MS; // inside the expiry margin: no longer used for signing
    fake.answer(async () => session('ASIA3'));
    expect((await provider()).accessKeyId).toBe('ASIA3');
    expect(fake.inputs).toHaveLength(3);
  });

  test('a refused AssumeRole explains the trust policy the role needs', async () => {
    sts.on(AssumeRoleCommand).rejects(Object.assign(new Error('User is not authorized to perform: sts:AssumeRole'), { name: 'AccessDenied' }));
    await expect(credentials().provider(ROLE)()).rejects.toThrow(
      'the gateway could not assume the destination\'s Role arn:aws:iam::210987654321:role/gateway-delivery (AccessDenied: User is not authorized to perform: sts:AssumeRole): '
      + 'its trust policy must allow sts:AssumeRole to the gateway fleet\'s role with condition sts:ExternalId equal to 123456789012',
    );
  });
});
