/**
 * Limits and text patterns of the gateway's contracts, each with the human "allowed" text its
 * error messages quote. The constructs (lib/), the registration function (lambda/) and the data
 * plane (service/) all check against these, so a limit is written exactly once. Pure: no CDK
 * import.
 */

/** An inclusive numeric range and how messages describe it. */
export interface NumericRange {
  readonly min: number;
  readonly max: number;
  /** What is allowed, for messages, e.g. `integer 1–65535`. */
  readonly allowed: string;
}

/** A text pattern and how messages describe it. */
export interface TextPattern {
  readonly pattern: RegExp;
  /** What is allowed, for messages, e.g. `1–64 characters of A-Z a-z 0-9 _ -`. */
  readonly allowed: string;
}

function integerRange(min: number, max: number): NumericRange {
  return { min, max, allowed: `integer ${min}–${max}` };
}

/** True when `value` is an integer within `range`. */
export function inIntegerRange(value: unknown, range: NumericRange): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= range.min && value <= range.max;
}

/** True when `value` is a finite number within `range` (fractions allowed). */
export function inNumberRange(value: unknown, range: NumericRange): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= range.min && value <= range.max;
}

/** True when `value` is a string matching `text`. */
export function matches(value: unknown, text: TextPattern): value is string {
  return typeof value === 'string' && text.pattern.test(value);
}

// ---- numbers -------------------------------------------------------------------------------

/** A UDP port. */
export const PORT = integerRange(1, 65_535);

/** A port to bind or listen on, where 0 asks the system for a free one. */
export const BIND_PORT = integerRange(0, 65_535);

/** Receive buffer a Listener socket may ask for (`PACKET_GATEWAY_RECEIVE_BUFFER_BYTES`): 64 KiB to 1 GiB. */
export const RECEIVE_BUFFER_BYTES = integerRange(65_536, 1_073_741_824);

/** Largest UDP payload over IPv4 (65535 − 20 bytes IP header − 8 bytes UDP header). */
export const MAX_UDP_PAYLOAD_BYTES = 65_507;

/** A Listener's `MaxPayloadBytes`: largest payload of a reply or sourced packet. */
export const PAYLOAD_BYTES = integerRange(1, MAX_UDP_PAYLOAD_BYTES);

/** A Listener's `ReplyTagTtlSeconds`: how long a reply Tag stays valid. */
export const REPLY_TAG_TTL_SECONDS = integerRange(1, 3600);

/** `AllowedIPs` of a WireGuard peer that names none: every inner address, IPv4 and IPv6 (as Proxylity's). */
export const DEFAULT_ALLOWED_IPS: readonly string[] = Object.freeze(['0.0.0.0/0', '::/0']);

/**
 * `WireGuard.DecapsulatedDelivery` of a Listener that sets none: false, as Proxylity's, so a
 * destination gets the whole inner IP packet (UDP, ICMP, anything the peer tunnels) and answers
 * with whole IP packets.
 */
export const DEFAULT_DECAPSULATED_DELIVERY = false;

/**
 * `ReplyTagTtlSeconds` of a Listener that sets none: 15 minutes, the longest run of a Lambda
 * function (and so of the longest request a synchronous destination can take), so a reply is never
 * refused because its destination took long.
 */
export const DEFAULT_REPLY_TAG_TTL_SECONDS = 900;

/**
 * Visibility timeout of the regional delivery queue, seconds: set on the queue by the construct
 * and on every ReceiveMessage by the data plane, which extends it for messages still in progress
 * past half of it (service/sourcing/visibility-extender.ts). Equal to the default sourced send
 * timeout, the longest an entry waits for its send.
 */
export const DELIVERY_QUEUE_VISIBILITY_TIMEOUT_SECONDS = 30;

/** An SQS visibility timeout, seconds (SQS's own limits). */
export const SQS_VISIBILITY_TIMEOUT_SECONDS = integerRange(0, 43_200);

/** A task's `stopTimeout`: seconds between SIGTERM and SIGKILL (the ECS container limit). */
export const STOP_TIMEOUT_SECONDS: NumericRange = { min: 2, max: 120, allowed: 'number of seconds 2–120' };

/** The service's graceful-stop deadline (`PACKET_GATEWAY_STOP_DEADLINE_SECONDS`), fractions allowed. */
export const STOP_DEADLINE_SECONDS: NumericRange = { min: 1, max: 3600, allowed: '1–3600 seconds' };

/**
 * A region name as AWS host names spell it, in every partition (`us-east-1`, `cn-north-1`,
 * `eusc-de-east-1`): the source of a regular expression, to be embedded in host-name patterns.
 * Wider than {@link REGION}, which validates the regions a gateway is deployed to.
 */
export const HOST_REGION_SOURCE = '[a-z]{2,4}(?:-[a-z]+)+-\\d{1,2}';

/** `Batching.Count`: packets per batch. */
export const BATCH_COUNT = integerRange(1, 10_000);

/** `Batching.TimeoutInSeconds`: longest wait of a packet for its batch, fractions allowed. */
export const BATCH_TIMEOUT_SECONDS: NumericRange = { min: 0, max: 60, allowed: 'number of seconds 0–60, fractions allowed' };

/** `Batching.SizeInBytes`: largest serialized batch (Lambda's synchronous payload limit is 6 MB). */
export const BATCH_SIZE_BYTES = integerRange(1024, 6 * 1024 * 1024);

/** A destination's `MaxQueuedPackets`. */
export const MAX_QUEUED_PACKETS = integerRange(1, 1_000_000);

/** A destination's `MaxInFlightBatches`. */
export const MAX_IN_FLIGHT_BATCHES = integerRange(1, 1000);

/** Data-plane worker threads per task (a Fargate task has at most 16 vCPUs). */
export const WORKERS_PER_TASK = integerRange(1, 16);

// ---- names and identifiers -------------------------------------------------------------------

/** A Listener name (also the Listener's key in the configuration table). */
export const NAME: TextPattern = { pattern: /^[A-Za-z0-9_-]{1,64}$/, allowed: '1–64 characters of A-Z a-z 0-9 _ -' };

/** A destination name within a Listener. */
export const DESTINATION_NAME: TextPattern = { pattern: /^[A-Za-z0-9_.-]{1,64}$/, allowed: '1–64 characters of A-Z a-z 0-9 _ . -' };

/** A DNS host name (the Listener's `Domain`, a peer endpoint's host). */
export const DOMAIN: TextPattern = {
  pattern: /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/,
  allowed: 'DNS labels of A-Z a-z 0-9 - separated by dots, up to 253 characters',
};

/** A WireGuard key: 32 bytes in standard base64 (44 characters; the last digit before `=` carries no spare bits). */
export const WIREGUARD_KEY: TextPattern = { pattern: /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/, allowed: '44 characters of base64 encoding 32 bytes' };

/** An AWS region name. */
export const REGION: TextPattern = { pattern: /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/, allowed: 'a region name such as us-east-1' };

/** A DynamoDB table name. */
export const DYNAMODB_TABLE_NAME: TextPattern = { pattern: /^[A-Za-z0-9_.-]{3,255}$/, allowed: '3–255 characters of A-Z a-z 0-9 _ . -' };

/** A Secrets Manager secret name. */
export const SECRET_NAME: TextPattern = { pattern: /^[A-Za-z0-9/_+=.@-]{1,512}$/, allowed: '1–512 characters of A-Z a-z 0-9 / _ + = . @ -' };

/** A 12-digit AWS account id. */
export const ACCOUNT: TextPattern = { pattern: /^\d{12}$/, allowed: 'a 12-digit AWS account id' };

/** An `sts:ExternalId` value. */
export const EXTERNAL_ID: TextPattern = { pattern: /^[A-Za-z0-9+=,.@:/_-]{2,1224}$/, allowed: '2–1224 characters of A-Z a-z 0-9 + = , . @ : / _ -' };

/** An environment variable name. */
export const ENVIRONMENT_VARIABLE_NAME: TextPattern = { pattern: /^[A-Za-z_][A-Za-z0-9_]*$/, allowed: 'A-Z a-z 0-9 _, not starting with a digit' };

/** `source` of an EventBridge event sent by a destination: PutEvents allows 1–256 characters; `aws.` sources are reserved for AWS services. */
export const EVENT_SOURCE: TextPattern = { pattern: /^(?!aws\.)[^\u0000-\u001f]{1,256}$/, allowed: '1–256 printable characters, not starting with aws.' };

/** `detail-type` of an EventBridge event sent by a destination: PutEvents allows 1–128 characters. */
export const EVENT_DETAIL_TYPE: TextPattern = { pattern: /^[^\u0000-\u001f]{1,128}$/, allowed: '1–128 printable characters' };

/** A JavaScript identifier (the export name of a local handler). */
export const IDENTIFIER: TextPattern = { pattern: /^[A-Za-z_$][A-Za-z0-9_$]*$/, allowed: 'a JavaScript identifier' };

/** A CloudWatch Logs log group name (a destination's `LogGroupName`). */
export const LOG_GROUP_NAME: TextPattern = { pattern: /^[A-Za-z0-9._/#-]{1,512}$/, allowed: '1–512 characters of A-Z a-z 0-9 . _ - / #' };

/** An Elastic IP allocation id. */
export const ELASTIC_IP_ALLOCATION_ID: TextPattern = { pattern: /^eipalloc-[0-9a-f]{8,17}$/, allowed: 'eipalloc- followed by 8–17 hexadecimal digits' };

// ---- path MTU --------------------------------------------------------------------------------

/** MTU of the internet path a gateway must assume (Ethernet): larger datagrams are fragmented or dropped. */
export const INTERNET_PATH_MTU_BYTES = 1500;

/** UDP header. */
export const UDP_HEADER_BYTES = 8;

/** IPv4 header without options. */
export const IPV4_HEADER_BYTES = 20;

/** IPv6 header without extension headers. */
export const IPV6_HEADER_BYTES = 40;

/** Largest UDP payload that crosses a 1500-byte path unfragmented over IPv4: 1500 − 20 − 8 = 1472. */
export const INTERNET_SAFE_UDP_PAYLOAD_IPV4_BYTES = INTERNET_PATH_MTU_BYTES - IPV4_HEADER_BYTES - UDP_HEADER_BYTES;

/** Largest UDP payload that crosses a 1500-byte path unfragmented over IPv6: 1500 − 40 − 8 = 1452. */
export const INTERNET_SAFE_UDP_PAYLOAD_IPV6_BYTES = INTERNET_PATH_MTU_BYTES - IPV6_HEADER_BYTES - UDP_HEADER_BYTES;

/** WireGuard transport-data overhead inside the outer UDP payload: 16 bytes header (type, receiver, counter) + 16 bytes authentication tag. */
export const WIREGUARD_DATA_OVERHEAD_BYTES = 32;

/**
 * Default `MaxPayloadBytes` of a plain UDP Listener: the IPv6 figure (1452), which also fits IPv4
 * (1472), so a reply or sourced packet crosses the internet unfragmented whatever the client's family.
 */
export const DEFAULT_UDP_MAX_PAYLOAD_BYTES = INTERNET_SAFE_UDP_PAYLOAD_IPV6_BYTES;

/**
 * Default `MaxPayloadBytes` of a WireGuard Listener: the plain IPv6 figure (1452) less the
 * WireGuard overhead (32) and the inner IPv6 and UDP headers (40 + 8) = 1372; the inner packet is
 * then 1420 bytes, WireGuard's usual tunnel MTU.
 */
export const DEFAULT_WIREGUARD_MAX_PAYLOAD_BYTES =
  DEFAULT_UDP_MAX_PAYLOAD_BYTES - WIREGUARD_DATA_OVERHEAD_BYTES - IPV6_HEADER_BYTES - UDP_HEADER_BYTES;

/** The default `MaxPayloadBytes` of a Listener of `protocol` (`udp` or `wg`, records.ts `ListenerProtocolName`). */
export function defaultMaxPayloadBytes(protocol: string): number {
  return protocol === 'wg' ? DEFAULT_WIREGUARD_MAX_PAYLOAD_BYTES : DEFAULT_UDP_MAX_PAYLOAD_BYTES;
}

// ---- quotas ----------------------------------------------------------------------------------

/** Load balancers (target groups) an ECS service may register with: each Listener has one target group. */
export const MAX_TARGET_GROUPS_PER_SERVICE = 5;

/** Elastic IPs per region of an account by default (a quota that can be raised). */
export const DEFAULT_ELASTIC_IP_QUOTA = 5;

/** Largest DynamoDB item, in bytes (attribute names and values, UTF-8). */
export const DYNAMODB_MAX_ITEM_BYTES = 400 * 1024;

/**
 * Largest Listener record, as UTF-8 JSON: DynamoDB's 400 KB item (409,600 bytes) less room for
 * the table's own attributes (key, kind, version, owner) and DynamoDB's per-element overhead.
 */
export const MAX_LISTENER_RECORD_BYTES = 380_000;

/**
 * WireGuard peers of one Listener. A peer as the construct renders it (key, one AllowedIPs CIDR,
 * endpoint, preshared-key variable) takes about 200 bytes, so 1,000 peers take about 200 KB and
 * leave the rest of {@link MAX_LISTENER_RECORD_BYTES} for destinations and for peers with several
 * AllowedIPs; the record size is checked as well.
 */
export const MAX_WIREGUARD_PEERS = 1000;

/** Longest binary range expression (a destination argument such as `PartitionKeyExpression`), in characters. */
export const MAX_BINARY_EXPRESSION_LENGTH = 1024;
// ---- Lambda destinations ---------------------------------------------------------------------

/** A Lambda tenant id (Invoke's `TenantId` / `X-Amz-Tenant-Id`). */
export const LAMBDA_TENANT_ID: TextPattern = {
  pattern: /^[A-Za-z0-9._:/=+\-@ ]{1,256}$/,
  allowed: '1–256 characters of A-Z a-z 0-9 . _ : / = + - @ and space',
};

/** Largest payload of an asynchronous (`Event`) Lambda invocation, in bytes. */
export const LAMBDA_ASYNC_MAX_PAYLOAD_BYTES = 1024 * 1024;
