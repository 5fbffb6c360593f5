/**
 * What `Destination.apiGateway` / `Destination.httpApi` bind: `execute-api:Invoke` for the fleet
 * on exactly one stage, method and resource path, and that route's execute-api ARN as the target
 * of the destination record (the data plane derives the URL from it).
 */
import { Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';
import { executeApiRouteProblem } from './arn';
import { fail } from './validation';

/** The record target of an API Gateway destination (lib/destination.ts `DestinationConfig` fields). */
export interface ApiGatewayTarget {
  readonly type: 'apigateway';
  readonly arn: string;
}

/** A stage, method and resource path of an API. */
export interface ApiRoute {
  readonly stageName: string;
  /** Upper case; ANY for a route of every method. */
  readonly method: string;
  /** Starts with `/`. */
  readonly path: string;
}

/** Anything that formats the execute-api ARN of a route: `IRestApi` and `IHttpApi` both do. */
export interface ExecuteApiArnSource {
  arnForExecuteApi(method?: string, path?: string, stage?: string): string;
}

/**
 * Checks the route (tokens skipped), grants `grantee` `execute-api:Invoke` on its ARN only and
 * returns the record target. Fails, naming `scope`, the bad value and what is allowed.
 */
export function bindApiRoute(scope: IConstruct, api: ExecuteApiArnSource, route: ApiRoute, grantee: iam.IGrantable): ApiGatewayTarget {
  if (!Token.isUnresolved(route.stageName) && !Token.isUnresolved(route.method) && !Token.isUnresolved(route.path)) {
    const problem = executeApiRouteProblem(route);
    if (problem) fail(scope, `API Gateway destination: ${problem}`);
  }
  const arn = api.arnForExecuteApi(route.method, route.path, route.stageName);
  iam.Grant.addToPrincipal({ grantee, actions: ['execute-api:Invoke'], resourceArns: [arn] });
  return { type: 'apigateway', arn };
}
