/**
 * Amazon Resource Names: splitting, the patterns of the resources the gateway references (with
 * the "allowed" text of their error messages), and the SQS queue URL of a queue ARN. Used by the
 * constructs, the registration function and the data plane. Pure: no CDK import.
 */
import type { TextPattern } from './limits';

/** The fields of an ARN `arn:<partition>:<service>:<region>:<account>:<resource>`. */
export interface ParsedArn {
  readonly partition: string;
  readonly service: string;
  /** Empty for global services (IAM). */
  readonly region: string;
  /** Empty for some resources (S3 buckets). */
  readonly account: string;
  /** Everything after the fifth colon, colons included. */
  readonly resource: string;
}

/**
 * The pattern of one kind of resource's ARN (partition, region, account and resource shape), with
 * the service and resource-type prefix that name the kind in messages.
 */
export interface ArnPattern extends TextPattern {
  /** The ARN's service field, e.g. `sqs`. */
  readonly service: string;
  /** How the resource part starts for this kind, e.g. `role/`. @default - any resource of the service */
  readonly resourcePrefix?: string;
}

const PARTITION = /^aws[a-z-]*$/;
const SERVICE = /^[a-z0-9-]+$/;

/** Splits an ARN; undefined when `value` is not one (no `arn:` prefix, fewer than six fields, bad partition or service). */
export function parseArn(value: string): ParsedArn | undefined {
  if (typeof value !== 'string' || !value.startsWith('arn:')) return undefined;
  const parts = value.split(':');
  if (parts.length < 6 || !PARTITION.test(parts[1]) || !SERVICE.test(parts[2])) return undefined;
  return { partition: parts[1], service: parts[2], region: parts[3], account: parts[4], resource: parts.slice(5).join(':') };
}

/** A Lambda function: ARN (optionally qualified), name, or `name:alias`. */
export const LAMBDA_FUNCTION: TextPattern = {
  pattern: /^(arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:)?[A-Za-z0-9_-]{1,64}(:(\$LATEST|[A-Za-z0-9_-]{1,128}))?$/,
  allowed: 'a function ARN, name, or name:alias',
};

/** A Lambda function ARN (optionally qualified), not a bare name: what a region map holds. */
export const LAMBDA_FUNCTION_ARN: TextPattern = {
  pattern: /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]{1,64}(:(\$LATEST|[A-Za-z0-9_-]{1,128}))?$/,
  allowed: 'arn:<partition>:lambda:<region>:<account>:function:<name>[:<qualifier>]',
};

/** An SQS queue ARN. */
export const SQS_QUEUE_ARN: ArnPattern = {
  pattern: /^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,80}(\.fifo)?$/,
  allowed: 'arn:<partition>:sqs:<region>:<account>:<queue>',
  service: 'sqs',
};

/** An SNS topic ARN. */
export const SNS_TOPIC_ARN: TextPattern = {
  pattern: /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/,
  allowed: 'arn:<partition>:sns:<region>:<account>:<topic>',
};

/** A Kinesis data stream ARN. */
export const KINESIS_STREAM_ARN: TextPattern = {
  pattern: /^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\d{12}:stream\/[A-Za-z0-9_.-]{1,128}$/,
  allowed: 'arn:<partition>:kinesis:<region>:<account>:stream/<name>',
};

/** A Firehose delivery stream ARN. */
export const FIREHOSE_DELIVERY_STREAM_ARN: TextPattern = {
  pattern: /^arn:aws[a-z-]*:firehose:[a-z0-9-]+:\d{12}:deliverystream\/[A-Za-z0-9_.-]{1,64}$/,
  allowed: 'arn:<partition>:firehose:<region>:<account>:deliverystream/<name>',
};

/** An EventBridge event bus ARN (partner buses have `/` in their names). */
export const EVENT_BUS_ARN: TextPattern = {
  pattern: /^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus\/[A-Za-z0-9/._-]{1,256}$/,
  allowed: 'arn:<partition>:events:<region>:<account>:event-bus/<name>',
};

/** Name of the resource an ARN of the form `…:<type>/<name>` names (stream, delivery stream, event bus); undefined when it has no `/`. */
export function resourceNameOfArn(arn: string): string | undefined {
  const resource = parseArn(arn)?.resource;
  const slash = resource?.indexOf('/') ?? -1;
  return resource !== undefined && slash >= 0 ? resource.slice(slash + 1) : undefined;
}

/** A CloudWatch Logs log group ARN (with or without the trailing `:*`). */
export const LOG_GROUP_ARN: TextPattern = {
  pattern: /^arn:aws[a-z-]*:logs:[a-z0-9-]+:\d{12}:log-group:[A-Za-z0-9._/#-]{1,512}(:\*)?$/,
  allowed: 'arn:<partition>:logs:<region>:<account>:log-group:<name>',
};

/** A Secrets Manager secret ARN. */
export const SECRET_ARN: TextPattern = {
  pattern: /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}$/,
  allowed: 'arn:<partition>:secretsmanager:<region>:<account>:secret:<name>',
};

/** An IAM role ARN. */
export const IAM_ROLE_ARN: ArnPattern = {
  pattern: /^arn:aws[a-z-]*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]{1,512}$/,
  allowed: 'arn:<partition>:iam::<account>:role/<name>',
  service: 'iam',
  resourcePrefix: 'role/',
};

/**
 * A Network Load Balancer ARN: a name of 1–32 letters, digits and hyphens (no hyphen first or
 * last) and the 16-hex-digit id Elastic Load Balancing assigns.
 */
export const NETWORK_LOAD_BALANCER_ARN: ArnPattern = {
  pattern: /^arn:aws[a-z-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:loadbalancer\/net\/(?!-)[A-Za-z0-9-]{1,32}(?<!-)\/[0-9a-f]{16}$/,
  allowed: 'arn:<partition>:elasticloadbalancing:<region>:<account>:loadbalancer/net/<name>/<16 hex digits id>',
  service: 'elasticloadbalancing',
  resourcePrefix: 'loadbalancer/net/',
};

/** Region and account of a CloudFormation stack, from its id (`arn:…:cloudformation:<region>:<account>:stack/<name>/<id>`). */
export function stackEnvironment(stackId: string): { readonly region: string; readonly account: string } {
  const arn = parseArn(stackId);
  if (!arn || arn.service !== 'cloudformation') {
    throw new Error(`StackId ${JSON.stringify(stackId)} is not a CloudFormation stack ARN (allowed: arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<id>)`);
  }
  return { region: arn.region, account: arn.account };
}

/** Where an SQS queue is reached: the queue URL and the region to sign requests for. */
export interface QueueLocation {
  readonly region: string;
  readonly queueUrl: string;
}

/**
 * Locates an SQS queue from its ARN: `arn:aws:sqs:eu-west-1:123456789012:dlq` →
 * `https://sqs.eu-west-1.amazonaws.com/123456789012/dlq` in `eu-west-1`, honouring the DNS suffix
 * of the partition. With `endpoint` (the SQS endpoint the SDK resolved for the queue's region:
 * `AWS_ENDPOINT_URL_SQS`, FIPS, a VPC endpoint, a local API server), the URL is on that endpoint
 * instead: the SDK sends a request to the host of its QueueUrl, so a URL on the public host would
 * bypass the configured endpoint.
 * @throws Error naming the value and what is allowed when it is not an SQS queue ARN.
 */
export function queueLocationFromArn(queueArn: string, endpoint?: string): QueueLocation {
  if (typeof queueArn !== 'string' || !SQS_QUEUE_ARN.pattern.test(queueArn)) {
    throw new Error(`${JSON.stringify(queueArn)} is not an SQS queue ARN (allowed: ${SQS_QUEUE_ARN.allowed})`);
  }
  const [, partition, , region, account, name] = queueArn.split(':');
  if (endpoint !== undefined) return { region, queueUrl: `${endpoint.replace(/\/+$/, '')}/${account}/${name}` };
  const suffix = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return { region, queueUrl: `https://sqs.${region}.${suffix}/${account}/${name}` };
}

/** The queue an SQS queue URL names: the region of its endpoint, the account and the queue name. */
export interface QueueOfUrl {
  readonly region: string;
  readonly account: string;
  readonly name: string;
  /** The URL's host: an AWS endpoint (`sqs.<region>.amazonaws.com`…) or, when allowed, a configured one. */
  readonly host: string;
}

/** What a queue URL may look like, for error messages. */
export const SQS_QUEUE_URL_ALLOWED = 'https://sqs.<region>.amazonaws.com/<account>/<queue>, '
  + 'https://<region>.queue.amazonaws.com/<account>/<queue>, or the same on amazonaws.com.cn in China';

const AWS_SQS_HOST = /^(?:sqs\.([a-z0-9-]+)|([a-z0-9-]+)\.queue)\.amazonaws\.com(\.cn)?$/;
const QUEUE_PATH = /^\/(\d{12})\/([A-Za-z0-9_-]{1,80}(?:\.fifo)?)$/;

/** The region whose SQS endpoint `host` is (`sqs.<region>.amazonaws.com`, legacy `<region>.queue.amazonaws.com`, `.com.cn`); undefined for any other host. */
export function awsSqsEndpointRegion(host: string): { readonly region: string; readonly china: boolean } | undefined {
  const m = AWS_SQS_HOST.exec(host.toLowerCase());
  if (!m) return undefined;
  const region = m[1] ?? m[2];
  const china = m[3] !== undefined;
  // amazonaws.com.cn serves the China regions only, and only those.
  if (china !== region.startsWith('cn-')) return undefined;
  return { region, china };
}

/**
 * The queue an SQS queue URL names. Accepted: `https://` on the SQS endpoint of a region
 * ({@link awsSqsEndpointRegion}), or on one of `endpoints` (origins such as
 * `http://127.0.0.1:9324`, the data plane's configured SDK endpoint in tests and labs), with the
 * path `/<account>/<queue>`. Undefined for anything else: a queue URL is where the SDK sends the
 * request, signed with the sender's credentials, so it must never name another host.
 */
export function queueOfUrl(queueUrl: string, endpoints: readonly string[] = []): QueueOfUrl | undefined {
  if (typeof queueUrl !== 'string') return undefined;
  let url: URL;
  try {
    url = new URL(queueUrl);
  } catch {
    return undefined;
  }
  if (url.username || url.password || url.search || url.hash) return undefined;
  const path = QUEUE_PATH.exec(url.pathname);
  if (!path) return undefined;
  const [, account, name] = path;
  const aws = url.protocol === 'https:' && url.port === '' ? awsSqsEndpointRegion(url.hostname) : undefined;
  if (aws) return { region: aws.region, account, name, host: url.hostname };
  for (const endpoint of endpoints) {
    let origin: string;
    try {
      origin = new URL(endpoint).origin;
    } catch {
      continue;
    }
    if (origin === url.origin) return { region: '', account, name, host: url.host };
  }
  return undefined;
}

/**
 * Why `queueUrl` is not the URL of `queueArn`'s queue (region of its endpoint, account, name), or
 * undefined when it is. A URL on a configured endpoint (`endpoints`) has no region to compare.
 */
export function queueUrlMismatch(queueUrl: string, queueArn: string, endpoints: readonly string[] = []): string | undefined {
  const queue = queueOfUrl(queueUrl, endpoints);
  if (!queue) return `is not the URL of an SQS queue on its regional endpoint (allowed: ${SQS_QUEUE_URL_ALLOWED})`;
  const arn = parseArn(queueArn);
  if (!arn || !SQS_QUEUE_ARN.pattern.test(queueArn)) return undefined; // the ARN's own error is reported
  const china = arn.partition === 'aws-cn';
  const sameRegion = queue.region === '' || (queue.region === arn.region && queue.host.endsWith('.cn') === china);
  if (!sameRegion || queue.account !== arn.account || queue.name !== arn.resource) {
    return `does not name the queue of Arn ${queueArn} (allowed: ${queueLocationFromArn(queueArn).queueUrl}, or leave QueueUrl out)`;
  }
  return undefined;
}

/** Where a CloudWatch Logs log group is: its region, account and name. */
export interface LogGroupLocation {
  readonly region: string;
  readonly account: string;
  readonly name: string;
}

/** Locates a log group from its ARN (with or without the trailing `:*`); undefined when `logGroupArn` is not one. */
export function logGroupLocationFromArn(logGroupArn: string): LogGroupLocation | undefined {
  if (typeof logGroupArn !== 'string' || !LOG_GROUP_ARN.pattern.test(logGroupArn)) return undefined;
  const [, , , region, account, , name] = logGroupArn.split(':');
  return { region, account, name };
}

/** Region of an SNS topic ARN; undefined when `topicArn` is not one. */
export function topicRegion(topicArn: string): string | undefined {
  return typeof topicArn === 'string' && SNS_TOPIC_ARN.pattern.test(topicArn) ? topicArn.split(':')[3] : undefined;
}

/** True when `arn` names an SNS FIFO topic or an SQS FIFO queue (the name ends in `.fifo`). */
export function isFifoArn(arn: string): boolean {
  return parseArn(arn)?.resource.endsWith('.fifo') ?? false;
}

/** What a PacketSource's dead-letter queue may be. */
export const DEAD_LETTER_QUEUE_ALLOWED = 'a standard queue: SNS moves a standard topic\'s undeliverable messages only to a standard queue, and failure records carry no message group';

/**
 * Why the SQS queue `queueArn` cannot be a PacketSource's dead-letter queue, or undefined. Every
 * PacketSource topic is a standard topic (FIFO topics are refused: the delivery queue is a
 * standard queue), whose subscriptions take only a standard dead-letter queue; and the gateway's
 * failure records carry no message group, which a FIFO queue requires of every message.
 */
export function deadLetterQueueProblem(queueArn: string): string | undefined {
  return isFifoArn(queueArn) ? 'is a FIFO queue' : undefined;
}

// ---- write-only destinations: S3 buckets and DynamoDB tables --------------------------------------

/** An S3 bucket ARN (general purpose bucket names: 3–63 of a-z 0-9 . -, starting and ending with a letter or digit). */
export const S3_BUCKET_ARN: TextPattern = {
  pattern: /^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/,
  allowed: 'arn:<partition>:s3:::<bucket>',
};

/** A DynamoDB table ARN. */
export const DYNAMODB_TABLE_ARN: TextPattern = {
  pattern: /^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table\/[A-Za-z0-9_.-]{3,255}$/,
  allowed: 'arn:<partition>:dynamodb:<region>:<account>:table/<name>',
};

/** The bucket an S3 bucket ARN names; undefined when `bucketArn` is not one. */
export function bucketNameFromArn(bucketArn: string): string | undefined {
  return typeof bucketArn === 'string' && S3_BUCKET_ARN.pattern.test(bucketArn) ? bucketArn.slice(bucketArn.lastIndexOf(':') + 1) : undefined;
}

/** Where a DynamoDB table is: its region, account and name. */
export interface TableLocation {
  readonly region: string;
  readonly account: string;
  readonly name: string;
}

/** Locates a DynamoDB table from its ARN; undefined when `tableArn` is not one. */
export function tableLocationFromArn(tableArn: string): TableLocation | undefined {
  if (typeof tableArn !== 'string' || !DYNAMODB_TABLE_ARN.pattern.test(tableArn)) return undefined;
  const [, , , region, account, resource] = tableArn.split(':');
  return { region, account, name: resource.slice('table/'.length) };
}

/** The ARN of log group `name` (a destination's `LogGroupName`) in `account` and `region`. */
export function logGroupArnOf(partition: string, region: string, account: string, name: string): string {
  return `arn:${partition}:logs:${region}:${account}:log-group:${name}`;
}

/** A Step Functions state machine ARN, optionally qualified with a version number or an alias name. */
export const STATE_MACHINE_ARN: TextPattern = {
  pattern: /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}(:[A-Za-z0-9_-]{1,80})?$/,
  allowed: 'arn:<partition>:states:<region>:<account>:stateMachine:<name>, optionally followed by :<version> or :<alias>',
};

/**
 * The state machine of a (possibly qualified) state machine ARN: the ARN without its version or
 * alias. DescribeStateMachine takes this one (an alias ARN is not a state machine ARN to it); the
 * workflow type is the same for every version. Undefined when `arn` is not a state machine ARN.
 */
export function unqualifiedStateMachineArn(arn: string): string | undefined {
  if (typeof arn !== 'string' || !STATE_MACHINE_ARN.pattern.test(arn)) return undefined;
  return arn.split(':').slice(0, 7).join(':');
}

/** A segment of an API Gateway resource path (URL path characters; no wildcard). */
const API_PATH_SEGMENT = "[A-Za-z0-9._~!$&'()+,;=:@%-]+";
/** The resource path of an execute-api route: `/`, or `/` and segments. */
const API_PATH = `/(${API_PATH_SEGMENT}(/${API_PATH_SEGMENT})*)?`;
/** A stage name, or the HTTP API stage `$default`. */
const API_STAGE = '(\\$default|[A-Za-z0-9_-]{1,128})';

/** Methods an execute-api destination may use: they carry a body. ANY (`*` in the ARN) is sent as POST. */
export const EXECUTE_API_METHODS = ['POST', 'PUT', 'PATCH', 'ANY'] as const;

/**
 * The execute-api ARN of one API Gateway stage, method and resource path (REST or HTTP API):
 * `arn:<partition>:execute-api:<region>:<account>:<api id>/<stage>/<method>/<path>`. The method
 * is POST, PUT, PATCH or `*` (a route of any method, sent as POST); the path has no wildcard,
 * since it is where the request goes.
 */
export const EXECUTE_API_ARN: TextPattern = {
  pattern: new RegExp(`^arn:aws[a-z-]*:execute-api:[a-z0-9-]+:\\d{12}:[a-z0-9]{10}/${API_STAGE}/(POST|PUT|PATCH|\\*)${API_PATH}$`),
  allowed: 'arn:<partition>:execute-api:<region>:<account>:<api id>/<stage or $default>/<POST, PUT, PATCH or *>/<resource path without wildcards>',
};

/**
 * Why a stage, method and resource path do not make the route of an execute-api destination
 * ({@link EXECUTE_API_ARN}), naming the value and what is allowed; undefined when they do.
 */
export function executeApiRouteProblem(route: { readonly stageName: string; readonly method: string; readonly path: string }): string | undefined {
  if (!new RegExp(`^${API_STAGE}$`).test(route.stageName)) {
    return `stageName ${JSON.stringify(route.stageName)} is not a stage name (allowed: 1–128 characters of A-Z a-z 0-9 _ -, or $default)`;
  }
  if (!(EXECUTE_API_METHODS as readonly string[]).includes(route.method)) {
    return `method ${JSON.stringify(route.method)} is not allowed (allowed: ${EXECUTE_API_METHODS.join(', ')}: a method with a body)`;
  }
  if (!new RegExp(`^${API_PATH}$`).test(route.path)) {
    return `path ${JSON.stringify(route.path)} is not a resource path (allowed: / followed by segments of URL path characters, without wildcards or a query)`;
  }
  return undefined;
}

/** Where an execute-api ARN sends a request. */
export interface ExecuteApiTarget {
  readonly partition: string;
  readonly region: string;
  readonly account: string;
  readonly apiId: string;
  /** Stage name; `$default` is the HTTP API stage served without a path prefix. */
  readonly stage: string;
  /** The HTTP method of the request (`*` in the ARN is sent as POST). */
  readonly method: 'POST' | 'PUT' | 'PATCH';
  /** Resource path, starting with `/`. */
  readonly path: string;
}

/** Splits an execute-api ARN ({@link EXECUTE_API_ARN}); undefined when `arn` is not one. */
export function executeApiTargetOfArn(arn: string): ExecuteApiTarget | undefined {
  if (typeof arn !== 'string' || !EXECUTE_API_ARN.pattern.test(arn)) return undefined;
  const parsed = parseArn(arn)!;
  const [apiId, stage, method, ...path] = parsed.resource.split('/');
  return {
    partition: parsed.partition,
    region: parsed.region,
    account: parsed.account,
    apiId,
    stage,
    method: method === '*' ? 'POST' : method as ExecuteApiTarget['method'],
    path: `/${path.join('/')}`,
  };
}

/**
 * The URL of an execute-api target: `https://<api id>.execute-api.<region>.amazonaws.com[/<stage>]<path>`
 * (`amazonaws.com.cn` in China; no stage segment for `$default`). With `endpoint` (an origin such
 * as `http://127.0.0.1:4566`, for tests and labs) the same path on that origin instead.
 */
export function executeApiUrl(target: ExecuteApiTarget, endpoint?: string): string {
  const path = `${target.stage === '$default' ? '' : `/${target.stage}`}${target.path}`;
  if (endpoint !== undefined) return `${new URL(endpoint).origin}${path}`;
  const suffix = target.partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://${target.apiId}.execute-api.${target.region}.${suffix}${path}`;
}
