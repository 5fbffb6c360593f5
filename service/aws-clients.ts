/**
 * The data plane's AWS SDK clients: the configuration of those on per-packet paths, and the SQS
 * endpoint a client resolved (so queue URLs built from ARNs follow the SDK's endpoint
 * configuration).
 *
 * Configuration shared by the AWS SDK clients on the data plane's per-packet paths (Lambda Invoke
 * and SQS SendMessageBatch of destinations, dead-letter records). The SDK resolves a command's
 * middleware stack on every request unless `cacheMiddleware` is set; the data plane never adds
 * per-request middleware, so the stack is resolved once per command class, which saves 0.1–0.25 ms
 * of CPU per request (docs/BENCHMARKS.md). Two caveats of the SDK's cache: a request sent with
 * per-call options (such as an abort signal) empties it, so the delivery queue's long polls use a
 * client without it; and the cached handler keeps the first command of each class reachable, so
 * one Invoke payload (at most the batch size, 1 MiB by default) stays in memory.
 */
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { getEndpointFromInstructions } from '@smithy/core/endpoints';

export interface HotPathClientConfig {
  readonly region: string;
  readonly cacheMiddleware: true;
}

/** Client settings for `region`. */
export function hotPathClientConfig(region: string): HotPathClientConfig {
  return { region, cacheMiddleware: true };
}

/**
 * SQS endpoints configured for the data plane's SDK clients (`AWS_ENDPOINT_URL_SQS`, else
 * `AWS_ENDPOINT_URL`): in tests and labs a destination's `QueueUrl` may name them as well as AWS's.
 */
export function configuredQueueEndpoints(env: NodeJS.ProcessEnv): string[] {
  const endpoint = env.AWS_ENDPOINT_URL_SQS || env.AWS_ENDPOINT_URL;
  return endpoint ? [endpoint] : [];
}

/**
 * The SQS endpoint `client` sends requests to, as the SDK resolves it: an `endpoint` given to the
 * client, `AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL` and the shared config file's `endpoint_url`,
 * FIPS and dual-stack settings, and otherwise the region's public endpoint. Queue URLs built from
 * an ARN must use it: the SDK sends each request to the host of its QueueUrl.
 * @throws the SDK's EndpointError for an impossible combination (FIPS with a custom endpoint).
 */
export async function sqsEndpointUrl(client: SQSClient): Promise<string> {
  const endpoint = await getEndpointFromInstructions({}, SendMessageBatchCommand, client.config);
  return endpoint.url.href;
}

/**
 * Settings of the S3 destinations' client: requests follow a bucket to its region, and on a
 * configured endpoint (`AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL`: local API servers in tests and
 * labs, which have no DNS name per bucket) buckets are addressed path-style.
 */
export interface S3ClientConfig extends HotPathClientConfig {
  readonly followRegionRedirects: true;
  readonly forcePathStyle: boolean;
}

/** S3 client settings for `region` (see above). */
export function s3ClientConfig(region: string, env: NodeJS.ProcessEnv): S3ClientConfig {
  return { ...hotPathClientConfig(region), followRegionRedirects: true, forcePathStyle: Boolean(env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL) };
}

/**
 * DynamoDB client settings for `region`: the hot path's without `cacheMiddleware`, which the
 * document client that DynamoDB destinations write through refuses (it adds its own middleware to
 * every command).
 */
export function dynamoDbClientConfig(region: string): Omit<HotPathClientConfig, 'cacheMiddleware'> {
  return { region };
}

/** Settings of the Step Functions client of destinations ({@link stepFunctionsClientConfig}). */
export interface StepFunctionsClientConfig extends HotPathClientConfig {
  readonly disableHostPrefix?: true;
}

/**
 * Settings of the Step Functions client of destinations for `region`. The SDK sends
 * StartSyncExecution to the `sync-` prefixed host (`sync-states.<region>.amazonaws.com`). An
 * endpoint configured for Step Functions (`AWS_ENDPOINT_URL_SFN`, else `AWS_ENDPOINT_URL`: a local
 * Step Functions in tests and labs) serves every operation on its own host, where `sync-<host>`
 * would not resolve: with one, the prefix is turned off.
 */
export function stepFunctionsClientConfig(region: string, env: NodeJS.ProcessEnv): StepFunctionsClientConfig {
  const configured = env.AWS_ENDPOINT_URL_SFN || env.AWS_ENDPOINT_URL;
  return configured ? { ...hotPathClientConfig(region), disableHostPrefix: true } : hotPathClientConfig(region);
}

/**
 * The origin API Gateway destinations send to instead of each API's execute-api host:
 * `AWS_ENDPOINT_URL_EXECUTE_API` (tests and labs; `AWS_ENDPOINT_URL` is not used, since a local
 * AWS API server does not serve stage routes at the same paths). Undefined when not set.
 */
export function configuredApiGatewayEndpoint(env: NodeJS.ProcessEnv): string | undefined {
  return env.AWS_ENDPOINT_URL_EXECUTE_API || undefined;
}
