/**
 * Cross-account: a platform account runs the gateway, an application account binds its own topic
 * to one of the gateway's Listeners. The application stack knows the gateway only through the
 * attributes the platform stack outputs (service token, registration principal, delivery queue).
 *
 *   npx cdk synth --app "npx tsx examples/cross-account/app.ts" \
 *     -c platformAccount=111111111111 -c applicationAccount=222222222222 -c region=eu-west-1 \
 *     -c gatewayServiceToken=<output> -c gatewayPrincipalArn=<output> -c gatewayDeliveryQueueArn=<output>
 */
import { join } from 'node:path';
import { App, CfnOutput, Fn, Stack, StackProps } from 'aws-cdk-lib';
import { Construct } from 'constructs';
// In your own app: import { ... } from 'cdk-packet-gateway';
import { Destination, Listener, PacketGateway, PacketSource } from '../../lib';
import { nodeFunction } from '../shared/node-function';

export interface PlatformStackProps extends StackProps {
  /** Accounts whose stacks may create PacketSources with the gateway. */
  readonly applicationAccounts: string[];
}

/** The platform account: the gateway and a Listener the applications push through. */
export class PlatformStack extends Stack {
  public readonly gateway: PacketGateway;

  /**
   * The first two availability zones, resolved at deploy time: a stack with an explicit account
   * would otherwise look them up at synth time, which needs credentials for that account.
   */
  public get availabilityZones(): string[] {
    return [Fn.select(0, Fn.getAzs()), Fn.select(1, Fn.getAzs())];
  }

  constructor(scope: Construct, id: string, props: PlatformStackProps) {
    super(scope, id, props);
    this.gateway = new PacketGateway(this, 'Gateway', { allowedAccounts: props.applicationAccounts });

    // Inbound packets of the Listener go to the platform's own function; here it only counts them.
    const inbound = nodeFunction(this, 'Inbound', {
      directory: join(__dirname, 'functions', 'inbound'),
      description: 'Receives what clients send to the devices Listener',
    });
    this.gateway.addListener('Devices', { listenerName: 'devices', port: 5555, destinations: [Destination.lambda(inbound)] });

    // What application accounts need (copy into their configuration).
    new CfnOutput(this, 'GatewayServiceToken', { value: this.gateway.packetSourceServiceToken });
    new CfnOutput(this, 'GatewayPrincipalArn', { value: this.gateway.registrationPrincipalArn });
    new CfnOutput(this, 'GatewayDeliveryQueueArn', { value: this.gateway.deliveryQueueArn });
    new CfnOutput(this, 'GatewayAddresses', { value: Fn.join(',', this.gateway.elasticIpAddresses) });
  }
}

export interface ApplicationStackProps extends StackProps {
  /** The platform stack's outputs. */
  readonly gatewayServiceToken: string;
  readonly gatewayPrincipalArn: string;
  readonly gatewayDeliveryQueueArn: string;
  /** Listener of the gateway the packets leave from. */
  readonly listenerName: string;
}

/** An application account: its own topic bound to the platform's Listener, and a publisher. */
export class ApplicationStack extends Stack {
  constructor(scope: Construct, id: string, props: ApplicationStackProps) {
    super(scope, id, props);
    const listener = Listener.fromListenerAttributes(this, 'PlatformListener', {
      listenerName: props.listenerName,
      serviceToken: props.gatewayServiceToken,
      registrationPrincipalArn: props.gatewayPrincipalArn,
      deliveryQueueArns: [props.gatewayDeliveryQueueArn],
    });
    const source = new PacketSource(this, 'Notifications', { listener, description: 'Notifications of the application' });

    const publisher = nodeFunction(this, 'Publisher', {
      directory: join(__dirname, 'functions', 'publisher'),
      description: 'Publishes datagrams for the platform gateway to send',
      environment: { TOPIC_ARN: source.topic.topicArn },
    });
    source.grantPublish(publisher);
    new CfnOutput(this, 'PublisherFunction', { value: publisher.functionName });
  }
}

/** Builds both stacks from context values; the defaults only make the example synthesize. */
export function crossAccountApp(app: App): { platform: PlatformStack; application: ApplicationStack } {
  const context = (key: string, fallback: string) => String(app.node.tryGetContext(key) ?? fallback);
  const region = context('region', 'eu-west-1');
  const platformAccount = context('platformAccount', '111111111111');
  const applicationAccount = context('applicationAccount', '222222222222');
  const platform = new PlatformStack(app, 'PacketGatewayPlatform', {
    env: { account: platformAccount, region },
    applicationAccounts: [applicationAccount],
  });
  const application = new ApplicationStack(app, 'PacketGatewayApplication', {
    env: { account: applicationAccount, region },
    listenerName: 'devices',
    gatewayServiceToken: context('gatewayServiceToken', `arn:aws:lambda:${region}:${platformAccount}:function:PacketGatewayPlatform-GatewayRegistrationProvide-EXAMPLE`),
    gatewayPrincipalArn: context('gatewayPrincipalArn', `arn:aws:iam::${platformAccount}:role/PacketGatewayPlatform-GatewayAccessRole-EXAMPLE`),
    gatewayDeliveryQueueArn: context('gatewayDeliveryQueueArn', `arn:aws:sqs:${region}:${platformAccount}:PacketGatewayPlatform-GatewayDeliveryQueue-EXAMPLE`),
  });
  return { platform, application };
}

if (require.main === module) {
  const app = new App();
  crossAccountApp(app);
  app.synth();
}
