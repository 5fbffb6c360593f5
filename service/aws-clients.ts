/**
 * Configuration shared by the AWS SDK clients on the data plane's per-packet paths (Lambda Invoke
 * and SQS SendMessageBatch of destinations, dead-letter records). The SDK resolves a command's
 * middleware stack on every request unless `cacheMiddleware` is set; the data plane never adds
 * per-request middleware, so the stack is resolved once per command class, which saves 0.1–0.25 ms
 * of CPU per request (docs/BENCHMARKS.md). Two caveats of the SDK's cache: a request sent with
 * per-call options (such as an abort signal) empties it, so the delivery queue's long polls use a
 * client without it; and the cached handler keeps the first command of each class reachable, so
 * one Invoke payload (at most the batch size, 1 MiB by default) stays in memory.
 */
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
