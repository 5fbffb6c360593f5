/**
 * fauxqs (SNS, SQS and S3 APIs, in memory) on 127.0.0.1 and a port the system picks, in a process
 * of its own: fauxqs is an ES module and Jest's runtime is CommonJS. Started by local-fauxqs.ts;
 * prints one JSON line `{"url":…}` when ready and exits when stdin closes.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

async function main(): Promise<void> {
  const { buildApp } = await import('fauxqs');
  // With an empty host, queue URLs name the address the request was sent to (127.0.0.1:<port>).
  const dist = join(__dirname, '..', '..', 'node_modules', 'fauxqs', 'dist');
  const { SqsStore } = await import(pathToFileURL(join(dist, 'sqs', 'sqsStore.js')).href) as { SqsStore: new () => { host: string } };
  const { SnsStore } = await import(pathToFileURL(join(dist, 'sns', 'snsStore.js')).href) as { SnsStore: new () => object };
  const { S3Store } = await import(pathToFileURL(join(dist, 's3', 's3Store.js')).href) as { S3Store: new () => object };
  const sqsStore = new SqsStore();
  sqsStore.host = '';
  const stores = { sqsStore, snsStore: new SnsStore(), s3Store: new S3Store() } as unknown as NonNullable<Parameters<typeof buildApp>[0]>['stores'];
  const app = buildApp({ logger: false, defaultRegion: 'us-east-1', stores });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const stop = (): void => {
    void app.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 2_000).unref();
  };
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.on('SIGTERM', stop);
  process.stdin.resume();
  process.stdout.write(`${JSON.stringify({ url })}\n`);
}

main().catch((err) => {
  process.stderr.write(`fauxqs could not start: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
