/**
 * `Destination.s3(bucket, options)`: the grants, target and `Arguments` of an S3 destination.
 * The fleet may put objects only under the key prefix; a bucket encrypted with a KMS key needs a
 * data key from it for each object.
 */
import { Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { IConstruct } from 'constructs';
import type { WriteOnlyTarget } from './destination-target';
import type { DestinationArgumentsRecord } from './records';
import { parseS3KeyFormat, S3_KEY_PREFIX } from './s3-object-key';
import { fail } from './validation';

/** Where an S3 destination writes (`S3DestinationOptions` of lib/destination.ts). */
export interface S3KeyOptions {
  readonly keyPrefix?: string;
  readonly keyFormat?: string;
}

/** Grants `grantee` what writing objects of `bucket` needs; the target for the Listener record. */
export function bindS3Destination(scope: IConstruct, bucket: s3.IBucket, options: S3KeyOptions, grantee: iam.IGrantable): WriteOnlyTarget {
  const prefix = options.keyPrefix ?? '';
  if (!Token.isUnresolved(prefix) && !S3_KEY_PREFIX.pattern.test(prefix)) {
    fail(scope, `keyPrefix ${JSON.stringify(prefix)} is not a key prefix (allowed: ${S3_KEY_PREFIX.allowed})`);
  }
  if (options.keyFormat !== undefined && !Token.isUnresolved(options.keyFormat)) {
    const parsed = parseS3KeyFormat(options.keyFormat);
    if ('problem' in parsed) fail(scope, `keyFormat ${JSON.stringify(options.keyFormat)} ${parsed.problem}`);
  }
  iam.Grant.addToPrincipalOrResource({ grantee, actions: ['s3:PutObject'], resourceArns: [bucket.arnForObjects(`${prefix}*`)], resource: bucket });
  bucket.encryptionKey?.grant(grantee, 'kms:GenerateDataKey');
  const args: DestinationArgumentsRecord = {
    ...(options.keyPrefix ? { KeyPrefix: options.keyPrefix } : {}),
    ...(options.keyFormat !== undefined ? { KeyFormat: options.keyFormat } : {}),
  };
  return { type: 's3', arn: bucket.bucketArn, ...(Object.keys(args).length > 0 ? { arguments: args } : {}) };
}
