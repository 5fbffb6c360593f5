/**
 * The AWS API stand-ins of the fleet lab, in one process of their own (fauxqs is an ES module,
 * and the lab's users include Jest's CommonJS runtime):
 *   - DynamoDB: dynalite, in memory;
 *   - SNS + SQS: fauxqs;
 *   - Lambda Invoke: lambda-invoke-server.ts, running the echo function (`ECHO_FUNCTION`).
 *
 *   tsx scripts/fleet/api-servers.ts --host <address>
 *
 * Listens on `--host` only, on the fixed ports of {@link API_PORTS} (the address is the lab's own),
 * prints one JSON line `{"ready":{"dynamodb":url,"sns":url,"sqs":url,"lambda":url}}` on stdout,
 * and exits when stdin closes or on SIGTERM/SIGINT.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ECHO_FUNCTION, echoHandler } from './echo-handler';
import { startLambdaInvokeServer } from './lambda-invoke-server';

/** Ports of the API servers on the lab's API address. */
export const API_PORTS = { dynamodb: 8000, fauxqs: 4566, lambda: 9001 } as const;

interface DynaliteServer {
  listen(port: number, host: string, done: (err?: Error) => void): void;
  close(done: (err?: Error) => void): void;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { host: { type: 'string' } } });
  const host = values.host;
  if (!host) throw new Error('--host <address> is required');
  // dynalite ships no type declarations.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const dynalite = require('dynalite') as (options: Record<string, unknown>) => DynaliteServer;
  const dynamo = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => dynamo.listen(API_PORTS.dynamodb, host, (err) => (err ? reject(err) : resolve())));
  // buildApp, not startFauxqs: startFauxqs listens on every address. Its queue URLs name host
  // `sqs.<region>.localhost` unless the store's host is empty, and then the address the request
  // was sent to (reachable from the tasks): so the stores are made here, from fauxqs's own modules.
  const { buildApp } = await import('fauxqs');
  const dist = join(__dirname, '..', '..', 'node_modules', 'fauxqs', 'dist');
  const { SqsStore } = await import(pathToFileURL(join(dist, 'sqs', 'sqsStore.js')).href) as { SqsStore: new () => { host: string } };
  const { SnsStore } = await import(pathToFileURL(join(dist, 'sns', 'snsStore.js')).href) as { SnsStore: new () => object };
  const { S3Store } = await import(pathToFileURL(join(dist, 's3', 's3Store.js')).href) as { S3Store: new () => object };
  const sqsStore = new SqsStore();
  sqsStore.host = '';
  const stores = { sqsStore, snsStore: new SnsStore(), s3Store: new S3Store() } as unknown as NonNullable<Parameters<typeof buildApp>[0]>['stores'];
  const fauxqs = buildApp({ logger: false, defaultRegion: process.env.AWS_REGION ?? 'us-east-1', stores });
  await fauxqs.listen({ host, port: API_PORTS.fauxqs });
  const lambda = await startLambdaInvokeServer({ host, port: API_PORTS.lambda, functions: { [ECHO_FUNCTION]: echoHandler } });

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void Promise.allSettled([
      new Promise<void>((resolve) => dynamo.close(() => resolve())),
      fauxqs.close(),
      lambda.close(),
    ]).then(() => process.exit(0));
    setTimeout(() => process.exit(0), 2_000).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.stdin.on('end', stop);
  process.stdin.on('close', stop);
  process.stdin.resume();

  const fauxqsUrl = `http://${host}:${API_PORTS.fauxqs}`;
  process.stdout.write(`${JSON.stringify({
    ready: { dynamodb: `http://${host}:${API_PORTS.dynamodb}`, sns: fauxqsUrl, sqs: fauxqsUrl, lambda: lambda.url },
  })}\n`);
}

main().catch((err) => {
  process.stderr.write(`API servers could not start: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
