/**
 * Game-state fan-out: players join a match over UDP; after every tick the game server publishes
 * ONE message whose Messages array holds the state for every player of the match, and the
 * gateway sends each datagram from the game Listener's address and port.
 *
 *   npx cdk synth --app "npx tsx examples/game-fanout/app.ts"
 */
import { join } from 'node:path';
import { App, CfnOutput, Duration, Fn, RemovalPolicy, Size, Stack, StackProps } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
// In your own app: import { ... } from 'cdk-packet-gateway';
import { Destination, Formatter, PacketGateway, PacketSource } from '../../lib';
import { nodeFunction } from '../shared/node-function';

export class GameFanoutStack extends Stack {
  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    const gateway = new PacketGateway(this, 'Gateway', { cpu: 1024, memoryLimitMiB: 2048 });

    // Players of each match, forgotten two minutes after their last keepalive.
    const players = new dynamodb.Table(this, 'Players', {
      partitionKey: { name: 'matchId', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'playerId', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const lobby = nodeFunction(this, 'Lobby', {
      directory: join(__dirname, 'functions', 'lobby'),
      description: 'Registers players of a match and answers their keepalives',
      environment: { PLAYERS_TABLE: players.tableName },
    });
    players.grantWriteData(lobby);
    const game = gateway.addListener('Game', {
      listenerName: 'game',
      port: 7777,
      formatter: Formatter.UTF8,
      maxPayloadSize: Size.bytes(1200),
      destinations: [Destination.lambda(lobby, { maxBatchingWindow: Duration.millis(10) })],
    });

    const state = new PacketSource(this, 'State', { listener: game, description: 'Game state ticks' });
    const broadcast = nodeFunction(this, 'Broadcast', {
      directory: join(__dirname, 'functions', 'broadcast'),
      description: 'Publishes one game-state message for all players of a match',
      environment: { PLAYERS_TABLE: players.tableName, TOPIC_ARN: state.topic.topicArn },
    });
    players.grantReadData(broadcast);
    state.grantPublish(broadcast);

    new CfnOutput(this, 'GameAddresses', { value: Fn.join(',', gateway.elasticIpAddresses), description: 'Players send to UDP 7777 here' });
    new CfnOutput(this, 'BroadcastFunction', { value: broadcast.functionName });
  }
}

if (require.main === module) {
  const app = new App();
  new GameFanoutStack(app, 'PacketGatewayGameFanout', {
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  app.synth();
}
