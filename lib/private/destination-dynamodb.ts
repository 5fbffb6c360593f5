/**
 * `Destination.dynamoDb(table, options)`: the grants, target and `Arguments` of a DynamoDB
 * destination. Key attribute names come from the options, else from the schema of a table created
 * in this app (which must have a String partition key and a String sort key), else the defaults.
 */
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';
import type { WriteOnlyTarget } from './destination-target';
import type { DestinationArgumentsRecord } from './records';
import { DYNAMODB_DEFAULT_PARTITION_KEY, DYNAMODB_DEFAULT_SORT_KEY } from './validate-destination-arguments';
import { fail } from './validation';

/** KMS actions writing items of a table encrypted with a customer managed key needs (named one by one: no wildcard). */
const KEY_ACTIONS = ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey'];

/** The key names of a DynamoDB destination (`DynamoDbDestinationOptions` of lib/destination.ts). */
export interface DynamoDbKeyOptions {
  readonly partitionKeyAttribute?: string;
  readonly sortKeyAttribute?: string;
}

/** Grants `grantee` what writing items of `table` needs; the target for the Listener record. */
export function bindDynamoDbDestination(
  scope: IConstruct, table: dynamodb.ITable, options: DynamoDbKeyOptions, grantee: iam.IGrantable,
): WriteOnlyTarget {
  const schema = schemaOf(table);
  if (schema) {
    const problems: string[] = [];
    if (schema.partitionKey.type !== dynamodb.AttributeType.STRING) problems.push(`its partition key ${schema.partitionKey.name} is of type ${schema.partitionKey.type}`);
    if (!schema.sortKey) problems.push('it has no sort key');
    else if (schema.sortKey.type !== dynamodb.AttributeType.STRING) problems.push(`its sort key ${schema.sortKey.name} is of type ${schema.sortKey.type}`);
    if (problems.length > 0) {
      fail(scope, `Destination.dynamoDb: table ${table.node.path} cannot hold packets: ${problems.join(', ')} (allowed: a String partition key and a String sort key)`);
    }
    for (const [option, name, key] of [['partitionKeyAttribute', options.partitionKeyAttribute, schema.partitionKey.name], ['sortKeyAttribute', options.sortKeyAttribute, schema.sortKey?.name]] as const) {
      if (name !== undefined && name !== key) fail(scope, `Destination.dynamoDb: ${option} ${JSON.stringify(name)} is not a key of table ${table.node.path} (allowed: ${key})`);
    }
  }
  const partitionKey = options.partitionKeyAttribute ?? schema?.partitionKey.name ?? DYNAMODB_DEFAULT_PARTITION_KEY;
  const sortKey = options.sortKeyAttribute ?? schema?.sortKey?.name ?? DYNAMODB_DEFAULT_SORT_KEY;
  table.grant(grantee, 'dynamodb:BatchWriteItem');
  table.encryptionKey?.grant(grantee, ...KEY_ACTIONS);
  const args: DestinationArgumentsRecord = {
    ...(partitionKey !== DYNAMODB_DEFAULT_PARTITION_KEY ? { PartitionKeyAttribute: partitionKey } : {}),
    ...(sortKey !== DYNAMODB_DEFAULT_SORT_KEY ? { SortKeyAttribute: sortKey } : {}),
  };
  return { type: 'dynamodb', arn: table.tableArn, ...(Object.keys(args).length > 0 ? { arguments: args } : {}) };
}

/** The key schema of a table created in this app; undefined for an imported table. */
function schemaOf(table: dynamodb.ITable): dynamodb.SchemaOptions | undefined {
  if (table instanceof dynamodb.Table) return table.schema();
  return undefined;
}
