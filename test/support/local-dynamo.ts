/** A real DynamoDB API on loopback for tests: dynalite, in memory, with gateway tables. */
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TABLE_PARTITION_KEY } from '../../lib/private/records';

interface DynaliteServer {
  listen(port: number, host: string, done: (err?: Error) => void): void;
  close(done: (err?: Error) => void): void;
  address(): AddressInfo;
}
// dynalite ships no type declarations.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite') as (options: Record<string, unknown>) => DynaliteServer;

/** A DynamoDB API on loopback with helpers to create gateway tables. */
export class LocalDynamo {
  public static async start(): Promise<LocalDynamo> {
    const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
    await new Promise<void>((resolve, reject) => server.listen(0, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
    return new LocalDynamo(server);
  }

  public readonly raw: DynamoDBClient;
  public readonly documents: DynamoDBDocumentClient;
  private tables = 0;

  private constructor(private readonly server: DynaliteServer) {
    this.raw = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${server.address().port}`,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    this.documents = DynamoDBDocumentClient.from(this.raw, { marshallOptions: { removeUndefinedValues: true } });
  }

  /** Creates a gateway table (partition key `pk`) with a fresh name. */
  public async createTable(prefix = 'gateway'): Promise<string> {
    const name = `${prefix}-${++this.tables}`;
    await this.raw.send(new CreateTableCommand({
      TableName: name,
      KeySchema: [{ AttributeName: TABLE_PARTITION_KEY, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: TABLE_PARTITION_KEY, AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }));
    return name;
  }

  public async stop(): Promise<void> {
    this.documents.destroy();
    this.raw.destroy();
    await new Promise<void>((resolve, reject) => this.server.close((err) => (err ? reject(err) : resolve())));
  }
}
