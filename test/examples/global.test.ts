import { App, Aspects, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DIRECTORY_TABLE, globalApp, LOAD_BALANCER_PARAMETER, TUNNEL_KEY_SECRET } from '../../examples/global/app';
import { ensureAssets } from '../lib/support';
import { testApp } from '../support/cdk-app';

beforeAll(ensureAssets);

/** Unacknowledged AwsSolutions findings of a stack. */
function nagFindings(app: App, stack: Stack): string[] {
  return app.synth().getStackArtifact(stack.artifactId).messages
    .filter((m) => (m.level === 'error' || m.level === 'warning') && /AwsSolutions-|CdkNagValidationFailure/.test(String(m.entry.data)))
    .map((m) => `${m.id}: ${String(m.entry.data).split('\n')[0]}`);
}

describe('global', () => {
  test('two regions behind one accelerator: one key, one directory, forwarding to each other', () => {
    const { east, europe, front } = globalApp(testApp());
    const f = Template.fromStack(front);
    f.hasResourceProperties('AWS::GlobalAccelerator::Listener', { Protocol: 'UDP', PortRanges: [{ FromPort: 51820, ToPort: 51820 }] });
    f.resourceCountIs('AWS::GlobalAccelerator::EndpointGroup', 2);
    for (const region of ['us-east-1', 'eu-west-1']) {
      f.hasResourceProperties('AWS::GlobalAccelerator::EndpointGroup', {
        EndpointGroupRegion: region,
        EndpointConfigurations: [Match.objectLike({ ClientIPPreservationEnabled: true })],
      });
    }
    const e = Template.fromStack(east);
    e.hasResourceProperties('AWS::SecretsManager::Secret', { Name: TUNNEL_KEY_SECRET, ReplicaRegions: [{ Region: 'eu-west-1' }] });
    e.hasResourceProperties('AWS::DynamoDB::GlobalTable', { TableName: DIRECTORY_TABLE });
    e.hasResourceProperties('AWS::SSM::Parameter', { Name: LOAD_BALANCER_PARAMETER });
    const u = Template.fromStack(europe);
    u.resourceCountIs('AWS::DynamoDB::GlobalTable', 0);
    u.hasResourceProperties('Custom::PacketGatewayWireGuardKey', { KeySource: 'Provided' });
    u.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [Match.objectLike({
        Environment: Match.arrayWith([{ Name: 'PACKET_GATEWAY_PEER_DELIVERY_QUEUES', Value: Match.stringLikeRegexp('^arn:aws:sqs:us-east-1:') }]),
      })],
    });
  });

  test('cdk-nag AwsSolutions: no unacknowledged finding in the front stack', () => {
    const app = testApp();
    const { front } = globalApp(app);
    Aspects.of(front).add(new AwsSolutionsChecks());
    expect(nagFindings(app, front)).toEqual([]);
  });
});
