/**
 * Packet counter on Step Functions: each batch of datagrams runs an EXPRESS state machine (a
 * single JSONata Pass state, no Lambda function) that answers every client address once, with the
 * number of its datagrams in the batch.
 *
 *   npx cdk synth --app "npx tsx examples/packet-counter-sfn/app.ts"
 */
import { App, CfnOutput, Duration, Fn, RemovalPolicy, Stack, StackProps } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { NagSuppressions } from 'cdk-nag';
import { Construct } from 'constructs';
// In your own app: import { ... } from 'cdk-packet-gateway';
import { Destination, PacketGateway } from '../../lib';

/**
 * The state machine's output: one reply per distinct `Remote.IpAddress`, tagged with that
 * address's first packet, whose Data is the count of its packets (base64 of `<count>\n`).
 */
export const COUNT_BY_ADDRESS = `{% (
  $packets := $states.input.Messages;
  $addresses := $distinct($packets.Remote.IpAddress);
  { "Replies": [$map($addresses, function($address) {(
    $own := $packets[Remote.IpAddress = $address];
    { "Tag": $own[0].Tag, "Data": $base64encode($string($count($own)) & "\\n") }
  )})] }
) %}`;

export class PacketCounterStack extends Stack {
  public readonly stateMachine: sfn.StateMachine;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    const gateway = new PacketGateway(this, 'Gateway');
    this.stateMachine = new sfn.StateMachine(this, 'Counter', {
      stateMachineType: sfn.StateMachineType.EXPRESS,
      queryLanguage: sfn.QueryLanguage.JSONATA,
      definitionBody: sfn.DefinitionBody.fromChainable(sfn.Pass.jsonata(this, 'CountByAddress', { outputs: COUNT_BY_ADDRESS })),
      timeout: Duration.seconds(5),
      tracingEnabled: true,
      logs: {
        destination: new logs.LogGroup(this, 'CounterLogs', { retention: logs.RetentionDays.ONE_WEEK, removalPolicy: RemovalPolicy.DESTROY }),
        level: sfn.LogLevel.ALL,
      },
    });
    NagSuppressions.addResourceSuppressions(this.stateMachine.role, [{
      id: 'AwsSolutions-IAM5',
      reason: 'Execution logging (logs:*LogDelivery*, logs:DescribeLogGroups…) and X-Ray tracing actions support no resource-level permissions',
      appliesTo: ['Resource::*'],
    }], true);
    // EXPRESS is known at synth: the gateway is granted states:StartSyncExecution on this state machine only.
    gateway.addListener('Counter', {
      listenerName: 'counter',
      port: 5555,
      destinations: [Destination.stepFunctions(this.stateMachine, { batchSize: 1000, maxBatchingWindow: Duration.seconds(1) })],
    });

    new CfnOutput(this, 'CounterAddresses', { value: Fn.join(',', gateway.elasticIpAddresses), description: 'Send UDP to port 5555 here' });
  }
}

if (require.main === module) {
  const app = new App();
  new PacketCounterStack(app, 'PacketGatewayPacketCounter', {
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  app.synth();
}
