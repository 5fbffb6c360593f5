/**
 * Names of the custom resources served by the registration function, their properties and their
 * attributes. The constructs write these names and the handler reads them: both import them from
 * here. Type names and property names are public API (templates in the wild use them): add, never
 * rename.
 */

/** `Custom::PacketGatewayPacketSource`: binds a user's SNS topic to a Listener. */
export const PACKET_SOURCE_RESOURCE_TYPE = 'Custom::PacketGatewayPacketSource';

/** `Custom::PacketGatewayListener`: stores a Listener record in the gateway's table. */
export const LISTENER_RESOURCE_TYPE = 'Custom::PacketGatewayListener';

/**
 * `Custom::PacketGatewayWireGuardKey`: the key pair of a WireGuard Listener. The private key lives
 * only in a Secrets Manager secret (written there by the handler, or brought by the user); the
 * resource returns the public key and the secret version the tasks read.
 */
export const WIREGUARD_KEY_RESOURCE_TYPE = 'Custom::PacketGatewayWireGuardKey';

/** Properties of `Custom::PacketGatewayPacketSource` (DESIGN.md). */
export const PacketSourceProperty = {
  ListenerName: 'ListenerName',
  SnsTopicSource: 'SnsTopicSource',
  DeadLetterQueueArn: 'DeadLetterQueueArn',
  DeliveryLogGroupArn: 'DeliveryLogGroupArn',
  Enabled: 'Enabled',
  Description: 'Description',
} as const;

/** Properties of the `SnsTopicSource` object of `Custom::PacketGatewayPacketSource`. */
export const SnsTopicSourceProperty = {
  TopicArn: 'TopicArn',
  Role: 'Role',
  ExternalId: 'ExternalId',
} as const;

/** Attributes (`Fn::GetAtt`) of `Custom::PacketGatewayPacketSource`. */
export const PacketSourceAttribute = {
  /** Comma-separated ARNs of the delivery-queue subscriptions, one per gateway region. */
  SubscriptionArns: 'SubscriptionArns',
  /** The binding's identifier; also the resource's physical id. */
  BindingId: 'BindingId',
} as const;

/** Properties of `Custom::PacketGatewayListener`. */
export const ListenerProperty = {
  ListenerName: 'ListenerName',
  /** The Listener record (records.ts `ListenerRecord`) as a JSON string, so numbers and booleans keep their types. */
  Configuration: 'Configuration',
} as const;

/** Attributes (`Fn::GetAtt`) of `Custom::PacketGatewayListener`. */
export const ListenerAttribute = {
  ListenerName: 'ListenerName',
} as const;

/** Properties of `Custom::PacketGatewayWireGuardKey`. */
export const WireGuardKeyProperty = {
  /** The Listener the key belongs to (messages and logs). */
  ListenerName: 'ListenerName',
  /** ARN of the secret holding the private key: base64 of 32 bytes, as text. */
  SecretArn: 'SecretArn',
  /** {@link WireGuardKeySource}: who writes the private key. */
  KeySource: 'KeySource',
  /**
   * Non-negative integer. Generated keys: each generation has its own key pair, stored as a secret
   * version whose id derives from the generation (stable across updates and rollbacks; a new
   * generation is a new key pair). Provided keys: a new generation reads the secret again.
   */
  Generation: 'Generation',
} as const;

/** Values of `KeySource`. */
export const WireGuardKeySource = {
  /** The handler generates the key pair and writes the private key into the secret. */
  Generated: 'Generated',
  /** The user's secret already holds the private key; the handler only reads it. */
  Provided: 'Provided',
} as const;

/** Attributes (`Fn::GetAtt`) of `Custom::PacketGatewayWireGuardKey`. */
export const WireGuardKeyAttribute = {
  /** The Listener's public key, base64 (44 characters). */
  PublicKey: 'PublicKey',
  /** The secret version holding the matching private key; the tasks read exactly this version. */
  VersionId: 'VersionId',
} as const;

/**
 * Environment of the registration function.
 * `PACKET_GATEWAY_DELIVERY_TARGETS`: JSON array of `{ Region, QueueArn, TableName }` (the tables
 * the function writes), the home region first. `PACKET_GATEWAY_ACCESS_ROLE_ARN`: the
 * registration principal, assumed before users' roles. `PACKET_GATEWAY_CONFIRMATION_TIMEOUT_SECONDS`:
 * how long a subscription may stay pending. `PACKET_GATEWAY_SERVED_RESOURCE_TYPES`: JSON array of
 * the custom-resource types this function instance serves (unset: all three); the instance behind
 * the service token that other accounts may invoke serves PacketSources only.
 */
export const RegistrationEnvironment = {
  DeliveryTargets: 'PACKET_GATEWAY_DELIVERY_TARGETS',
  AccessRoleArn: 'PACKET_GATEWAY_ACCESS_ROLE_ARN',
  ConfirmationTimeoutSeconds: 'PACKET_GATEWAY_CONFIRMATION_TIMEOUT_SECONDS',
  ServedResourceTypes: 'PACKET_GATEWAY_SERVED_RESOURCE_TYPES',
} as const;

/** Every custom-resource type of the registration function. */
export const REGISTRATION_RESOURCE_TYPES: readonly string[] = [LISTENER_RESOURCE_TYPE, PACKET_SOURCE_RESOURCE_TYPE, WIREGUARD_KEY_RESOURCE_TYPE];

/** One gateway region a PacketSource subscribes: its delivery queue and its configuration table. */
export interface DeliveryTarget {
  readonly Region: string;
  readonly QueueArn: string;
  readonly TableName: string;
}

/**
 * Prefixes of the data-plane environment variables that carry WireGuard keys (ECS secrets): a
 * Listener's private key (`PACKET_GATEWAY_WG_KEY_<LISTENER>`) and its peers' preshared keys
 * (`PACKET_GATEWAY_WG_PSK_<LISTENER>_<PEER INDEX>`). The Listener record names the variables.
 */
export const WIREGUARD_KEY_ENVIRONMENT_PREFIX = 'PACKET_GATEWAY_WG_KEY_';
export const WIREGUARD_PRESHARED_KEY_ENVIRONMENT_PREFIX = 'PACKET_GATEWAY_WG_PSK_';

/** IAM path of the roles PacketSources create; the registration principal may assume only roles on it. */
export const PACKET_SOURCE_ROLE_PATH = '/packet-gateway/';
