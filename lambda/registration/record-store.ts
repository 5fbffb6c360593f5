/**
 * Items of the gateway's configuration table (layout in lib/private/records.ts). Every write is
 * conditional on the version it read, so two registrations never overwrite each other blindly:
 * a lost race re-reads and re-decides.
 */
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, GetCommandOutput, PutCommand, PutCommandInput, ScanCommand, ScanCommandOutput } from '@aws-sdk/lib-dynamodb';
import { awsErrorName, RegistrationError } from './errors';
import {
  KIND_ATTRIBUTE,
  OWNER_ATTRIBUTE,
  PENDING_SINCE_ATTRIBUTE,
  PREVIOUS_ATTRIBUTE,
  RECORD_ATTRIBUTE,
  TABLE_PARTITION_KEY,
  VERSION_ATTRIBUTE,
} from '../../lib/private/records';

/** The custom resource that wrote an item. */
export interface Owner {
  readonly StackId: string;
  readonly LogicalResourceId: string;
}

/** The state an item had before a resource of the same stack took it over. */
export interface PreviousState<R> {
  readonly record: R;
  readonly owner: Owner;
}

/** One item of the table. */
export interface StoredItem<R> {
  readonly kind: string;
  readonly record: R;
  readonly owner: Owner;
  readonly previous?: PreviousState<R>;
  readonly version: number;
  readonly pendingSince?: number;
}

/** The new content of an item (its version is managed by the store). */
export interface ItemContent<R> {
  readonly record: R;
  readonly owner: Owner;
  readonly previous?: PreviousState<R>;
  readonly pendingSince?: number;
}

/** What a mutation decides: write this content, delete the item, or leave it. */
export type Mutation<R> = { readonly put: ItemContent<R> } | { readonly delete: true } | { readonly keep: true };

/** A table in a region. */
export interface TableRef {
  readonly Region: string;
  readonly TableName: string;
}

const MAX_ATTEMPTS = 5;

/** A gateway table that does not exist (DynamoDB's ResourceNotFoundException): its gateway's stack was deleted, or never deployed. */
export class TableNotFoundError extends RegistrationError {
  constructor(public readonly table: TableRef) {
    super(`Table ${table.TableName} of the gateway in ${table.Region} does not exist (ResourceNotFoundException): `
      + 'deploy that gateway, or remove its region from the peers of this gateway.');
    this.name = 'TableNotFoundError';
  }
}

/** Reads and writes items of one or more gateway tables (one per region). */
export class RecordStore {
  /**
   * `onMissingTable`: when given, a table that does not exist reads as empty (get: undefined,
   * list: none, mutate: nothing written, `decide` not called) after `onMissingTable` is told;
   * else every call on it throws a {@link TableNotFoundError}.
   */
  constructor(
    private readonly clientFor: (region: string) => DynamoDBDocumentClient,
    private readonly onMissingTable?: (table: TableRef) => void,
  ) {}

  /**
   * The same tables, where a table that no longer exists reads as empty and takes no writes
   * (`onMissingTable` is told each time): for deletions, whose records went with their table.
   */
  public missingTablesAsEmpty(onMissingTable: (table: TableRef) => void): RecordStore {
    return new RecordStore(this.clientFor, onMissingTable);
  }

  /** The item with partition key `pk`, read consistently; undefined when absent. */
  public async get<R>(table: TableRef, pk: string): Promise<StoredItem<R> | undefined> {
    try {
      return await this.read<R>(table, pk);
    } catch (err) {
      if (this.readsAsEmpty(err, table)) return undefined;
      throw err;
    }
  }

  private async read<R>(table: TableRef, pk: string): Promise<StoredItem<R> | undefined> {
    const out = await this.send<GetCommandOutput>(table, new GetCommand({
      TableName: table.TableName,
      Key: { [TABLE_PARTITION_KEY]: pk },
      ConsistentRead: true,
    }));
    return out.Item ? storedItem<R>(out.Item) : undefined;
  }

  /** True when `err` says `table` does not exist and this store reads such tables as empty (`onMissingTable` is told). */
  private readsAsEmpty(err: unknown, table: TableRef): boolean {
    if (!(err instanceof TableNotFoundError) || !this.onMissingTable) return false;
    this.onMissingTable(table);
    return true;
  }

  /** Sends `command` to `table`'s region; a table that does not exist throws a {@link TableNotFoundError}. */
  private async send<O>(table: TableRef, command: { readonly input: unknown }): Promise<O> {
    try {
      return await this.clientFor(table.Region).send(command as never) as O;
    } catch (err) {
      if (awsErrorName(err) === 'ResourceNotFoundException') throw new TableNotFoundError(table);
      throw err;
    }
  }

  /** Every item of `kind`, read consistently (a scan: the table holds the configuration of one gateway). */
  public async list<R>(table: TableRef, kind: string): Promise<Array<StoredItem<R>>> {
    const items: Array<StoredItem<R>> = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      let out: ScanCommandOutput;
      try {
        out = await this.send<ScanCommandOutput>(table, new ScanCommand({
          TableName: table.TableName,
          ConsistentRead: true,
          FilterExpression: '#kind = :kind',
          ExpressionAttributeNames: { '#kind': KIND_ATTRIBUTE },
          ExpressionAttributeValues: { ':kind': kind },
          ExclusiveStartKey: startKey,
        }));
      } catch (err) {
        if (this.readsAsEmpty(err, table)) return [];
        throw err;
      }
      for (const item of out.Items ?? []) items.push(storedItem<R>(item));
      startKey = out.LastEvaluatedKey;
    } while (startKey);
    return items;
  }

  /**
   * Reads the item, lets `decide` choose what to do, and applies it on condition that nobody
   * changed the item meanwhile; re-reads and decides again when somebody did. `decide` may throw
   * to refuse. Resolves with the item as written (undefined when deleted or absent).
   */
  public async mutate<R>(
    table: TableRef, pk: string, kind: string, decide: (current: StoredItem<R> | undefined) => Mutation<R>,
  ): Promise<StoredItem<R> | undefined> {
    for (let attempt = 1; ; attempt++) {
      let current: StoredItem<R> | undefined;
      try {
        current = await this.read<R>(table, pk);
      } catch (err) {
        if (this.readsAsEmpty(err, table)) return undefined;
        throw err;
      }
      const decision = decide(current);
      if ('keep' in decision) return current;
      const condition: Pick<PutCommandInput, 'ConditionExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'> = current
        ? { ConditionExpression: '#version = :version', ExpressionAttributeNames: { '#version': VERSION_ATTRIBUTE }, ExpressionAttributeValues: { ':version': current.version } }
        : { ConditionExpression: 'attribute_not_exists(#pk)', ExpressionAttributeNames: { '#pk': TABLE_PARTITION_KEY } };
      try {
        if ('delete' in decision) {
          if (!current) return undefined;
          await this.send(table, new DeleteCommand({ TableName: table.TableName, Key: { [TABLE_PARTITION_KEY]: pk }, ...condition }));
          return undefined;
        }
        const content = decision.put;
        const written: StoredItem<R> = { kind, ...content, version: (current?.version ?? 0) + 1 };
        await this.send(table, new PutCommand({
          TableName: table.TableName,
          Item: {
            [TABLE_PARTITION_KEY]: pk,
            [KIND_ATTRIBUTE]: kind,
            [RECORD_ATTRIBUTE]: content.record,
            [OWNER_ATTRIBUTE]: content.owner,
            ...(content.previous ? { [PREVIOUS_ATTRIBUTE]: content.previous } : {}),
            ...(content.pendingSince !== undefined ? { [PENDING_SINCE_ATTRIBUTE]: content.pendingSince } : {}),
            [VERSION_ATTRIBUTE]: written.version,
          },
          ...condition,
        }));
        return written;
      } catch (err) {
        if (this.readsAsEmpty(err, table)) return undefined;
        if (awsErrorName(err) !== 'ConditionalCheckFailedException') throw err;
        if (attempt >= MAX_ATTEMPTS) {
          throw new RegistrationError(`Item ${pk} of table ${table.TableName} (${table.Region}) kept changing during ${MAX_ATTEMPTS} attempts; another deployment is writing it. Retry once it has finished.`);
        }
      }
    }
  }
}

/** A table item as the store hands it out. */
function storedItem<R>(item: Record<string, any>): StoredItem<R> {
  return {
    kind: String(item[KIND_ATTRIBUTE] ?? ''),
    record: item[RECORD_ATTRIBUTE] as R,
    owner: (item[OWNER_ATTRIBUTE] ?? { StackId: '', LogicalResourceId: '' }) as Owner,
    ...(item[PREVIOUS_ATTRIBUTE] ? { previous: item[PREVIOUS_ATTRIBUTE] as PreviousState<R> } : {}),
    version: typeof item[VERSION_ATTRIBUTE] === 'number' ? item[VERSION_ATTRIBUTE] : 0,
    ...(typeof item[PENDING_SINCE_ATTRIBUTE] === 'number' ? { pendingSince: item[PENDING_SINCE_ATTRIBUTE] } : {}),
  };
}
