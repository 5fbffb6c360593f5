import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { actionsOf, ensureAssets, joinedJson, logicalId, OTHER_ACCOUNT, policyStatements, testStack } from './support';
import { Destination, Formatter, LambdaInvocationType, PacketGateway } from '../../lib';

beforeAll(ensureAssets);

function fixture() {
  const stack = testStack();
  const gw = new PacketGateway(stack, 'Gateway');
  const fn = new lambda.Function(stack, 'Ingest', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => ({})') });
  return { stack, gw, fn };
}

function destinationRecord(template: Template): any {
  const [resource] = Object.values(template.findResources('Custom::PacketGatewayListener'));
  return joinedJson(resource.Properties.Configuration).Destinations[0];
}

const fleetStatements = (t: Template) => policyStatements(t, logicalId(t, 'AWS::IAM::Role', 'GatewayAccessRole'));

describe('Lambda destination options', () => {
  test('invocation type, streaming and tenant arguments reach the destination record', () => {
    const { gw, fn, stack } = fixture();
    gw.addListener('Telemetry', {
      port: 5555,
      destinations: [Destination.lambda(fn, { responseStreaming: true, tenantIdExpression: '[0:8]', tenantIdFormatter: Formatter.HEX })],
    });
    gw.addListener('Archive', { port: 5556, destinations: [Destination.lambda(fn, { invocationType: LambdaInvocationType.EVENT, tenantId: 'customer-123' })] });
    const t = Template.fromStack(stack);
    const records = Object.values(t.findResources('Custom::PacketGatewayListener')).map((r) => joinedJson(r.Properties.Configuration).Destinations[0]);
    expect(records).toEqual([
      { Name: 'lambda-0', Type: 'lambda', Arn: expect.stringMatching(/^<GetAtt:Ingest\w+\.Arn>$/), Arguments: { UseResponseStreaming: true, TenantIdExpression: '[0:8]', TenantIdFormatter: 'hex' } },
      { Name: 'lambda-0', Type: 'lambda', Arn: expect.stringMatching(/^<GetAtt:Ingest\w+\.Arn>$/), Arguments: { InvocationType: 'Event', TenantId: 'customer-123' } },
    ]);
  });

  test('fails at synth when streaming is asked of an asynchronous invocation, or a tenant expression does not parse', () => {
    const { gw, fn } = fixture();
    expect(() => gw.addListener('A', { port: 5555, destinations: [Destination.lambda(fn, { invocationType: LambdaInvocationType.EVENT, responseStreaming: true })] }))
      .toThrow(/UseResponseStreaming: true is set with InvocationType Event/);
    expect(() => gw.addListener('B', { port: 5556, destinations: [Destination.lambda(fn, { tenantIdExpression: '[0:' })] }))
      .toThrow(/TenantIdExpression: .*column/);
    expect(() => gw.addListener('C', { port: 5557, destinations: [Destination.lambda(fn, { tenantId: 'a', tenantIdExpression: '[0:2]' })] }))
      .toThrow(/TenantIdExpression: "\[0:2\]" is set with TenantId/);
  });
});

describe('a destination role', () => {
  test('the fleet may only assume the role; the role, not the fleet, is allowed to invoke', () => {
    const { gw, fn, stack } = fixture();
    const role = iam.Role.fromRoleArn(stack, 'Delivery', `arn:aws:iam::${OTHER_ACCOUNT}:role/gateway-delivery`);
    gw.addListener('Telemetry', { port: 5555, destinations: [Destination.lambda(fn, { role })] });
    const t = Template.fromStack(stack);

    expect(destinationRecord(t).Role).toEqual({ Arn: `arn:aws:iam::${OTHER_ACCOUNT}:role/gateway-delivery` });
    const fleet = fleetStatements(t);
    expect(fleet.filter((s) => JSON.stringify(s.Resource).includes('gateway-delivery'))).toEqual([
      expect.objectContaining({ Action: 'sts:AssumeRole', Effect: 'Allow', Resource: `arn:aws:iam::${OTHER_ACCOUNT}:role/gateway-delivery` }),
    ]);
    expect(fleet.filter((s) => actionsOf(s).includes('lambda:InvokeFunction'))).toEqual([]);
    // the function in this account lets the other account's role invoke it
    t.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [logicalId(t, 'AWS::Lambda::Function', 'Ingest'), 'Arn'] },
      Principal: `arn:aws:iam::${OTHER_ACCOUNT}:role/gateway-delivery`,
    });
  });

  test('a role of the same stack gets the invoke permission in its own policy', () => {
    const { gw, fn, stack } = fixture();
    const role = new iam.Role(stack, 'Delivery', { assumedBy: new iam.ArnPrincipal(gw.accessRole.roleArn) });
    gw.addListener('Telemetry', { port: 5555, destinations: [Destination.lambda(fn, { role })] });
    const t = Template.fromStack(stack);
    const roleStatements = policyStatements(t, logicalId(t, 'AWS::IAM::Role', 'Delivery'));
    expect(roleStatements.filter((s) => actionsOf(s).includes('lambda:InvokeFunction'))).toHaveLength(1);
    expect(fleetStatements(t).filter((s) => actionsOf(s).includes('lambda:InvokeFunction'))).toEqual([]);
  });
});

describe('a destination role on another destination type', () => {
  test('SQS: the role, not the fleet, may send; the record names the role', () => {
    const { gw, stack } = fixture();
    const queue = new sqs.Queue(stack, 'Archive');
    const role = new iam.Role(stack, 'Delivery', { assumedBy: new iam.ArnPrincipal(gw.accessRole.roleArn) });
    gw.addListener('Telemetry', { port: 5555, destinations: [Destination.sqs(queue, { role })] });
    const t = Template.fromStack(stack);
    expect(destinationRecord(t).Role).toEqual({ Arn: expect.stringMatching(/^<GetAtt:Delivery\w+\.Arn>$/) });
    expect(fleetStatements(t).filter((s) => actionsOf(s).includes('sqs:SendMessage'))).toEqual([]);
    expect(policyStatements(t, logicalId(t, 'AWS::IAM::Role', 'Delivery')).filter((s) => actionsOf(s).includes('sqs:SendMessage'))).toHaveLength(1);
    expect(fleetStatements(t).filter((s) => actionsOf(s).includes('sts:AssumeRole') && JSON.stringify(s.Resource).includes('Delivery'))).toHaveLength(1);
  });
});

describe('Destination.lambdaRegionMap', () => {
  const arns = {
    'us-east-1': 'arn:aws:lambda:us-east-1:123456789012:function:counter',
    'eu-west-1': 'arn:aws:lambda:eu-west-1:123456789012:function:counter',
    '*': 'arn:aws:lambda:us-west-2:123456789012:function:counter',
  };

  test('stores the map as the destination Arn and grants invoke on every function', () => {
    const { gw, stack } = fixture();
    gw.addListener('Telemetry', { port: 5555, destinations: [Destination.lambdaRegionMap(arns, { responseStreaming: true })] });
    const t = Template.fromStack(stack);
    expect(destinationRecord(t)).toEqual({ Name: 'lambda-0', Type: 'lambda', Arn: arns, Arguments: { UseResponseStreaming: true } });
    expect(fleetStatements(t).filter((s) => actionsOf(s).includes('lambda:InvokeFunction'))).toEqual([
      expect.objectContaining({ Action: 'lambda:InvokeFunction', Resource: Object.values(arns) }),
    ]);
  });

  test('fails at synth on a bad region key or an ARN outside its key\'s region', () => {
    const { gw } = fixture();
    expect(() => gw.addListener('A', { port: 5555, destinations: [Destination.lambdaRegionMap({ Virginia: arns['us-east-1'] })] }))
      .toThrow(/Arn.Virginia: is not a region key/);
    expect(() => gw.addListener('B', { port: 5556, destinations: [Destination.lambdaRegionMap({ 'eu-west-1': arns['us-east-1'] })] }))
      .toThrow(/is in region us-east-1, not eu-west-1/);
  });
});
