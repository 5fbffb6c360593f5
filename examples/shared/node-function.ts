import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

export interface NodeFunctionProps {
  /** Directory holding index.js (plain CommonJS: nothing to bundle). */
  readonly directory: string;
  readonly description: string;
  readonly environment?: Record<string, string>;
  readonly timeout?: Duration;
}

/**
 * A Node.js 22 function of the examples with its own log group (one week) and a role that may
 * write only to it: no AWS managed policies, nothing left behind on `cdk destroy`.
 */
export function nodeFunction(scope: Construct, id: string, props: NodeFunctionProps): lambda.Function {
  const logGroup = new logs.LogGroup(scope, `${id}Logs`, { retention: logs.RetentionDays.ONE_WEEK, removalPolicy: RemovalPolicy.DESTROY });
  const role = new iam.Role(scope, `${id}Role`, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
  logGroup.grantWrite(role);
  return new lambda.Function(scope, id, {
    runtime: lambda.Runtime.NODEJS_22_X,
    architecture: lambda.Architecture.ARM_64,
    handler: 'index.handler',
    code: lambda.Code.fromAsset(props.directory),
    description: props.description,
    environment: props.environment,
    timeout: props.timeout ?? Duration.seconds(10),
    logGroup,
    role,
  });
}
