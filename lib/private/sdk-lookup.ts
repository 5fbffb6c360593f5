/**
 * A deploy-time read of one AWS API value (an SSM parameter in another region, a secret replica's
 * complete ARN) through CDK's `AwsCustomResource`, limited to the resources named, with the
 * library's acknowledgements of the findings on CDK's shared function.
 */
import { Stack } from 'aws-cdk-lib';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { acknowledgeNagFindings } from './nag';

/** Id under the stack of the function CDK shares among every `AwsCustomResource` of the stack. */
const AWS_CUSTOM_RESOURCE_FUNCTION = 'AWS679f53fac002430cb0da5b7982bd2287';

/** What to read: one SDK call and the response field returned. */
export interface SdkLookupOptions {
  /** SDK v3 client name, such as `SSM`. */
  readonly service: string;
  /** Action, such as `getParameter`. */
  readonly action: string;
  readonly parameters: Record<string, unknown>;
  /** Region of the call. @default - the stack's region */
  readonly region?: string;
  /** Field of the response returned, such as `Parameter.Value`. */
  readonly field: string;
  /** The only resources the call may touch. */
  readonly resources: string[];
  /** Stable identity of the value read (changing it reads again). */
  readonly physicalId: string;
}

/** Reads `options.field` of one SDK call at deploy time (on create and on every update). */
export function sdkLookup(scope: Construct, id: string, options: SdkLookupOptions): string {
  const call: cr.AwsSdkCall = {
    service: options.service,
    action: options.action,
    parameters: options.parameters,
    region: options.region,
    physicalResourceId: cr.PhysicalResourceId.of(options.physicalId),
    outputPaths: [options.field],
  };
  const lookup = new cr.AwsCustomResource(scope, id, {
    onCreate: call,
    onUpdate: call,
    policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: options.resources }),
    installLatestAwsSdk: false,
  });
  const shared = Stack.of(scope).node.tryFindChild(AWS_CUSTOM_RESOURCE_FUNCTION);
  if (shared) {
    acknowledgeNagFindings(shared, [
      { id: 'AwsSolutions-IAM4', reason: 'CDK\'s AwsCustomResource function logs with the AWS managed basic execution policy; its calls are limited by resource', appliesTo: ['Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole'] },
      { id: 'AwsSolutions-L1', reason: 'The runtime of CDK\'s AwsCustomResource function is chosen by aws-cdk-lib and moves with it' },
    ], { applyToChildren: true });
  }
  return lookup.getResponseField(options.field);
}
