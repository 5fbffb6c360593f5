/** fauxqs (real SNS, SQS and S3 APIs, in memory) on loopback for tests, in a child process. */
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

export class LocalFauxqs {
  /** Starts fauxqs and resolves once it listens. */
  public static async start(): Promise<LocalFauxqs> {
    const child = spawn(process.execPath, [require.resolve('tsx/cli'), join(__dirname, 'fauxqs-process.ts')], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const url = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout! });
      lines.once('line', (line) => {
        try {
          resolve((JSON.parse(line) as { url: string }).url);
        } catch {
          reject(new Error(`fauxqs printed ${JSON.stringify(line)} instead of its URL`));
        }
      });
      child.once('exit', (code) => reject(new Error(`fauxqs exited with code ${code}: ${stderr}`)));
    });
    return new LocalFauxqs(child, url);
  }

  private constructor(private readonly child: ChildProcess, public readonly url: string) {}

  /** Client settings for an AWS SDK client of this server. */
  public clientConfig(): { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } } {
    return { endpoint: this.url, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
  }

  public async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin!.end();
    await exited;
  }
}
