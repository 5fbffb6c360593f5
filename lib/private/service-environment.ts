/**
 * Environment variables of the data-plane service: the construct sets them on the container and
 * the service (service/main.ts) reads them, both by these names. Names are public API (task
 * definitions and local setups in the wild use them): add, never rename.
 * Pure: no CDK import.
 */
export const ServiceEnvironment = {
  /** The configuration table (AWS mode, required). Set by the construct. */
  Table: 'PACKET_GATEWAY_TABLE',
  /** URL of the regional delivery queue of sourced packets. Set by the construct. */
  DeliveryQueueUrl: 'PACKET_GATEWAY_DELIVERY_QUEUE_URL',
  /**
   * Visibility timeout of the delivery queue, seconds: what each ReceiveMessage asks for and each
   * extension sets (limits.ts `SQS_VISIBILITY_TIMEOUT_SECONDS`, at least 1). Set by the construct to
   * the queue's own. @default DELIVERY_QUEUE_VISIBILITY_TIMEOUT_SECONDS
   */
  DeliveryQueueVisibilityTimeoutSeconds: 'PACKET_GATEWAY_DELIVERY_QUEUE_VISIBILITY_TIMEOUT_SECONDS',
  /** Port of the health server (NLB health checks, `GET /listeners`). Set by the construct. */
  HealthPort: 'PACKET_GATEWAY_HEALTH_PORT',
  /** The reply-tag key, base64 of at least 16 bytes: an ECS secret from Secrets Manager, never plain text. Set by the construct. */
  TagSecret: 'PACKET_GATEWAY_TAG_SECRET',
  /** Log level. Set by the construct. */
  LogLevel: 'PACKET_GATEWAY_LOG_LEVEL',
  /** Name of the gateway (stack name and construct path): the `Gateway` dimension of every metric. Set by the construct. */
  GatewayName: 'PACKET_GATEWAY_NAME',
  /** Comma-separated CIDRs denied as egress destinations (the VPC's own ranges). Set by the construct. */
  VpcCidrs: 'PACKET_GATEWAY_VPC_CIDRS',
  /** `1` or `true`: run in local mode. */
  Local: 'PACKET_GATEWAY_LOCAL',
  /** IngressRegion and AWS region (before AWS_REGION). */
  Region: 'PACKET_GATEWAY_REGION',
  /** Address of the health server, the local SNS endpoint and the default Listener bind. */
  Host: 'PACKET_GATEWAY_HOST',
  /** Port of the local SNS endpoint (local mode). */
  SnsPort: 'PACKET_GATEWAY_SNS_PORT',
  /** Configuration file (local mode). */
  Config: 'PACKET_GATEWAY_CONFIG',
  /** Seconds between configuration reloads. */
  ConfigReloadSeconds: 'PACKET_GATEWAY_CONFIG_RELOAD_SECONDS',
  /**
   * Seconds a graceful stop may take, from the stop signal to exit: below the container's stop
   * timeout (ECS `stopTimeout`, 30 s by default). What is not delivered by then gets a failure record.
   */
  StopDeadlineSeconds: 'PACKET_GATEWAY_STOP_DEADLINE_SECONDS',
  /** Seconds between metric flushes; 0 turns metrics off. */
  MetricsIntervalSeconds: 'PACKET_GATEWAY_METRICS_INTERVAL_SECONDS',
  /**
   * Receive buffer of each Listener socket, in bytes (the kernel caps it at `net.core.rmem_max`).
   * @default - the larger of 4 MiB and `net.core.rmem_max`, at most 64 MiB
   */
  ReceiveBufferBytes: 'PACKET_GATEWAY_RECEIVE_BUFFER_BYTES',
  /**
   * `1` or `true`: act on delivery-queue notifications that carry no valid SNS signature (labs and
   * tests with a local SNS/SQS server, which does not sign). Refused when the delivery queue is on
   * an AWS endpoint; a WARN is logged at start and every minute while it is on. Never set by the construct.
   */
  AcceptUnsignedSns: 'PACKET_GATEWAY_ACCEPT_UNSIGNED_SNS',
  /** UDP port of the relay between fleet members; set (by the construct) with {@link ServiceEnvironment.DirectoryTable} to turn the fleet relay on. */
  RelayPort: 'PACKET_GATEWAY_RELAY_PORT',
  /**
   * The fleet's directory table (flow, peer and member items, docs/FLEET.md); with
   * {@link ServiceEnvironment.RelayPort} it turns the fleet on. Set by the construct.
   */
  DirectoryTable: 'PACKET_GATEWAY_DIRECTORY_TABLE',
  /**
   * Comma-separated ARNs of the peer regions' delivery queues: a member forwards a sourced
   * notification there when the client's flow is owned in that region (docs/FLEET.md "Global").
   * Set by the construct when the gateway has peers.
   */
  PeerDeliveryQueues: 'PACKET_GATEWAY_PEER_DELIVERY_QUEUES',
  /**
   * Comma-separated `<region>=<url>`: the SQS endpoint for a peer region's delivery queue where the
   * gateway's own SQS endpoint is configured (`AWS_ENDPOINT_URL_SQS`: an interface VPC endpoint of
   * its own region, or the API servers of a lab) and cannot reach that region's queues. Not set by
   * the construct.
   * @default - the gateway's own configured SQS endpoint, else the peer region's public endpoint
   */
  PeerSqsEndpoints: 'PACKET_GATEWAY_PEER_SQS_ENDPOINTS',
  /**
   * Data-plane worker threads, each with its own socket per Listener (SO_REUSEPORT: the kernel
   * hashes each client to one of them). Set by the construct from `workers`.
   * @default - the task's vCPUs (`os.availableParallelism()`); 1 where dgram has no `reusePort` (Node < 22.12)
   */
  Workers: 'PACKET_GATEWAY_WORKERS',
  /** This member's private address, outside ECS (inside ECS it comes from the task metadata endpoint). */
  MemberAddress: 'PACKET_GATEWAY_MEMBER_ADDRESS',
  /** This member's id, outside ECS. @default - the ECS task id, else a random id */
  MemberId: 'PACKET_GATEWAY_MEMBER_ID',
  /**
   * ChaCha20-Poly1305 of WireGuard transport data: `auto` (libsodium through sodium-native when it
   * loads, else node:crypto, with a WARN and the `WireGuardCryptoFallback` metric), `native`
   * (refuse to start without libsodium) or `node`. @default auto
   */
  WireGuardCrypto: 'PACKET_GATEWAY_WIREGUARD_CRYPTO',
  /**
   * The load balancer's public addresses per Availability Zone, `zone=address` comma-separated
   * (its Elastic IPs). A task reports the address of its own zone as `Local.IpAddress`. Set by the construct.
   */
  PublicAddresses: 'PACKET_GATEWAY_PUBLIC_ADDRESSES',
  /** The gateway's account id: the account of log groups named by name only (a destination's `LogGroupName`). Set by the construct. */
  Account: 'PACKET_GATEWAY_ACCOUNT',
  /** The gateway's partition (`aws`, `aws-cn`, …), with {@link ServiceEnvironment.Account}. Set by the construct. */
  Partition: 'PACKET_GATEWAY_PARTITION',
} as const;

/**
 * Seconds between the service's stop deadline ({@link ServiceEnvironment.StopDeadlineSeconds}) and
 * the container's stop timeout: room for the exit after the deadline before SIGKILL.
 */
export const STOP_DEADLINE_MARGIN_SECONDS = 5;
