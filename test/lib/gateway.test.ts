import { CfnParameter, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { ACCOUNT, actionsOf, ensureAssets, logicalId, OTHER_ACCOUNT, policyStatements, REGION, resourcesOf, testStack } from './support';
import { AwsApiAccess, Destination, ListenerProtocol, PacketGateway, PacketGatewayProps, ServiceLogLevel } from '../../lib';
import { optionsFromCommandLine } from '../../service/main';
import type { ServiceOptions } from '../../service/runtime';

beforeAll(ensureAssets);

function gateway(props: PacketGatewayProps = {}, stack: Stack = testStack()): { stack: Stack; gw: PacketGateway; template: () => Template } {
  const gw = new PacketGateway(stack, 'Gateway', props);
  return { stack, gw, template: () => Template.fromStack(stack) };
}

function withListener(gw: PacketGateway, port = 5555): void {
  const fn = lambda.Function.fromFunctionArn(gw, `Fn${port}`, `arn:aws:lambda:${REGION}:${ACCOUNT}:function:ingest`);
  gw.addListener(`L${port}`, { port, destinations: [Destination.lambda(fn)] });
}

describe('fleet', () => {
  test('a Fargate service with circuit-breaker rollback in private subnets, without public IPs', () => {
    const { gw, template } = gateway();
    withListener(gw);
    template().hasResourceProperties('AWS::ECS::Service', {
      LaunchType: 'FARGATE',
      DesiredCount: 2,
      DeploymentConfiguration: { DeploymentCircuitBreaker: { Enable: true, Rollback: true }, MinimumHealthyPercent: 100, MaximumPercent: 200 },
      HealthCheckGracePeriodSeconds: 60,
      NetworkConfiguration: {
        AwsvpcConfiguration: { AssignPublicIp: 'DISABLED', Subnets: [{ Ref: Match.stringLikeRegexp('VpcTasksSubnet1') }, { Ref: Match.stringLikeRegexp('VpcTasksSubnet2') }] },
      },
      LoadBalancers: [{ ContainerName: 'gateway', ContainerPort: 5555, TargetGroupArn: { Ref: Match.stringLikeRegexp('L5555TargetGroup') } }],
    });
    template().hasResourceProperties('AWS::ECS::Cluster', { ClusterSettings: [{ Name: 'containerInsights', Value: 'enabled' }] });
  });

  test('the data-plane container: bundled image, environment, reply-tag key as an ECS secret, SIGTERM grace, health port', () => {
    const { gw, template } = gateway({ stopTimeout: Duration.seconds(45), logLevel: ServiceLogLevel.DEBUG });
    withListener(gw);
    const t = template();
    t.hasResourceProperties('AWS::ECS::TaskDefinition', {
      Cpu: '512',
      Memory: '1024',
      RequiresCompatibilities: ['FARGATE'],
      RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
      TaskRoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('GatewayAccessRole'), 'Arn'] },
      ContainerDefinitions: [Match.objectLike({
        Name: 'gateway',
        Image: { 'Fn::Sub': Match.stringLikeRegexp('container-assets') },
        StopTimeout: 45,
        Environment: [
          { Name: 'PACKET_GATEWAY_TABLE', Value: { Ref: Match.stringLikeRegexp('GatewayTable') } },
          { Name: 'PACKET_GATEWAY_DELIVERY_QUEUE_URL', Value: { Ref: Match.stringLikeRegexp('GatewayDeliveryQueue') } },
          { Name: 'PACKET_GATEWAY_DELIVERY_QUEUE_VISIBILITY_TIMEOUT_SECONDS', Value: '30' },
          { Name: 'PACKET_GATEWAY_HEALTH_PORT', Value: '8080' },
          { Name: 'PACKET_GATEWAY_LOG_LEVEL', Value: 'DEBUG' },
          { Name: 'PACKET_GATEWAY_NAME', Value: 'Stack/Gateway' },
          { Name: 'PACKET_GATEWAY_STOP_DEADLINE_SECONDS', Value: '40' },
          // 512 CPU units: half a vCPU, one worker
          { Name: 'PACKET_GATEWAY_WORKERS', Value: '1' },
          { Name: 'PACKET_GATEWAY_VPC_CIDRS', Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('GatewayVpc'), 'CidrBlock'] } },
          { Name: 'PACKET_GATEWAY_RELAY_PORT', Value: '7470' },
          { Name: 'PACKET_GATEWAY_DIRECTORY_TABLE', Value: { Ref: Match.stringLikeRegexp('GatewayDirectoryTable') } },
          // each task reports its zone's Elastic IP as Local.IpAddress
          {
            Name: 'PACKET_GATEWAY_PUBLIC_ADDRESSES',
            Value: {
              'Fn::Join': ['', [
                'dummy1a=', { 'Fn::GetAtt': [Match.stringLikeRegexp('GatewayElasticIp1'), 'PublicIp'] },
                ',dummy1b=', { 'Fn::GetAtt': [Match.stringLikeRegexp('GatewayElasticIp2'), 'PublicIp'] },
              ]],
            },
          },
          // where destinations' LogGroupName log groups are
          { Name: 'PACKET_GATEWAY_ACCOUNT', Value: '123456789012' },
          { Name: 'PACKET_GATEWAY_PARTITION', Value: { Ref: 'AWS::Partition' } },
        ],
        Secrets: [
          { Name: 'PACKET_GATEWAY_TAG_SECRET', ValueFrom: { Ref: Match.stringLikeRegexp('GatewayReplyTagSecret') } },
        ],
        SystemControls: Match.absent(),
        PortMappings: [{ ContainerPort: 8080, Protocol: 'tcp', Name: 'health' }, { ContainerPort: 5555, Protocol: 'udp' }],
        LogConfiguration: {
          LogDriver: 'awslogs',
          Options: Match.objectLike({ 'awslogs-group': { Ref: Match.stringLikeRegexp('GatewayServiceLogGroup') }, 'mode': 'non-blocking', 'max-buffer-size': '26214400b' }),
        },
      })],
    });
    t.hasResourceProperties('AWS::SecretsManager::Secret', { GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true } });
    const env = JSON.stringify(t.findResources('AWS::ECS::TaskDefinition'));
    expect(env).not.toMatch(/SecretString/);
    expect(env).not.toMatch(/PACKET_GATEWAY_REPLY_TAG_SECRET/);
  });

  test('the generated reply-tag key is one the data plane accepts: 64 letters and digits are base64 of 48 bytes', () => {
    const { gw, template } = gateway();
    withListener(gw);
    const [secret] = Object.values(template().findResources('AWS::SecretsManager::Secret'));
    const spec = secret.Properties.GenerateSecretString;
    expect(spec).toEqual({ PasswordLength: 64, ExcludePunctuation: true });
    // Without punctuation or spaces, Secrets Manager draws from A-Z, a-z and 0-9: all base64 digits.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
    for (const sample of [`${alphabet}xy`, 'z'.repeat(64), '0'.repeat(64), `09${alphabet}`]) {
      expect(sample).toMatch(/^[A-Za-z0-9]{64}$/);
      const options = optionsFromCommandLine([], { AWS_REGION: REGION, PACKET_GATEWAY_TABLE: 't', PACKET_GATEWAY_TAG_SECRET: sample });
      expect(options).not.toBe('help');
      expect((options as ServiceOptions).tagSecret?.length).toBe(48);
    }
    expect(() => optionsFromCommandLine([], { AWS_REGION: REGION, PACKET_GATEWAY_TAG_SECRET: 'c2hvcnQ=' })).toThrow(/at least 16 bytes/);
  });

  test('data-plane workers: one per vCPU of the task by default, or the workers prop; the service reads the count', () => {
    const workersOf = (props: PacketGatewayProps): string | undefined => {
      const { gw, template } = gateway(props);
      withListener(gw);
      const [definition] = Object.values(template().findResources('AWS::ECS::TaskDefinition'));
      const env = definition.Properties.ContainerDefinitions[0].Environment as Array<{ Name: string; Value: string }>;
      return env.find((e) => e.Name === 'PACKET_GATEWAY_WORKERS')?.Value;
    };
    expect(workersOf({ cpu: 256, memoryLimitMiB: 512 })).toBe('1');
    expect(workersOf({ cpu: 4096, memoryLimitMiB: 8192 })).toBe('4');
    expect(workersOf({ cpu: 4096, memoryLimitMiB: 8192, workers: 2 })).toBe('2');
    const options = optionsFromCommandLine([], { AWS_REGION: REGION, PACKET_GATEWAY_TABLE: 't', PACKET_GATEWAY_WORKERS: workersOf({ cpu: 2048, memoryLimitMiB: 4096 }) });
    expect((options as ServiceOptions).workers).toBe(2);
  });

  test('a Listener below port 1024 lets the unprivileged service bind it', () => {
    const { gw, template } = gateway();
    withListener(gw, 53);
    withListener(gw, 5683);
    template().hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [Match.objectLike({ SystemControls: [{ Namespace: 'net.ipv4.ip_unprivileged_port_start', Value: '0' }] })],
    });
  });

  test('a pinned image, x86_64 and a task size replace the defaults', () => {
    const image = ecs.ContainerImage.fromRegistry('public.ecr.aws/packet-gateway/service@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef');
    const { template } = gateway({ image, cpuArchitecture: ecs.CpuArchitecture.X86_64, cpu: 1024, memoryLimitMiB: 4096 });
    template().hasResourceProperties('AWS::ECS::TaskDefinition', {
      Cpu: '1024',
      Memory: '4096',
      RuntimePlatform: { CpuArchitecture: 'X86_64' },
      ContainerDefinitions: [Match.objectLike({ Image: Match.stringLikeRegexp('^public.ecr.aws/packet-gateway/service@sha256:') })],
    });
  });

  test('a given reply-tag secret is used instead of a generated one', () => {
    const stack = testStack();
    const secret = secretsmanager.Secret.fromSecretNameV2(stack, 'Key', 'packet-gateway/reply-tags');
    const { template } = gateway({ replyTagSecret: secret }, stack);
    template().resourceCountIs('AWS::SecretsManager::Secret', 0);
  });

  test('addSecretEnvironment passes a secret as an ECS secret, never as plain text', () => {
    const { stack, gw, template } = gateway();
    const secret = new secretsmanager.Secret(stack, 'WgKey');
    gw.addSecretEnvironment('PACKET_GATEWAY_WG_KEY_TELEMETRY', secret);
    template().hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [Match.objectLike({
        Secrets: Match.arrayWith([{ Name: 'PACKET_GATEWAY_WG_KEY_TELEMETRY', ValueFrom: { Ref: Match.stringLikeRegexp('WgKey') } }]),
      })],
    });
  });

  test('autoscaling on CPU from desiredCount to maxCapacity', () => {
    const { template } = gateway({ desiredCount: 1, maxCapacity: 4, targetCpuUtilizationPercent: 50 });
    template().hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 1, MaxCapacity: 4, ScalableDimension: 'ecs:service:DesiredCount' });
    template().hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: { PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' }, TargetValue: 50 },
    });
  });
});

describe('fleet relay', () => {
  const warnings = (stack: Stack) => Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('tasks'));

  test('several tasks, or autoscaling above 1, need no warning: tasks relay sourced packets to the flow owner', () => {
    expect(warnings(gateway({ desiredCount: 2 }).stack)).toHaveLength(0);
    expect(warnings(gateway({ maxCapacity: 3 }).stack)).toHaveLength(0);
  });

  test('the tasks admit the relay port from each other only, and the container learns it', () => {
    const { template } = gateway({ desiredCount: 3 });
    const groups = template().findResources('AWS::EC2::SecurityGroupIngress', {
      Properties: { IpProtocol: 'udp', FromPort: 7470, ToPort: 7470 },
    });
    const rules = Object.values(groups).map((r) => r.Properties);
    expect(rules).toHaveLength(1);
    expect(rules[0].SourceSecurityGroupId).toEqual(rules[0].GroupId);
    template().hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [Match.objectLike({ Environment: Match.arrayWith([{ Name: 'PACKET_GATEWAY_RELAY_PORT', Value: '7470' }]) })],
    });
  });

  test('the directory has a table of its own: on-demand, encrypted, recoverable, items expire; the container learns its name', () => {
    const { gw, template } = gateway();
    const t = template();
    const directoryId = logicalId(t, 'AWS::DynamoDB::Table', 'GatewayDirectoryTable');
    expect(Stack.of(gw).resolve(gw.directoryTable.tableName)).toEqual({ Ref: directoryId });
    expect(t.toJSON().Resources[directoryId]).toMatchObject({
      DeletionPolicy: 'Delete',
      Properties: {
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        SSESpecification: { SSEEnabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      },
    });
    t.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [Match.objectLike({ Environment: Match.arrayWith([{ Name: 'PACKET_GATEWAY_DIRECTORY_TABLE', Value: { Ref: directoryId } }]) })],
    });
    // the configuration table holds no expiring items
    expect(t.toJSON().Resources[logicalId(t, 'AWS::DynamoDB::Table', 'GatewayTable')].Properties.TimeToLiveSpecification).toBeUndefined();
  });

  test('the directory table follows the gateway\'s removal policy', () => {
    const t = gateway({ removalPolicy: RemovalPolicy.RETAIN }).template();
    expect(t.toJSON().Resources[logicalId(t, 'AWS::DynamoDB::Table', 'GatewayDirectoryTable')].DeletionPolicy).toBe('Retain');
  });

  test('the task role reads the directory table and writes only its directory and member items', () => {
    const t = gateway().template();
    const directoryArn = { 'Fn::GetAtt': [logicalId(t, 'AWS::DynamoDB::Table', 'GatewayDirectoryTable'), 'Arn'] };
    t.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Sid: 'ReadFleetDirectory', Action: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'], Resource: directoryArn }),
          Match.objectLike({
            Sid: 'WriteFleetDirectory',
            Action: ['dynamodb:PutItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem'],
            Resource: directoryArn,
            Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['flow#*', 'peer#*', 'member#*'] } },
          }),
        ]),
      },
    });
  });

  test('the task role may read the configuration table and write nothing in it', () => {
    const t = gateway().template();
    const tableId = logicalId(t, 'AWS::DynamoDB::Table', 'GatewayTable');
    const onTable = policyStatements(t, logicalId(t, 'AWS::IAM::Role', 'GatewayAccessRole'))
      .filter((s) => JSON.stringify(resourcesOf(s)).includes(`"${tableId}"`));
    expect(onTable.length).toBeGreaterThan(0);
    const actions = onTable.flatMap(actionsOf);
    expect(actions).toContain('dynamodb:Scan');
    for (const action of actions) expect(action).toMatch(/^dynamodb:(BatchGetItem|GetRecords|GetShardIterator|Query|GetItem|Scan|ConditionCheckItem|DescribeTable)$/);
  });
});

describe('load balancer', () => {
  test('internet-facing, cross-zone, one Elastic IP per public subnet on the subnet mappings', () => {
    const { gw, template } = gateway();
    const t = template();
    const eips = Object.keys(t.findResources('AWS::EC2::EIP', { Properties: { Domain: 'vpc', Tags: [{ Key: 'Name', Value: Match.stringLikeRegexp('/Gateway/ElasticIp') }] } }));
    expect(eips).toHaveLength(2);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      Type: 'network',
      Scheme: 'internet-facing',
      Subnets: Match.absent(),
      SubnetMappings: [
        { SubnetId: { Ref: Match.stringLikeRegexp('VpcLoadBalancerSubnet1') }, AllocationId: { 'Fn::GetAtt': [Match.stringLikeRegexp('GatewayElasticIp1'), 'AllocationId'] } },
        { SubnetId: { Ref: Match.stringLikeRegexp('VpcLoadBalancerSubnet2') }, AllocationId: { 'Fn::GetAtt': [Match.stringLikeRegexp('GatewayElasticIp2'), 'AllocationId'] } },
      ],
      LoadBalancerAttributes: Match.arrayWith([{ Key: 'load_balancing.cross_zone.enabled', Value: 'true' }]),
      SecurityGroups: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('GatewayLoadBalancerSecurityGroup'), 'GroupId'] }],
    });
    expect(Stack.of(gw).resolve(gw.elasticIpAddresses)).toEqual([
      { 'Fn::GetAtt': [logicalId(t, 'AWS::EC2::EIP', 'GatewayElasticIp1'), 'PublicIp'] },
      { 'Fn::GetAtt': [logicalId(t, 'AWS::EC2::EIP', 'GatewayElasticIp2'), 'PublicIp'] },
    ]);
  });

  test('without Elastic IPs the load balancer uses its subnets', () => {
    const { gw, template } = gateway({ assignElasticIps: false });
    expect(Object.keys(template().findResources('AWS::EC2::EIP')).filter((id) => id.startsWith('GatewayElasticIp'))).toEqual([]);
    template().hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', { Subnets: Match.anyValue(), SubnetMappings: Match.absent() });
    expect(gw.elasticIpAddresses).toEqual([]);
    // no public address is known: tasks report their Listeners' bound address
    const [taskDefinition] = Object.values(template().findResources('AWS::ECS::TaskDefinition'));
    const names = (taskDefinition.Properties.ContainerDefinitions[0].Environment as Array<{ Name: string }>).map((e) => e.Name);
    expect(names).not.toContain('PACKET_GATEWAY_PUBLIC_ADDRESSES');
  });

  test('health checks reach the health port over HTTP from the load balancer security group', () => {
    const { gw, template } = gateway({ healthPort: 9090 });
    withListener(gw);
    const t = template();
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::TargetGroup', { HealthCheckProtocol: 'HTTP', HealthCheckPort: '9090' });
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      IpProtocol: 'tcp',
      FromPort: 9090,
      ToPort: 9090,
      SourceSecurityGroupId: { 'Fn::GetAtt': [logicalId(t, 'AWS::EC2::SecurityGroup', 'GatewayLoadBalancerSecurityGroup'), 'GroupId'] },
    });
  });
});

describe('network', () => {
  test('a new VPC: public subnets for the load balancer, private subnets with one NAT gateway, flow logs with retention', () => {
    const { template } = gateway();
    const t = template();
    t.resourceCountIs('AWS::EC2::VPC', 1);
    t.resourceCountIs('AWS::EC2::NatGateway', 1);
    t.resourceCountIs('AWS::EC2::VPCEndpoint', 0);
    t.hasResourceProperties('AWS::EC2::FlowLog', { ResourceType: 'VPC', TrafficType: 'ALL', LogDestinationType: 'cloud-watch-logs' });
  });

  test('VPC endpoints instead of NAT: isolated task subnets, interface endpoints reachable from the fleet only, gateway endpoints', () => {
    const { template } = gateway({ awsApiAccess: AwsApiAccess.VPC_ENDPOINTS });
    const t = template();
    t.resourceCountIs('AWS::EC2::NatGateway', 0);
    const endpoints = Object.values(t.findResources('AWS::EC2::VPCEndpoint'));
    const services = endpoints.map((e) => JSON.stringify(e.Properties.ServiceName));
    for (const service of ['ecr.api', 'ecr.dkr', 'logs', 'secretsmanager', 'sqs', 'sns', 'sts', 'lambda', 'kms', 'dynamodb', 's3']) {
      expect(services.some((s) => s.includes(`.${service}`))).toBe(true);
    }
    t.hasResourceProperties('AWS::EC2::SecurityGroupIngress', {
      IpProtocol: 'tcp',
      FromPort: 443,
      ToPort: 443,
      GroupId: { 'Fn::GetAtt': [logicalId(t, 'AWS::EC2::SecurityGroup', 'GatewayEndpointSecurityGroup'), 'GroupId'] },
      SourceSecurityGroupId: { 'Fn::GetAtt': [logicalId(t, 'AWS::EC2::SecurityGroup', 'GatewayServiceSecurityGroup'), 'GroupId'] },
    });
  });

  test('your own VPC is used as is', () => {
    const stack = testStack();
    const vpc = new ec2.Vpc(stack, 'Shared', { maxAzs: 3 });
    const { gw, template } = gateway({ vpc }, stack);
    expect(gw.vpc).toBe(vpc);
    template().resourceCountIs('AWS::EC2::VPC', 1);
    // One Elastic IP per public subnet of the shared VPC (beside its NAT gateways' addresses).
    expect(Object.keys(template().findResources('AWS::EC2::EIP')).filter((id) => id.startsWith('GatewayElasticIp'))).toHaveLength(3);
  });
});

describe('configuration table and delivery queue', () => {
  test('the table is encrypted with point-in-time recovery', () => {
    gateway().template().hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
      SSESpecification: { SSEEnabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  test('the delivery queue and its dead-letter queue are encrypted and require TLS', () => {
    const t = gateway().template();
    const queues = t.findResources('AWS::SQS::Queue');
    expect(Object.keys(queues)).toHaveLength(2);
    for (const queue of Object.values(queues)) expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
    t.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(t, 'AWS::SQS::Queue', 'GatewayDeliveryDeadLetterQueue'), 'Arn'] }, maxReceiveCount: 5 },
      ReceiveMessageWaitTimeSeconds: 20,
    });
  });

  test('the queue policy lets SNS topics of this and the allowed accounts deliver, scoped by aws:SourceAccount and aws:SourceArn', () => {
    const t = gateway({ allowedAccounts: [OTHER_ACCOUNT] }).template();
    t.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: logicalId(t, 'AWS::SQS::Queue', 'GatewayDeliveryQueue') }],
      PolicyDocument: {
        Statement: Match.arrayWith([{
          Sid: 'AllowSnsTopicsOfAllowedAccounts',
          Effect: 'Allow',
          Principal: { Service: 'sns.amazonaws.com' },
          Action: 'sqs:SendMessage',
          Resource: { 'Fn::GetAtt': [logicalId(t, 'AWS::SQS::Queue', 'GatewayDeliveryQueue'), 'Arn'] },
          Condition: {
            StringEquals: { 'aws:SourceAccount': [ACCOUNT, OTHER_ACCOUNT] },
            ArnLike: {
              'aws:SourceArn': [
                { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:sns:*:${ACCOUNT}:*`]] },
                { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:sns:*:${OTHER_ACCOUNT}:*`]] },
              ],
            },
          },
        }]),
      },
    });
  });
});

describe('registration provider', () => {
  test('Node.js 22 handlers from the bundled code behind cr.Provider, with the service token exported', () => {
    const { gw, stack, template } = gateway();
    const t = template();
    for (const handler of ['index.onEvent', 'index.isComplete']) {
      t.hasResourceProperties('AWS::Lambda::Function', {
        Handler: handler,
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Environment: {
          Variables: Match.objectLike({
            // the tables come in the delivery targets
            PACKET_GATEWAY_TABLE: Match.absent(),
            PACKET_GATEWAY_ACCESS_ROLE_ARN: { 'Fn::GetAtt': [logicalId(t, 'AWS::IAM::Role', 'GatewayAccessRole'), 'Arn'] },
            PACKET_GATEWAY_DELIVERY_TARGETS: Match.anyValue(),
          }),
        },
      });
    }
    // one waiter per provider: the gateway's own, and the one of other accounts' PacketSources
    t.resourceCountIs('AWS::StepFunctions::StateMachine', 2);
    t.hasResourceProperties('AWS::StepFunctions::StateMachine', { LoggingConfiguration: Match.objectLike({ Level: 'ALL' }) });
    expect(stack.resolve(gw.serviceToken)).toEqual({ 'Fn::GetAtt': [logicalId(t, 'AWS::Lambda::Function', 'GatewayRegistrationProviderframeworkonEvent'), 'Arn'] });
  });

  test('allowed accounts may invoke the PacketSource service token only; the gateway\'s own token is not theirs', () => {
    const { gw, stack, template } = gateway({ allowedAccounts: [OTHER_ACCOUNT] });
    const t = template();
    const tenantFramework = logicalId(t, 'AWS::Lambda::Function', 'GatewayPacketSourceRegistrationProviderframeworkonEvent');
    expect(stack.resolve(gw.packetSourceServiceToken)).toEqual({ 'Fn::GetAtt': [tenantFramework, 'Arn'] });
    t.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: OTHER_ACCOUNT,
      FunctionName: { 'Fn::GetAtt': [tenantFramework, 'Arn'] },
    });
    const ownFramework = logicalId(t, 'AWS::Lambda::Function', 'GatewayRegistrationProviderframeworkonEvent');
    const invokers = Object.values(t.findResources('AWS::Lambda::Permission'))
      .filter((p) => JSON.stringify(p.Properties.FunctionName).includes(ownFramework))
      .map((p) => p.Properties.Principal);
    expect(invokers).not.toContain(OTHER_ACCOUNT);
  });

  test('the PacketSource service token runs a handler that serves PacketSources only, with a role of its own', () => {
    const t = gateway({ allowedAccounts: [OTHER_ACCOUNT] }).template();
    const served = (role: string) => Object.values(t.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.onEvent' } }))
      .filter((fn) => fn.Properties.Role['Fn::GetAtt'][0].startsWith(role))
      .map((fn) => fn.Properties.Environment.Variables.PACKET_GATEWAY_SERVED_RESOURCE_TYPES);
    expect(served('GatewayPacketSourceRegistrationHandlerRole')).toEqual(['["Custom::PacketGatewayPacketSource"]']);
    expect(served('GatewayRegistrationHandlerRole')).toEqual([undefined]);
  });

  test('allowAccount after construction extends every grant', () => {
    const { gw, template } = gateway();
    gw.allowAccount(OTHER_ACCOUNT);
    gw.allowAccount(OTHER_ACCOUNT);
    const t = template();
    expect(Object.keys(t.findResources('AWS::Lambda::Permission', { Properties: { Principal: OTHER_ACCOUNT } }))).toHaveLength(1);
    const access = policyStatements(t, logicalId(t, 'AWS::IAM::Role', 'GatewayAccessRole'));
    const assume = access.find((s) => actionsOf(s).includes('sts:AssumeRole'));
    expect(JSON.stringify(assume?.Resource)).toContain(`:iam::${OTHER_ACCOUNT}:role/packet-gateway/*`);
  });

  test('the access role may send to no SQS queue of the allowed accounts: failure records go as each PacketSource\'s role', () => {
    const t = gateway({ allowedAccounts: [OTHER_ACCOUNT] }).template();
    const access = policyStatements(t, logicalId(t, 'AWS::IAM::Role', 'GatewayAccessRole'));
    expect(access.filter((s) => actionsOf(s).includes('sqs:SendMessage'))).toEqual([]);
    expect(JSON.stringify(access)).not.toContain(':sqs:*:');
  });

  test('the access role is the fleet task role, trusted by ECS tasks and the registration handler only', () => {
    const t = gateway().template();
    const handlerRole = logicalId(t, 'AWS::IAM::Role', 'GatewayRegistrationHandlerRole');
    t.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: {
        Statement: [
          { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Condition: { StringEquals: { 'aws:SourceAccount': ACCOUNT } } },
          { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { AWS: { 'Fn::GetAtt': [handlerRole, 'Arn'] } } },
          { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { AWS: { 'Fn::GetAtt': [logicalId(t, 'AWS::IAM::Role', 'GatewayPacketSourceRegistrationHandlerRole'), 'Arn'] } } },
        ],
      },
    });
    const handler = policyStatements(t, handlerRole);
    expect(handler.find((s) => actionsOf(s).includes('sts:AssumeRole'))?.Resource).toEqual({ 'Fn::GetAtt': [logicalId(t, 'AWS::IAM::Role', 'GatewayAccessRole'), 'Arn'] });
    const access = policyStatements(t, logicalId(t, 'AWS::IAM::Role', 'GatewayAccessRole'));
    expect(access.find((s) => actionsOf(s).includes('sts:AssumeRole'))?.Resource)
      .toEqual({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:iam::${ACCOUNT}:role/packet-gateway/*`]] });
  });

  test('peers: their delivery queues are subscribed targets and their tables writable by the handler', () => {
    const peer = { region: 'eu-central-1', deliveryQueueArn: `arn:aws:sqs:eu-central-1:${ACCOUNT}:peer-queue`, tableName: 'peer-table' };
    const { gw, stack, template } = gateway({ peers: [peer] });
    const t = template();
    expect(stack.resolve(gw.deliveryQueueArns)).toEqual([{ 'Fn::GetAtt': [logicalId(t, 'AWS::SQS::Queue', 'GatewayDeliveryQueue'), 'Arn'] }, peer.deliveryQueueArn]);
    const fn = Object.values(t.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.onEvent' } }))[0];
    expect(JSON.stringify(fn.Properties.Environment.Variables.PACKET_GATEWAY_DELIVERY_TARGETS))
      .toContain('{\\"Region\\":\\"eu-central-1\\",\\"QueueArn\\":\\"arn:aws:sqs:eu-central-1:123456789012:peer-queue\\",\\"TableName\\":\\"peer-table\\"}');
    const handler = policyStatements(t, logicalId(t, 'AWS::IAM::Role', 'GatewayRegistrationHandlerRole'));
    expect(handler).toContainEqual(expect.objectContaining({
      Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      Resource: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:dynamodb:eu-central-1:${ACCOUNT}:table/peer-table`]] },
    }));
  });

  test('peers: the fleet may forward to their delivery queues only, and learns them from its environment', () => {
    const peer = { region: 'eu-central-1', deliveryQueueArn: `arn:aws:sqs:eu-central-1:${ACCOUNT}:peer-queue`, tableName: 'peer-table' };
    const { template } = gateway({ peers: [peer] });
    const t = template();
    const access = policyStatements(t, logicalId(t, 'AWS::IAM::Role', 'GatewayAccessRole'));
    expect(access).toContainEqual(expect.objectContaining({ Sid: 'ForwardToPeerRegions', Action: 'sqs:SendMessage', Resource: peer.deliveryQueueArn }));
    t.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [Match.objectLike({
        Environment: Match.arrayWith([{ Name: 'PACKET_GATEWAY_PEER_DELIVERY_QUEUES', Value: peer.deliveryQueueArn }]),
      })],
    });
  });

  test('without peers the fleet forwards nowhere', () => {
    const { template } = gateway();
    const t = template();
    const access = policyStatements(t, logicalId(t, 'AWS::IAM::Role', 'GatewayAccessRole'));
    expect(access.find((s) => actionsOf(s).includes('sqs:SendMessage'))).toBeUndefined();
    expect(JSON.stringify(t.findResources('AWS::ECS::TaskDefinition'))).not.toContain('PACKET_GATEWAY_PEER_DELIVERY_QUEUES');
  });
});

describe('peer principals', () => {
  test('a peer without registrationPrincipalArn gets a warning: it cannot write failure records of its region', () => {
    const { stack, gw } = gateway({ peers: [{ region: 'eu-central-1', deliveryQueueArn: `arn:aws:sqs:eu-central-1:${ACCOUNT}:peer-queue`, tableName: 'peer-table' }] });
    expect(gw.peerPrincipalArns).toEqual([]);
    Annotations.fromStack(stack).hasWarning('/Stack/Gateway', Match.stringLikeRegexp('the peer in eu-central-1 has no registrationPrincipalArn'));
  });

  test('fails if a peer principal is not an IAM role ARN', () => {
    expect(() => gateway({ peers: [{ region: 'eu-central-1', deliveryQueueArn: `arn:aws:sqs:eu-central-1:${ACCOUNT}:q`, tableName: 'peer-table', registrationPrincipalArn: 'peer' }] }))
      .toThrow(/peers\[\]\.registrationPrincipalArn must be an ARN of iam \(role\/…\), got "peer"/);
  });

  test('fails at synth if a peer ARN would be refused by the registration function (an account that is not 12 digits)', () => {
    expect(() => gateway({ peers: [{ region: 'eu-central-1', deliveryQueueArn: 'arn:aws:sqs:eu-central-1:12:q', tableName: 'peer-table' }] }))
      .toThrow(/peers\[\]\.deliveryQueueArn must be .*got "arn:aws:sqs:eu-central-1:12:q"/);
    expect(() => gateway({ peers: [{ region: 'eu-central-1', deliveryQueueArn: `arn:aws:sqs:eu-central-1:${ACCOUNT}:q`, tableName: 'peer-table', registrationPrincipalArn: 'arn:aws:iam::12:role/r' }] }))
      .toThrow(/peers\[\]\.registrationPrincipalArn must be .*got "arn:aws:iam::12:role\/r"/);
  });
});

describe('logs and permissions', () => {
  test('every function logs to a log group of the stack, and every log group has a retention', () => {
    const { gw, template } = gateway({ logRetention: logs.RetentionDays.ONE_WEEK });
    withListener(gw);
    const t = template();
    const groups = t.findResources('AWS::Logs::LogGroup');
    for (const group of Object.values(groups)) expect(group.Properties.RetentionInDays).toBe(7);
    for (const [id, fn] of Object.entries(t.findResources('AWS::Lambda::Function'))) {
      const target = fn.Properties.LoggingConfig?.LogGroup?.Ref;
      expect({ id, logGroup: target in groups }).toEqual({ id, logGroup: true });
    }
  });

  test('no statement uses a * resource except actions that support no resource-level permissions', () => {
    const { gw, template } = gateway({ allowedAccounts: [OTHER_ACCOUNT] });
    withListener(gw);
    const unscopable = new Set([
      'ecr:GetAuthorizationToken',
      'logs:CreateLogDelivery', 'logs:GetLogDelivery', 'logs:UpdateLogDelivery', 'logs:DeleteLogDelivery', 'logs:ListLogDeliveries',
      'logs:PutResourcePolicy', 'logs:DescribeResourcePolicies', 'logs:DescribeLogGroups', 'logs:CreateLogStream', 'logs:PutLogEvents',
    ]);
    const starred = policyStatements(template()).filter((s) => resourcesOf(s).includes('*'));
    expect(starred.length).toBeGreaterThan(0);
    for (const statement of starred) for (const action of actionsOf(statement)) expect(unscopable).toContain(action);
  });
});

describe('fails if …', () => {
  const cases: Array<[string, () => PacketGatewayProps, RegExp]> = [
    ['maxAzs is given with a vpc', () => ({ vpc: new ec2.Vpc(testStack(), 'V'), maxAzs: 2 }), /maxAzs and natGateways apply only to the VPC the gateway creates/],
    ['natGateways is combined with VPC endpoints', () => ({ awsApiAccess: AwsApiAccess.VPC_ENDPOINTS, natGateways: 1 }), /natGateways cannot be combined with awsApiAccess VPC_ENDPOINTS/],
    ['natGateways is 0', () => ({ natGateways: 0 }), /natGateways must be an integer from 1 to 6, got 0/],
    ['desiredCount is not an integer', () => ({ desiredCount: 1.5 }), /desiredCount must be an integer from 0 to 1000, got 1.5/],
    ['maxCapacity is below desiredCount', () => ({ desiredCount: 3, maxCapacity: 2 }), /maxCapacity must be an integer from 3 to 1000, got 2/],
    ['targetCpuUtilizationPercent comes without maxCapacity', () => ({ targetCpuUtilizationPercent: 50 }), /targetCpuUtilizationPercent applies only with maxCapacity/],
    ['targetCpuUtilizationPercent is above 100', () => ({ maxCapacity: 2, targetCpuUtilizationPercent: 120 }), /targetCpuUtilizationPercent must be an integer from 1 to 100, got 120/],
    ['healthPort is out of range', () => ({ healthPort: 70000 }), /healthPort must be an integer from 1 to 65535, got 70000/],
    ['workers is 0', () => ({ workers: 0 }), /workers must be an integer from 1 to 16, got 0/],
    ['workers is above 16', () => ({ workers: 17 }), /workers must be an integer from 1 to 16, got 17/],
    ['stopTimeout exceeds 120 s', () => ({ stopTimeout: Duration.minutes(5) }), /stopTimeout must be from 2 s to 120 s, got 300 s/],
    ['cpu is not a Fargate size', () => ({ cpu: 300 }), /cpu must be one of 256, 512, 1024, 2048, 4096, 8192, 16384 \(Fargate\), got 300/],
    ['memory does not fit the cpu', () => ({ cpu: 256, memoryLimitMiB: 4096 }), /memoryLimitMiB 4096 does not fit cpu 256: Fargate allows 512-2048 MiB in steps of 512/],
    ['an allowed account is not 12 digits', () => ({ allowedAccounts: ['1234'] }), /allowedAccounts must hold 12-digit AWS account ids, got "1234"/],
    ['a peer region is malformed', () => ({ peers: [{ region: 'europe', deliveryQueueArn: `arn:aws:sqs:eu-central-1:${ACCOUNT}:q`, tableName: 'tbl' }] }),
      /peers\[\].region must be an AWS region name such as "eu-west-1", got "europe"/],
    ['a peer is in the gateway region', () => ({ peers: [{ region: REGION, deliveryQueueArn: `arn:aws:sqs:${REGION}:${ACCOUNT}:q`, tableName: 'tbl' }] }),
      /peers must be in other regions than the gateway \(eu-west-1\)/],
    ['a peer region is listed twice', () => ({
      peers: [1, 2].map(() => ({ region: 'eu-central-1', deliveryQueueArn: `arn:aws:sqs:eu-central-1:${ACCOUNT}:q`, tableName: 'tbl' })),
    }), /peers lists region eu-central-1 twice/],
    ['a peer queue is not an SQS ARN', () => ({ peers: [{ region: 'eu-central-1', deliveryQueueArn: 'queue', tableName: 'tbl' }] }),
      /peers\[\].deliveryQueueArn must be an ARN of sqs, got "queue"/],
    ['a peer table name is invalid', () => ({ peers: [{ region: 'eu-central-1', deliveryQueueArn: `arn:aws:sqs:eu-central-1:${ACCOUNT}:q`, tableName: 'a b' }] }),
      /peers\[\].tableName must be a DynamoDB table name/],
  ];
  test.each(cases)('%s', (_name, props, message) => {
    const resolved = props();
    const stack = resolved.vpc ? Stack.of(resolved.vpc) : testStack();
    expect(() => new PacketGateway(stack, 'Gateway', resolved)).toThrow(message);
  });

  test('values known only at deploy time are not validated at synth', () => {
    const stack = testStack();
    const count = new CfnParameter(stack, 'Count', { type: 'Number' }).valueAsNumber;
    expect(() => new PacketGateway(stack, 'Gateway', { desiredCount: count })).not.toThrow();
  });
});

test('metrics of the fleet use the data plane namespace and dimensions', () => {
  const { gw, stack } = gateway();
  const metric = gw.metricSourcedSent();
  expect(metric.namespace).toBe('PacketGateway');
  expect(metric.metricName).toBe('SourcedSent');
  expect(metric.dimensions).toEqual({ Service: 'packet-gateway', Gateway: 'Stack/Gateway' });
  expect(stack.resolve(gw.metricDeliveryQueueAge().dimensions)).toEqual({ QueueName: { 'Fn::GetAtt': [expect.stringMatching(/^GatewayDeliveryQueue/), 'QueueName'] } });
  expect(gw.metricDeliveryDeadLetters().metricName).toBe('ApproximateNumberOfMessagesVisible');
});

describe('desiredCount', () => {
  test('defaults to one task per Availability Zone of the task subnets', () => {
    gateway().template().hasResourceProperties('AWS::ECS::Service', { DesiredCount: 2 });
    gateway({ maxAzs: 3 }).template().hasResourceProperties('AWS::ECS::Service', { DesiredCount: 3 });
  });

  test('defaults to at least two tasks, also in a single Availability Zone', () => {
    gateway({ maxAzs: 1 }).template().hasResourceProperties('AWS::ECS::Service', { DesiredCount: 2 });
  });

  test('desiredCount lowers it (a development gateway of one task)', () => {
    gateway({ maxAzs: 3, desiredCount: 1 }).template().hasResourceProperties('AWS::ECS::Service', { DesiredCount: 1 });
  });

  test('the default is the lower bound of autoscaling', () => {
    gateway({ maxAzs: 3, maxCapacity: 6 }).template().hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 3, MaxCapacity: 6 });
  });

  test('fails if maxCapacity is below the default, naming both and what is allowed', () => {
    expect(() => gateway({ maxAzs: 3, maxCapacity: 2 })).toThrow(
      'Stack/Gateway: maxCapacity 2 is below the default desiredCount 3 (one task per Availability Zone of the task subnets, at least 2); '
      + 'allowed: maxCapacity from 3 to 1000, or set desiredCount (0 to 2) to run fewer tasks',
    );
  });

  test('fails if desiredCount is outside 0-1000, naming the value', () => {
    expect(() => gateway({ desiredCount: 1001 })).toThrow('desiredCount must be an integer from 0 to 1000, got 1001');
    expect(() => gateway({ desiredCount: -1 })).toThrow('desiredCount must be an integer from 0 to 1000, got -1');
  });
});

describe('deployment defaults', () => {
  test('with autoscaling the template leaves the desired count to autoscaling; without, it names it', () => {
    const scaled = gateway({ desiredCount: 1, maxCapacity: 4 }).template();
    scaled.hasResourceProperties('AWS::ECS::Service', { DesiredCount: Match.absent() });
    gateway({ desiredCount: 2 }).template().hasResourceProperties('AWS::ECS::Service', { DesiredCount: 2 });
  });

  test('key material and Elastic IPs are retained by default, the table and log groups destroyed', () => {
    const { gw, template } = gateway();
    const fn = lambda.Function.fromFunctionArn(gw, 'Fn', `arn:aws:lambda:${REGION}:${ACCOUNT}:function:ingest`);
    gw.addListener('Tunnel', { port: 51820, protocol: ListenerProtocol.WIREGUARD, destinations: [Destination.lambda(fn)], allowUnknownPeers: true });
    const t = template();
    for (const prefix of ['GatewayReplyTagSecret', 'GatewayTunnelPrivateKey']) {
      expect(t.toJSON().Resources[logicalId(t, 'AWS::SecretsManager::Secret', prefix)].DeletionPolicy).toBe('Retain');
    }
    for (const prefix of ['GatewayElasticIp1', 'GatewayElasticIp2']) {
      expect(t.toJSON().Resources[logicalId(t, 'AWS::EC2::EIP', prefix)].DeletionPolicy).toBe('Retain');
    }
    expect(t.toJSON().Resources[logicalId(t, 'AWS::DynamoDB::Table', 'GatewayTable')].DeletionPolicy).toBe('Delete');
  });

  test('a removalPolicy given applies to key material and Elastic IPs too', () => {
    const { gw, template } = gateway({ removalPolicy: RemovalPolicy.DESTROY });
    const fn = lambda.Function.fromFunctionArn(gw, 'Fn', `arn:aws:lambda:${REGION}:${ACCOUNT}:function:ingest`);
    gw.addListener('Tunnel', { port: 51820, protocol: ListenerProtocol.WIREGUARD, destinations: [Destination.lambda(fn)], allowUnknownPeers: true });
    const resources = template().toJSON().Resources as Record<string, { Type: string; DeletionPolicy?: string }>;
    for (const [id, resource] of Object.entries(resources)) {
      if (/^Gateway(ElasticIp|ReplyTagSecret|TunnelPrivateKey)/.test(id)) expect({ id, type: resource.Type, policy: resource.DeletionPolicy }).toMatchObject({ id, policy: 'Delete' });
    }
    expect(Object.keys(resources).filter((id) => /^Gateway(ElasticIp|ReplyTagSecret|TunnelPrivateKey)/.test(id))).toHaveLength(4);
  });

  test('existing Elastic IP allocations go on the subnet mappings, and no Elastic IP is created', () => {
    const { gw, template } = gateway({ elasticIpAllocationIds: ['eipalloc-0123456789abcdef0', 'eipalloc-0fedcba9876543210'] });
    const t = template();
    expect(Object.keys(t.findResources('AWS::EC2::EIP')).filter((id) => id.startsWith('GatewayElasticIp'))).toEqual([]);
    t.hasResourceProperties('AWS::ElasticLoadBalancingV2::LoadBalancer', {
      SubnetMappings: [
        { SubnetId: { Ref: Match.stringLikeRegexp('VpcLoadBalancerSubnet1') }, AllocationId: 'eipalloc-0123456789abcdef0' },
        { SubnetId: { Ref: Match.stringLikeRegexp('VpcLoadBalancerSubnet2') }, AllocationId: 'eipalloc-0fedcba9876543210' },
      ],
    });
    expect(gw.elasticIpAddresses).toEqual([]);
  });

  test('ICMP fragmentation-needed and ICMPv6 packet-too-big reach the load balancer and the tasks (path MTU discovery)', () => {
    const t = gateway().template();
    for (const group of ['GatewayServiceSecurityGroup', 'GatewayLoadBalancerSecurityGroup']) {
      const sg = t.toJSON().Resources[logicalId(t, 'AWS::EC2::SecurityGroup', group)];
      expect(sg.Properties.SecurityGroupIngress).toEqual(expect.arrayContaining([
        expect.objectContaining({ CidrIp: '0.0.0.0/0', IpProtocol: 'icmp', FromPort: 3, ToPort: 4 }),
        expect.objectContaining({ CidrIpv6: '::/0', IpProtocol: 'icmpv6', FromPort: 2, ToPort: -1 }),
      ]));
    }
  });

  test('the new VPC records ALL traffic in its flow log by default, as configured otherwise, and its default security group has no rules', () => {
    const t = gateway({ flowLogTrafficType: ec2.FlowLogTrafficType.REJECT }).template();
    t.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'REJECT' });
    const d = gateway().template();
    d.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'ALL' });
    d.resourceCountIs('Custom::VpcRestrictDefaultSG', 1);
  });

  test('the load balancer acknowledgement says where UDP flows are recorded, as configured', () => {
    const reason = (t: Template) => JSON.stringify(t.findResources('AWS::ElasticLoadBalancingV2::LoadBalancer'));
    expect(reason(gateway().template())).toMatch(/flow log \(traffic type ALL\) records the UDP flows/);
    expect(reason(gateway({ flowLogTrafficType: ec2.FlowLogTrafficType.REJECT }).template())).toMatch(/records rejected traffic only/);
  });

  test('a layout needing more Elastic IPs than the default quota of 5 is warned about', () => {
    const quota = (stack: Stack) => Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('Elastic IPs'));
    const { stack } = gateway({ maxAzs: 3, natGateways: 3 });
    const found = quota(stack);
    expect(found).toHaveLength(1);
    expect(found[0].entry.data).toMatch(/allocates 6 Elastic IPs \(3 for NAT gateways, 3 for the load balancer\), more than the default quota of 5/);
    expect(quota(gateway().stack)).toHaveLength(0);
    expect(quota(gateway({ maxAzs: 3, natGateways: 3, elasticIpAllocationIds: ['eipalloc-00000001', 'eipalloc-00000002', 'eipalloc-00000003'] }).stack)).toHaveLength(0);
  });

  test('the data plane reads the gateway name the construct sets, for the Gateway dimension of its metrics', () => {
    const options = optionsFromCommandLine([], { AWS_REGION: REGION, PACKET_GATEWAY_TABLE: 't', PACKET_GATEWAY_NAME: 'Stack/Gateway' }) as ServiceOptions;
    expect(options.gatewayName).toBe('Stack/Gateway');
    expect((optionsFromCommandLine([], { AWS_REGION: REGION, PACKET_GATEWAY_TABLE: 't' }) as ServiceOptions).gatewayName).toBeUndefined();
  });

  test('metrics of two gateways in one account do not share series', () => {
    const stack = testStack();
    const a = new PacketGateway(stack, 'A');
    const b = new PacketGateway(stack, 'B');
    expect(a.metricSourcedSent().dimensions).toEqual({ Service: 'packet-gateway', Gateway: 'Stack/A' });
    expect(b.metricSourcedSent().dimensions).toEqual({ Service: 'packet-gateway', Gateway: 'Stack/B' });
  });
});

describe('fails if … (deployment defaults)', () => {
  const cases: Array<[string, () => PacketGatewayProps, RegExp]> = [
    ['elasticIpAllocationIds does not match the subnets', () => ({ elasticIpAllocationIds: ['eipalloc-0123456789abcdef0'] }),
      /elasticIpAllocationIds must hold one allocation id per load-balancer subnet \(one per AZ\): the load balancer has 2 subnets, got 1 allocation ids/],
    ['an allocation id is malformed', () => ({ elasticIpAllocationIds: ['eip-1', 'eipalloc-0123456789abcdef0'] }),
      /elasticIpAllocationIds must hold Elastic IP allocation ids \(eipalloc- followed by 8–17 hexadecimal digits\), got "eip-1"/],
    ['an allocation id is listed twice', () => ({ elasticIpAllocationIds: ['eipalloc-0123456789abcdef0', 'eipalloc-0123456789abcdef0'] }),
      /elasticIpAllocationIds lists eipalloc-0123456789abcdef0 twice/],
    ['allocation ids come without Elastic IPs', () => ({ assignElasticIps: false, elasticIpAllocationIds: ['eipalloc-0123456789abcdef0'] }),
      /elasticIpAllocationIds applies only with assignElasticIps/],
    ['flowLogTrafficType is given with your VPC', () => ({ vpc: new ec2.Vpc(testStack(), 'V'), flowLogTrafficType: ec2.FlowLogTrafficType.ALL }),
      /flowLogTrafficType ALL applies only to the VPC the gateway creates/],
  ];
  test.each(cases)('%s', (_name, props, message) => {
    const resolved = props();
    const stack = resolved.vpc ? Stack.of(resolved.vpc) : testStack();
    expect(() => new PacketGateway(stack, 'Gateway', resolved)).toThrow(message);
  });
});
