/**
 * The set-up the registration function's tests share: one DynamoDB API (dynalite on loopback) per
 * test file, a fresh configuration table and a registration context over it per test, and
 * consistent reads of the items the function stored. Registers its jest hooks when called, so call
 * it at the top of a test file, before hooks that use the table.
 */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { LocalDynamo } from './local-dynamo';
import { TABLE_PARTITION_KEY } from '../../lib/private/records';

/** What a registration test works with; the fields are this test's once its `beforeEach` has run. */
export interface RegistrationTables<C> {
  /** The DynamoDB API of this test file. */
  readonly dynamo: LocalDynamo;
  /** This test's configuration table. */
  readonly table: string;
  /** This test's registration context, over {@link table}; a test may replace it (with a context over more tables). */
  ctx: C;
  /** The item stored under `key` (`LISTENER#<name>`, `SOURCE#<topic ARN>`) in `tableName`, read consistently; undefined when there is none. */
  item(key: string, tableName?: string): Promise<Record<string, any> | undefined>;
}

/** Registers the hooks (dynalite per file, a table and `contextFor` it per test) and returns what they set up. */
export function registrationTables<C>(contextFor: (dynamo: LocalDynamo, table: string) => C): RegistrationTables<C> {
  let dynamo: LocalDynamo | undefined;
  let table: string | undefined;
  let ctx: C | undefined;
  const started = (): LocalDynamo => {
    if (!dynamo) throw new Error('the DynamoDB API is not started: use the registration tables inside a test or a hook');
    return dynamo;
  };
  const current = (): string => {
    if (table === undefined) throw new Error('no table yet: use the registration tables inside a test or a beforeEach hook declared after them');
    return table;
  };

  beforeAll(async () => {
    dynamo = await LocalDynamo.start();
  });
  afterAll(async () => {
    await dynamo?.stop();
  });
  beforeEach(async () => {
    table = await started().createTable();
    ctx = contextFor(started(), table);
  });

  return {
    get dynamo() {
      return started();
    },
    get table() {
      return current();
    },
    get ctx() {
      current();
      return ctx as C;
    },
    set ctx(value: C) {
      ctx = value;
    },
    async item(key, tableName = current()) {
      const out = await started().documents.send(new GetCommand({ TableName: tableName, Key: { [TABLE_PARTITION_KEY]: key }, ConsistentRead: true }));
      return out.Item;
    },
  };
}
