/**
 * Destination.stepFunctions, Destination.apiGateway and Destination.httpApi: the IAM each derives
 * from its resource (read from the synthesized template) and the destination record it writes.
 */
import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigatewayv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { actionsOf, ensureAssets, joinedJson, logicalId, policyStatements, Statement, testStack } from './support';
import { Destination, PacketGateway } from '../../lib';

beforeAll(ensureAssets);

function fixture(): { stack: Stack; gw: PacketGateway } {
  const stack = testStack();
  return { stack, gw: new PacketGateway(stack, 'Gateway') };
}

function fleetStatements(t: Template, service: string): Statement[] {
  return policyStatements(t, logicalId(t, 'AWS::IAM::Role', 'GatewayAccessRole')).filter((s) => actionsOf(s).some((a) => a.startsWith(`${service}:`)));
}

function destinationsOf(t: Template): any[] {
  const [resource] = Object.values(t.findResources('Custom::PacketGatewayListener'));
  return joinedJson(resource.Properties.Configuration).Destinations;
}

function stateMachine(stack: Stack, type?: sfn.StateMachineType): sfn.StateMachine {
  return new sfn.StateMachine(stack, 'Counter', { definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'Count')), stateMachineType: type });
}

describe('Destination.stepFunctions', () => {
  test('an EXPRESS state machine: states:StartSyncExecution on that state machine only, the type in the record', () => {
    const { stack, gw } = fixture();
    gw.addListener('Counter', { port: 5555, destinations: [Destination.stepFunctions(stateMachine(stack, sfn.StateMachineType.EXPRESS), { batchSize: 1000 })] });
    const t = Template.fromStack(stack);
    const ref = { Ref: logicalId(t, 'AWS::StepFunctions::StateMachine', 'Counter') };
    expect(fleetStatements(t, 'states')).toEqual([expect.objectContaining({ Effect: 'Allow', Action: 'states:StartSyncExecution', Resource: ref })]);
    expect(destinationsOf(t)).toEqual([{
      Name: 'stepfunctions-0', Type: 'stepfunctions', Arn: `<Ref:${ref.Ref}>`, Arguments: { StateMachineType: 'EXPRESS' }, Batching: { Count: 1000 },
    }]);
  });

  test('a STANDARD state machine (the StateMachine default): states:StartExecution only', () => {
    const { stack, gw } = fixture();
    gw.addListener('Counter', { port: 5555, destinations: [Destination.stepFunctions(stateMachine(stack))] });
    const t = Template.fromStack(stack);
    expect(fleetStatements(t, 'states').map((s) => s.Action)).toEqual(['states:StartExecution']);
    expect(destinationsOf(t)[0].Arguments).toEqual({ StateMachineType: 'STANDARD' });
  });

  test('an imported state machine: DescribeStateMachine to detect the type, and both start actions, on that ARN only; no type in the record', () => {
    const { stack, gw } = fixture();
    const arn = 'arn:aws:states:eu-west-1:123456789012:stateMachine:packet-counter';
    gw.addListener('Counter', { port: 5555, destinations: [Destination.stepFunctions(sfn.StateMachine.fromStateMachineArn(stack, 'Imported', arn))] });
    const t = Template.fromStack(stack);
    expect(fleetStatements(t, 'states')).toEqual([expect.objectContaining({
      Action: ['states:DescribeStateMachine', 'states:StartSyncExecution', 'states:StartExecution'],
      Resource: arn,
    })]);
    expect(destinationsOf(t)).toEqual([{ Name: 'stepfunctions-0', Type: 'stepfunctions', Arn: arn }]);
  });

  test('a declared type needs no DescribeStateMachine', () => {
    const { stack, gw } = fixture();
    const imported = sfn.StateMachine.fromStateMachineName(stack, 'Imported', 'packet-counter');
    gw.addListener('Counter', { port: 5555, destinations: [Destination.stepFunctions(imported, { stateMachineType: sfn.StateMachineType.EXPRESS })] });
    const t = Template.fromStack(stack);
    expect(fleetStatements(t, 'states').map((s) => s.Action)).toEqual(['states:StartSyncExecution']);
    expect(destinationsOf(t)[0]).toMatchObject({ Arguments: { StateMachineType: 'EXPRESS' } });
  });

  test('fails if the ARN is not a state machine\'s (checked with the data plane\'s validator at synth)', () => {
    const { stack, gw } = fixture();
    const wrong = sfn.StateMachine.fromStateMachineArn(stack, 'Wrong', 'arn:aws:states:eu-west-1:123456789012:activity:packet-counter');
    expect(() => gw.addListener('Counter', { port: 5555, destinations: [Destination.stepFunctions(wrong)] }))
      .toThrow(/Destinations\[0\]\.Arn: "arn:aws:states:eu-west-1:123456789012:activity:packet-counter" is not a state machine ARN/);
  });
});

describe('Destination.apiGateway and Destination.httpApi', () => {
  function restApi(stack: Stack): apigateway.RestApi {
    const api = new apigateway.RestApi(stack, 'Outbound', { deployOptions: { stageName: 'adafruit' } });
    api.root.addResource('measurements').addMethod('POST', new apigateway.MockIntegration(), { authorizationType: apigateway.AuthorizationType.IAM });
    return api;
  }

  test('a REST API method: execute-api:Invoke on exactly that stage, method and path, which is the record\'s Arn', () => {
    const { stack, gw } = fixture();
    const api = restApi(stack);
    gw.addListener('Sensors', { port: 5555, destinations: [Destination.apiGateway(api, { path: '/measurements' })] });
    const t = Template.fromStack(stack);
    const apiId = logicalId(t, 'AWS::ApiGateway::RestApi', 'Outbound');
    const stageId = logicalId(t, 'AWS::ApiGateway::Stage', 'OutboundDeploymentStageadafruit');
    const arn = {
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':execute-api:eu-west-1:123456789012:', { Ref: apiId }, '/', { Ref: stageId }, '/POST/measurements']],
    };
    expect(fleetStatements(t, 'execute-api')).toEqual([expect.objectContaining({ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: arn })]);
    expect(destinationsOf(t)).toEqual([{
      Name: 'apigateway-0', Type: 'apigateway', Arn: `arn:<Ref:AWS::Partition>:execute-api:eu-west-1:123456789012:<Ref:${apiId}>/<Ref:${stageId}>/POST/measurements`,
    }]);
  });

  test('an imported REST API with a stage name, method PUT and the root path', () => {
    const { stack, gw } = fixture();
    const api = apigateway.RestApi.fromRestApiId(stack, 'Imported', 'a1b2c3d4e5');
    gw.addListener('Sensors', { port: 5555, destinations: [Destination.apiGateway(api, { path: '/', method: 'put', stageName: 'prod' })] });
    const t = Template.fromStack(stack);
    const [statement] = fleetStatements(t, 'execute-api');
    expect(statement.Resource).toEqual({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':execute-api:eu-west-1:123456789012:a1b2c3d4e5/prod/PUT/']] });
  });

  test('an HTTP API route on the $default stage; ANY is * in the ARN', () => {
    const { stack, gw } = fixture();
    const api = new apigatewayv2.HttpApi(stack, 'Http');
    gw.addListener('Sensors', { port: 5555, destinations: [Destination.httpApi(api, { path: '/udp/ingest', method: 'ANY' })] });
    const t = Template.fromStack(stack);
    const apiId = logicalId(t, 'AWS::ApiGatewayV2::Api', 'Http');
    const arn = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':execute-api:eu-west-1:123456789012:', { Ref: apiId }, '/$default/*/udp/ingest']] };
    expect(fleetStatements(t, 'execute-api')).toEqual([expect.objectContaining({ Action: 'execute-api:Invoke', Resource: arn })]);
    expect(destinationsOf(t)[0]).toEqual({
      Name: 'apigateway-0', Type: 'apigateway', Arn: `arn:<Ref:AWS::Partition>:execute-api:eu-west-1:123456789012:<Ref:${apiId}>/$default/*/udp/ingest`,
    });
  });

  describe('fails if …', () => {
    const imported = (stack: Stack): apigateway.IRestApi => apigateway.RestApi.fromRestApiId(stack, 'Imported', 'a1b2c3d4e5');
    test.each<[string, (stack: Stack) => Destination, RegExp]>([
      ['the method carries no body', (s) => Destination.apiGateway(imported(s), { path: '/x', method: 'GET', stageName: 'prod' }),
        /API Gateway destination: method "GET" is not allowed \(allowed: POST, PUT, PATCH, ANY: a method with a body\)/],
      ['the path does not start with /', (s) => Destination.apiGateway(imported(s), { path: 'x', stageName: 'prod' }), /API Gateway destination: path "x" is not a resource path/],
      ['the path has a wildcard', (s) => Destination.httpApi(new apigatewayv2.HttpApi(s, 'Http'), { path: '/x/*' }), /path "\/x\/\*" is not a resource path \(allowed: \/ followed by segments/],
      ['the stage name is not one', (s) => Destination.apiGateway(imported(s), { path: '/x', stageName: 'a b' }), /stageName "a b" is not a stage name/],
      ['the REST API has no deployment stage and no stageName is given', (s) => Destination.apiGateway(imported(s), { path: '/x' }),
        /API Gateway destination: the REST API has no deployment stage; set stageName/],
    ])('%s', (_, make, message) => {
      const { stack, gw } = fixture();
      expect(() => gw.addListener('Sensors', { port: 5555, destinations: [make(stack)] })).toThrow(message);
    });
  });
});
