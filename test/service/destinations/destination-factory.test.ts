import { AwsModeGateway, awsModeGateway } from './aws-mode-gateway';
import type { ListenerRecord } from '../../../lib/private/records';
import type { DestinationContext, LambdaTarget } from '../../../service/destinations/destination';
import { createDestination, resolveDestinationArn } from '../../../service/destinations/destination-factory';

const fn = (region: string): string => `arn:aws:lambda:${region}:123456789012:function:counter`;
const listener: ListenerRecord = { Name: 'demo', Protocol: 'udp', Port: 5555, Destinations: [] };

describe('region-map destination ARNs in the data plane', () => {
  const map = { 'us-west-2': fn('us-west-2'), 'us-east-1': fn('us-east-1'), 'eu-west-1': fn('eu-west-1') };

  test('a destination is built with the ARN of the gateway\'s region, else *, else the nearest', () => {
    expect(resolveDestinationArn({ Name: 'd', Type: 'lambda', Arn: map }, 'eu-west-1').Arn).toBe(fn('eu-west-1'));
    expect(resolveDestinationArn({ Name: 'd', Type: 'lambda', Arn: { ...map, '*': fn('us-west-2') } }, 'ap-south-1').Arn).toBe(fn('us-west-2'));
    expect(resolveDestinationArn({ Name: 'd', Type: 'lambda', Arn: map }, 'eu-north-1').Arn).toBe(fn('eu-west-1'));
    const plain = { Name: 'd', Type: 'lambda' as const, Arn: fn('us-east-1') };
    expect(resolveDestinationArn(plain, 'eu-west-1')).toBe(plain);
  });

  test('the destination module receives a plain ARN, and its invoker is the chosen region\'s', async () => {
    const targets: Array<LambdaTarget | undefined> = [];
    const context = {
      region: 'eu-central-1',
      lambdaInvoker: (target?: LambdaTarget) => { targets.push(target); return { invoke: async () => ({}) }; },
    } as unknown as DestinationContext;
    const destination = await createDestination({ Name: 'd', Type: 'lambda', Arn: map }, listener, context);
    expect(destination.name).toBe('d');
    expect(targets).toEqual([{ region: 'eu-west-1' }]);
  });

  test('a map with no entry of the gateway\'s partition fails naming its entries', async () => {
    const context = { region: 'cn-north-1', lambdaInvoker: () => ({ invoke: async () => ({}) }) } as unknown as DestinationContext;
    await expect(createDestination({ Name: 'd', Type: 'lambda', Arn: map }, listener, context)).rejects.toThrow(
      'Listener demo, destination d: Arn has no entry this gateway (region cn-north-1) can use (entries: us-west-2, us-east-1, eu-west-1; '
      + 'allowed: cn-north-1, *, or a region of the same partition)',
    );
  });
});

describe('the gateway\'s destination context', () => {
  const gateway = (extra: Record<string, unknown> = {}): AwsModeGateway => awsModeGateway('ASIA1', extra);

  test('one invoker per region and Role; the gateway\'s own for its region without a Role', () => {
    const { context } = gateway();
    const role = { Arn: 'arn:aws:iam::210987654321:role/delivery', ExternalId: '123456789012' };
    const own = context.lambdaInvoker();
    expect(context.lambdaInvoker({ region: 'us-east-1' })).toBe(own);
    const west = context.lambdaInvoker({ region: 'us-west-2' });
    expect(west).not.toBe(own);
    expect(context.lambdaInvoker({ region: 'us-west-2' })).toBe(west);
    const withRole = context.lambdaInvoker({ role });
    expect(withRole).not.toBe(own);
    expect(context.lambdaInvoker({ role: { ...role } })).toBe(withRole);
    expect(context.lambdaInvoker({ role: { ...role, ExternalId: 'another' } })).not.toBe(withRole);
  });

  test('roleCredentials assumes the Role with its ExternalId; no Role, no provider', async () => {
    const { context, sts } = gateway();
    expect(context.roleCredentials(undefined)).toBeUndefined();
    const provider = context.roleCredentials({ Arn: 'arn:aws:iam::210987654321:role/delivery', ExternalId: '123456789012' })!;
    expect((await provider()).accessKeyId).toBe('ASIA1');
    expect(sts).toEqual([expect.objectContaining({ RoleArn: 'arn:aws:iam::210987654321:role/delivery', ExternalId: '123456789012' })]);
  });

  test('an SQS destination with a Role gets a client that signs as the role, one per role', async () => {
    const { context, sts } = gateway();
    const role = { Arn: 'arn:aws:iam::210987654321:role/delivery', ExternalId: '123456789012' };
    const own = context.sqsClient();
    const asRole = context.sqsClient(role);
    expect(asRole).not.toBe(own);
    expect(context.sqsClient({ ...role })).toBe(asRole);
    expect((await asRole.config.credentials()).accessKeyId).toBe('ASIA1');
    expect(sts).toHaveLength(1);
    const queue = await createDestination({ Name: 'q', Type: 'sqs', Arn: 'arn:aws:sqs:us-east-1:210987654321:q', Role: role }, listener, context);
    expect((queue as unknown as { client: unknown }).client).toBe(asRole);
  });
});
