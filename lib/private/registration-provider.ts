import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { acknowledgeNagFindings } from './nag';
import { assetPath } from './package-root';
import { RegistrationEnvironment } from './resource-properties';

/** How long a PacketSource subscription may stay pending before its registration fails with a reason. */
const CONFIRMATION_TIMEOUT = Duration.minutes(12);
/** The provider's own limit; above CONFIRMATION_TIMEOUT so the handler's clearer reason wins. */
const PROVIDER_TIMEOUT = Duration.minutes(15);

export interface RegistrationProviderProps {
  /** Environment of the handler (table, delivery targets, access role). */
  readonly environment: Record<string, string>;
  readonly logRetention: logs.RetentionDays;
  readonly removalPolicy: RemovalPolicy;
  /**
   * Custom-resource types this provider's functions serve; requests of other types are refused.
   * @default - every type (Listener, PacketSource, WireGuard key)
   */
  readonly servedResourceTypes?: readonly string[];
  /** What the functions' descriptions say they handle. @default 'Listener and PacketSource resources' */
  readonly servesDescription?: string;
}

/**
 * The registration provider: the handler functions (bundled from lambda/registration) behind the
 * `cr.Provider` framework, with a log group of its own for every function and the waiter.
 */
export class RegistrationProvider extends Construct {
  public readonly serviceToken: string;
  public readonly role: iam.IRole;
  public readonly onEventFunction: lambda.Function;
  public readonly isCompleteFunction: lambda.Function;

  constructor(scope: Construct, id: string, props: RegistrationProviderProps) {
    super(scope, id);
    const code = lambda.Code.fromAsset(assetPath('lambda/registration'));
    const logGroup = (name: string) => new logs.LogGroup(this, name, { retention: props.logRetention, removalPolicy: props.removalPolicy });

    const serves = props.servesDescription ?? 'Listener and PacketSource resources';
    const role = new iam.Role(this, 'HandlerRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: props.servedResourceTypes
        ? `Packet Gateway registration handler: writes records of ${serves}`
        : 'Packet Gateway registration handler: writes Listener and PacketSource records',
    });
    this.role = role;

    const common = {
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      code,
      role,
      memorySize: 256,
      timeout: Duration.minutes(2),
      environment: {
        ...props.environment,
        ...(props.servedResourceTypes ? { [RegistrationEnvironment.ServedResourceTypes]: JSON.stringify(props.servedResourceTypes) } : {}),
        [RegistrationEnvironment.ConfirmationTimeoutSeconds]: String(CONFIRMATION_TIMEOUT.toSeconds()),
        POWERTOOLS_SERVICE_NAME: 'packet-gateway-registration',
        NODE_OPTIONS: '--enable-source-maps',
      },
    };
    const onEventLogGroup = logGroup('OnEventLogGroup');
    const isCompleteLogGroup = logGroup('IsCompleteLogGroup');
    onEventLogGroup.grantWrite(role);
    isCompleteLogGroup.grantWrite(role);
    this.onEventFunction = new lambda.Function(this, 'OnEventFunction', {
      ...common,
      handler: 'index.onEvent',
      description: `Packet Gateway registration: Create/Update/Delete of ${serves}`,
      logGroup: onEventLogGroup,
    });
    this.isCompleteFunction = new lambda.Function(this, 'IsCompleteFunction', {
      ...common,
      handler: 'index.isComplete',
      description: 'Packet Gateway registration: waits for PacketSource subscriptions to be confirmed',
      logGroup: isCompleteLogGroup,
    });

    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.onEventFunction,
      isCompleteHandler: this.isCompleteFunction,
      queryInterval: Duration.seconds(10),
      totalTimeout: PROVIDER_TIMEOUT,
      logGroup: logGroup('FrameworkLogGroup'),
      waiterStateMachineLogOptions: {
        destination: logGroup('WaiterLogGroup'),
        level: sfn.LogLevel.ALL,
        includeExecutionData: false,
      },
    });
    this.serviceToken = provider.serviceToken;

    acknowledgeNagFindings(provider, [
      {
        id: 'AwsSolutions-IAM4',
        reason: 'The custom-resource provider framework uses AWSLambdaBasicExecutionRole only for its own logs',
        appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: 'The provider framework invokes the handler functions and their versions (function ARN followed by :*)',
        appliesTo: [{ regex: '/^Resource::<[A-Za-z0-9]+\\.Arn>:\\*$/' }],
      },
      {
        id: 'AwsSolutions-IAM5',
        reason: 'The waiter state machine delivers its logs with logs:CreateLogDelivery and related actions, which support no resource-level permissions',
        appliesTo: ['Resource::*'],
      },
      {
        id: 'AwsSolutions-L1',
        reason: 'The provider framework functions use the Node.js runtime chosen by the aws-cdk-lib version in use',
      },
      {
        id: 'AwsSolutions-SF2',
        reason: 'The provider waiter only polls the completion handler; tracing adds cost without insight',
      },
    ], { applyToChildren: true });
  }
}
