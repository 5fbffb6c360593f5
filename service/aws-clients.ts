/**
 * Configuration shared by the AWS SDK clients on the data plane's per-packet paths (Lambda Invoke,
 * SQS SendMessageBatch, ReceiveMessage, DeleteMessageBatch). The SDK resolves a command's
 * middleware stack on every request unless `cacheMiddleware` is set; the data plane never adds
 * per-request middleware, so the stack is resolved once per command class, which saves a few
 * hundred microseconds of CPU per request (docs/BENCHMARKS.md).
 */
export interface HotPathClientConfig {
  readonly region: string;
  readonly cacheMiddleware: true;
}

/** Client settings for `region`. */
export function hotPathClientConfig(region: string): HotPathClientConfig {
  return { region, cacheMiddleware: true };
}
