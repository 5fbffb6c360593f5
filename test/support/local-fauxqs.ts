/**
 * A real SQS, SNS and S3 API on loopback for tests: fauxqs, in a child process (it is an ES
 * module, which the tests' CommonJS runtime cannot import), on a free port. Clients reach it
 * through `endpoint`; S3 clients need `forcePathStyle` (no wildcard DNS for bucket hosts).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';

/**
 * buildApp with the store's host emptied (as scripts/fleet/api-servers.ts does): queue URLs then
 * name the address a request was sent to, `http://127.0.0.1:<port>/<account>/<queue>`, the URL
 * the gateway builds from a queue ARN on a configured endpoint.
 */
const SERVER = `
const { buildApp } = await import('fauxqs');
const dist = new URL('./node_modules/fauxqs/dist/', 'file://' + process.cwd() + '/');
const { SqsStore } = await import(new URL('sqs/sqsStore.js', dist).href);
const { SnsStore } = await import(new URL('sns/snsStore.js', dist).href);
const { S3Store } = await import(new URL('s3/s3Store.js', dist).href);
const sqsStore = new SqsStore();
sqsStore.host = '';
const app = buildApp({ logger: false, defaultRegion: 'us-east-1', stores: { sqsStore, snsStore: new SnsStore(), s3Store: new S3Store() } });
await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(JSON.stringify({ port: app.server.address().port }) + '\\n');
const stop = () => app.close().finally(() => process.exit(0));
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
`;

const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

/** fauxqs on loopback; {@link stop} ends the child process. */
export class LocalFauxqs {
  public static async start(): Promise<LocalFauxqs> {
    const child = spawn(process.execPath, ['--input-type=module', '-e', SERVER], { stdio: ['pipe', 'pipe', 'inherit'], cwd: join(__dirname, '..', '..') });
    const port = await new Promise<number>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
      child.once('exit', (code) => reject(new Error(`fauxqs exited (${code}) before it listened`)));
    });
    return new LocalFauxqs(child, port);
  }

  public readonly endpoint: string;
  public readonly sqs: SQSClient;
  public readonly s3: S3Client;

  private constructor(private readonly child: ChildProcess, public readonly port: number) {
    this.endpoint = `http://127.0.0.1:${port}`;
    this.sqs = this.sqsClient();
    this.s3 = this.s3Client();
  }

  /** The server's URL (same as {@link endpoint}). */
  public get url(): string {
    return this.endpoint;
  }

  /** Client settings for an AWS SDK client of this server. */
  public clientConfig(): { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } } {
    return { endpoint: this.endpoint, region: 'us-east-1', credentials: { ...CREDENTIALS } };
  }

  /** A new SQS client of this server (the caller destroys it). */
  public sqsClient(): SQSClient {
    return new SQSClient({ endpoint: this.endpoint, region: 'us-east-1', credentials: CREDENTIALS });
  }

  /** A new S3 client of this server, path-style (the caller destroys it). */
  public s3Client(): S3Client {
    return new S3Client({ endpoint: this.endpoint, region: 'us-east-1', credentials: CREDENTIALS, forcePathStyle: true });
  }

  public async stop(): Promise<void> {
    this.sqs.destroy();
    this.s3.destroy();
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(timer);
  }
}
