/**
 * The data-plane runtime: runs one Listener (socket + ingress pipeline + destinations) per
 * Listener record of the live configuration, answers Listener and PacketSource lookups, and
 * applies configuration changes in place. A Listener whose record did not change is left alone;
 * one whose socket settings (protocol, port, bind address) are unchanged keeps its socket and gets
 * a new pipeline; only the rest are rebound. A running Listener moved to another address or port
 * gets its new socket bound first and is retired only after that succeeded: a change to a port
 * that cannot be bound leaves the running Listener in place.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { FirehoseClient } from '@aws-sdk/client-firehose';
import { KinesisClient } from '@aws-sdk/client-kinesis';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { STSClient } from '@aws-sdk/client-sts';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { configuredApiGatewayEndpoint, dynamoDbClientConfig, hotPathClientConfig, s3ClientConfig, stepFunctionsClientConfig } from './aws-clients';
import type { ConfigSource } from './config/config-source';
import { deepEqual } from './config/deep-equal';
import type { BindingLookup, FailureReporter, ListenerHandle, ListenerRegistry, ManagedListener, MetricsRecorder } from './contracts';
import { ApiGatewayInvoker, SignedApiGatewayInvoker } from './destinations/api-gateway-invoker';
import type { DestinationContext, LambdaTarget } from './destinations/destination';
import { AWS_DESTINATION_FACTORIES, createDestination, DestinationFactories } from './destinations/destination-factory';
import { DestinationLane } from './destinations/destination-lane';
import { DirectLambdaInvoker, LambdaInvoker, SdkLambdaInvoker } from './destinations/lambda-invoker';
import { RoleCredentials } from './destinations/role-credentials';
import { FlowTable } from './egress/flow-table';
import { destinationFormatter, IngressPipeline } from './ingress/ingress-pipeline';
import { createListener, ListenerConstructor, ListenerDependencies } from './listener-factory';
import type { DestinationErrorLogs } from './observability/destination-error-log';
import { ReplyRouter } from './replies/reply-router';
import { ReplyTagCodec } from './replies/reply-tags';
import type { PeerDirectory } from './wireguard/fleet-sessions';
import type { DestinationRoleRecord, GatewayConfigDocument, ListenerProtocolName, ListenerRecord, PacketSourceRecord } from '../lib/private/records';

export interface GatewayOptions {
  readonly config: ConfigSource;
  /** `IngressRegion` of packets and the region of AWS clients. */
  readonly region: string;
  readonly logger: Logger;
  readonly metrics: MetricsRecorder;
  readonly failures: FailureReporter;
  /**
   * Local mode: Listeners bind 127.0.0.1 by default, loopback is a valid egress destination and
   * egress does not require a live flow.
   */
  readonly local: boolean;
  /** Refuse egress to clients without a live flow. @default - true in AWS mode, false in local mode */
  readonly requireActiveFlow?: boolean;
  /** The VPC's CIDRs, denied as egress destinations. @default - none */
  readonly deniedNetworks?: readonly string[];
  /** @default - 127.0.0.1 in local mode, 0.0.0.0 in AWS mode */
  readonly defaultBindAddress?: string;
  /** Reply tag key shared by tasks that must accept each other's tags. @default - random per process */
  readonly tagSecret?: Buffer;
  /**
   * Client of Lambda destinations. A client given here is used through `client.send`, so any
   * middleware it carries (tracing, logging, mocks) applies. @default - created on first use in
   * `region` and invoked through a {@link DirectLambdaInvoker}
   */
  readonly lambdaClient?: LambdaClient;
  /** How Lambda destinations invoke; takes precedence over `lambdaClient`. @default - see `lambdaClient` */
  readonly lambdaInvoker?: LambdaInvoker;
  /** @default - created on first use in `region` */
  readonly sqsClient?: SQSClient;
  /** CloudWatch Logs destinations' client of a region. @default - created on first use for each region */
  readonly cloudWatchLogsClient?: (region: string) => CloudWatchLogsClient;
  /** S3 destinations' client. @default - created on first use, following buckets to their regions */
  readonly s3Client?: S3Client;
  /** DynamoDB destinations' client of a region. @default - created on first use for each region */
  readonly dynamoDbClient?: (region: string) => DynamoDBClient;
  /** Assumes destination Roles. @default - created on first use in `region` */
  readonly stsClient?: STSClient;
  /** Client of Step Functions destinations. @default - created on first use in `region` */
  readonly sfnClient?: SFNClient;
  /**
   * How API Gateway destinations send. @default - created on first use: signed with the
   * credentials the SDK resolves for the fleet, sent to each API's execute-api host
   */
  readonly apiGatewayInvoker?: ApiGatewayInvoker;
  /** Clients of SNS, Kinesis, Firehose and EventBridge destinations. @default - each created on first use in `region` */
  readonly snsClient?: SNSClient;
  readonly kinesisClient?: KinesisClient;
  readonly firehoseClient?: FirehoseClient;
  readonly eventBridgeClient?: EventBridgeClient;
  /** Directory that relative local handler paths resolve against. @default process.cwd() */
  readonly baseDirectory?: string;
  /** Time limit of one local handler invocation. @default 30000 */
  readonly localHandlerTimeoutMs?: number;
  /**
   * Destination types the Listeners may use. Local mode passes its own table (local handlers,
   * `log`). @default AWS_DESTINATION_FACTORIES
   */
  readonly destinationFactories?: DestinationFactories;
  /** Creates Listeners. @default createListener (udp; wg once available) */
  readonly listenerFactory?: ListenerConstructor;
  /** @default - a new FlowTable with the load balancer's 120 s idle timeout */
  readonly flows?: FlowTable;
  /** `Local.IpAddress` of Listeners without `PublicAddress` (public-address.ts). @default - each Listener's bound address */
  readonly publicAddress?: string;
  /** Where destinations with a `LogGroupName` also write their delivery errors. @default - not written (local mode) */
  readonly destinationErrorLogs?: DestinationErrorLogs;
  /** In a fleet: where WireGuard Listeners record their sessions and find peers by endpoint. @default - none */
  readonly peerDirectory?: PeerDirectory;
  /** Listener sockets share their port with the other data-plane workers' (SO_REUSEPORT). @default false */
  readonly reusePort?: boolean;
  /** Receive buffer of each Listener socket, in bytes. @default - the kernel's cap, 4–64 MiB (listener-socket.ts) */
  readonly receiveBufferBytes?: number;
}

/** A Listener as /listeners and health checks report it. */
export interface ListenerStatus {
  readonly name: string;
  readonly protocol: ListenerProtocolName;
  readonly address: string;
  readonly port: number;
  readonly publicKey?: string;
  readonly bound: boolean;
  /** Why the Listener is not running, when it is not. */
  readonly error?: string;
}

export interface GatewayStatus {
  /** Every configured Listener is bound and the gateway is not stopping. */
  readonly healthy: boolean;
  readonly stopping: boolean;
  readonly listeners: readonly ListenerStatus[];
}

interface Entry {
  record: ListenerRecord;
  listener?: ManagedListener;
  pipeline?: IngressPipeline;
  /** Why the Listener is not running. */
  error?: string;
  /** Why the latest change was not applied while this (older) version keeps running. */
  changeError?: string;
}

type Plan =
  | { kind: 'keep'; record: ListenerRecord }
  | { kind: 'in-place'; record: ListenerRecord; entry: Entry; pipeline: IngressPipeline }
  | { kind: 'bind'; record: ListenerRecord; entry?: Entry; pipeline: IngressPipeline };

export class Gateway implements ListenerRegistry, BindingLookup {
  public readonly tags: ReplyTagCodec;
  public readonly flows: FlowTable;
  public readonly replies: ReplyRouter;
  private readonly entries = new Map<string, Entry>();
  private sources = new Map<string, PacketSourceRecord>();
  private readonly destinationContext: DestinationContext;
  private readonly listenerDeps: Omit<ListenerDependencies, 'sink'>;
  private readonly listenerFactory: ListenerConstructor;
  private readonly background = new Set<Promise<unknown>>();
  private applying: Promise<void> = Promise.resolve();
  private unsubscribe?: () => void;
  private ownedClients: Array<{ destroy(): void }> = [];
  private lambda?: LambdaInvoker;
  /** Lambda invokers of other regions and destination Roles, by region and role. */
  private readonly lambdaTargets = new Map<string, LambdaInvoker>();
  private roles?: RoleCredentials;
  /** AWS clients signing with destination Roles, by service and role. */
  private readonly roleClients = new Map<string, { destroy(): void }>();
  /** Destination contexts of destination Roles, by role and ExternalId. */
  private readonly roleContexts = new Map<string, DestinationContext>();
  private sts?: STSClient;
  private sqs?: SQSClient;
  private readonly logs = new Map<string, CloudWatchLogsClient>();
  private s3?: S3Client;
  private readonly dynamoDb = new Map<string, DynamoDBClient>();
  private sfn?: SFNClient;
  private apiGateway?: ApiGatewayInvoker;
  private sns?: SNSClient;
  private kinesis?: KinesisClient;
  private firehose?: FirehoseClient;
  private eventBridge?: EventBridgeClient;
  private started = false;
  private stopping = false;
  private stopped?: Promise<void>;

  public constructor(private readonly options: GatewayOptions) {
    this.tags = new ReplyTagCodec({ secret: options.tagSecret });
    this.flows = options.flows ?? new FlowTable();
    this.replies = new ReplyRouter({ listeners: this, tags: this.tags, failures: options.failures, metrics: options.metrics });
    this.listenerFactory = options.listenerFactory ?? createListener;
    this.listenerDeps = {
      logger: options.logger,
      failures: options.failures,
      metrics: options.metrics,
      flows: this.flows,
      requireActiveFlow: options.requireActiveFlow ?? !options.local,
      allowLoopbackEgress: options.local,
      deniedNetworks: options.deniedNetworks ?? [],
      defaultBindAddress: options.defaultBindAddress ?? (options.local ? '127.0.0.1' : '0.0.0.0'),
      local: options.local,
      peerDirectory: options.peerDirectory,
      reusePort: options.reusePort,
      receiveBufferBytes: options.receiveBufferBytes,
    };
    this.destinationContext = this.ownDestinationContext();
  }

  /** The destination context of the fleet's own credentials (clients given in the options, else created on first use). */
  private ownDestinationContext(): DestinationContext {
    const options = this.options;
    return {
      region: options.region,
      logger: options.logger,
      baseDirectory: options.baseDirectory,
      localHandlerTimeoutMs: options.localHandlerTimeoutMs,
      forRole: (role) => this.roleDestinationContext(role),
      lambdaInvoker: (target) => this.lambdaInvokerFor(target),
      roleCredentials: (role) => (role ? this.roleCredentials().provider(role) : undefined),
      sqsClient: (role) => (role
        ? this.roleClient('sqs', role, (credentials) => new SQSClient({ ...hotPathClientConfig(options.region), credentials }))
        : (this.sqs ??= options.sqsClient ?? this.own(new SQSClient(hotPathClientConfig(options.region))))),
      cloudWatchLogsClient: (region) => this.regionalClient(this.logs, region,
        () => options.cloudWatchLogsClient?.(region) ?? this.own(new CloudWatchLogsClient(hotPathClientConfig(region)))),
      s3Client: () => (this.s3 ??= options.s3Client
        ?? this.own(new S3Client(s3ClientConfig(options.region, process.env)))),
      dynamoDbClient: (region) => this.regionalClient(this.dynamoDb, region,
        () => options.dynamoDbClient?.(region) ?? this.own(new DynamoDBClient(dynamoDbClientConfig(region)))),
      sfnClient: () => (this.sfn ??= options.sfnClient ?? this.own(new SFNClient(stepFunctionsClientConfig(options.region, process.env)))),
      apiGatewayInvoker: () => (this.apiGateway ??= options.apiGatewayInvoker ?? this.own(this.createApiGatewayInvoker())),
      snsClient: () => (this.sns ??= options.snsClient ?? this.own(new SNSClient(hotPathClientConfig(options.region)))),
      kinesisClient: () => (this.kinesis ??= options.kinesisClient ?? this.own(new KinesisClient(hotPathClientConfig(options.region)))),
      firehoseClient: () => (this.firehose ??= options.firehoseClient ?? this.own(new FirehoseClient(hotPathClientConfig(options.region)))),
      eventBridgeClient: () => (this.eventBridge ??= options.eventBridgeClient
        ?? this.own(new EventBridgeClient(hotPathClientConfig(options.region)))),
    };
  }

  /**
   * The destination context of `role`: every client it gives signs with the role's assumed
   * credentials (one client per service, region and role, created on first use; clients given in
   * the options sign as the fleet and are not used). One context per role and ExternalId.
   */
  private roleDestinationContext(role: DestinationRoleRecord): DestinationContext {
    const key = `${role.Arn}\n${role.ExternalId ?? ''}`;
    const known = this.roleContexts.get(key);
    if (known) return known;
    const { region, logger, baseDirectory, localHandlerTimeoutMs } = this.options;
    const own = this.destinationContext;
    const context: DestinationContext = {
      region,
      logger,
      baseDirectory,
      localHandlerTimeoutMs,
      forRole: (other) => this.roleDestinationContext(other),
      lambdaInvoker: (target) => own.lambdaInvoker({ ...target, role: target?.role ?? role }),
      roleCredentials: (other) => own.roleCredentials(other ?? role),
      sqsClient: (other) => own.sqsClient(other ?? role),
      cloudWatchLogsClient: (logsRegion) => this.roleClient(`logs\n${logsRegion}`, role,
        (credentials) => new CloudWatchLogsClient({ ...hotPathClientConfig(logsRegion), credentials })),
      s3Client: () => this.roleClient('s3', role, (credentials) => new S3Client({ ...s3ClientConfig(region, process.env), credentials })),
      dynamoDbClient: (tableRegion) => this.roleClient(`dynamodb\n${tableRegion}`, role,
        (credentials) => new DynamoDBClient({ ...dynamoDbClientConfig(tableRegion), credentials })),
      sfnClient: () => this.roleClient('states', role, (credentials) => new SFNClient({ ...stepFunctionsClientConfig(region, process.env), credentials })),
      apiGatewayInvoker: () => this.roleClient('execute-api', role, (credentials) => this.createApiGatewayInvoker(credentials)),
      snsClient: () => this.roleClient('sns', role, (credentials) => new SNSClient({ ...hotPathClientConfig(region), credentials })),
      kinesisClient: () => this.roleClient('kinesis', role, (credentials) => new KinesisClient({ ...hotPathClientConfig(region), credentials })),
      firehoseClient: () => this.roleClient('firehose', role, (credentials) => new FirehoseClient({ ...hotPathClientConfig(region), credentials })),
      eventBridgeClient: () => this.roleClient('events', role, (credentials) => new EventBridgeClient({ ...hotPathClientConfig(region), credentials })),
    };
    this.roleContexts.set(key, context);
    return context;
  }

  /**
   * Signs with `credentials`, by default those the SDK resolves for the fleet (those of an STS
   * client, whose own requests it never sends), and sends to each API's host or
   * `AWS_ENDPOINT_URL_EXECUTE_API`.
   */
  private createApiGatewayInvoker(credentials?: AwsCredentialIdentityProvider): SignedApiGatewayInvoker {
    const credentialSource = this.own(new STSClient({ region: this.options.region }));
    return new SignedApiGatewayInvoker({
      credentials: credentials ?? (() => credentialSource.config.credentials()),
      sha256: credentialSource.config.sha256,
      endpoint: configuredApiGatewayEndpoint(process.env),
    });
  }

  /** The client of `region` in `clients`, made by `create` on first use. */
  private regionalClient<C>(clients: Map<string, C>, region: string, create: () => C): C {
    let client = clients.get(region);
    if (!client) {
      client = create();
      clients.set(region, client);
    }
    return client;
  }

  /**
   * A client of `service` that signs with `role`'s assumed credentials: one per service and role,
   * created on first use and destroyed with the gateway. Destination modules reach it through
   * the context of the record's Role ({@link roleDestinationContext}).
   */
  private roleClient<T extends { destroy(): void }>(
    service: string, role: DestinationRoleRecord, create: (credentials: AwsCredentialIdentityProvider) => T,
  ): T {
    const key = `${service}\n${role.Arn}\n${role.ExternalId ?? ''}`;
    let client = this.roleClients.get(key) as T | undefined;
    if (!client) {
      client = this.own(create(this.roleCredentials().provider(role)));
      this.roleClients.set(key, client);
    }
    return client;
  }

  private roleCredentials(): RoleCredentials {
    return (this.roles ??= new RoleCredentials({
      sts: () => (this.sts ??= this.options.stsClient ?? this.own(new STSClient({ region: this.options.region }))),
      logger: this.options.logger,
    }));
  }

  /**
   * The invoker of `target`: the shared one for the gateway's region and credentials, else one per
   * region and Role, whose client signs with the Role's assumed credentials. An invoker given in
   * the options serves every target.
   */
  private lambdaInvokerFor(target: LambdaTarget | undefined): LambdaInvoker {
    const region = target?.region ?? this.options.region;
    const role = target?.role;
    if ((region === this.options.region && role === undefined) || this.options.lambdaInvoker) return (this.lambda ??= this.createLambdaInvoker());
    const key = `${region}\n${role?.Arn ?? ''}\n${role?.ExternalId ?? ''}`;
    let invoker = this.lambdaTargets.get(key);
    if (!invoker) {
      const credentials = role ? this.roleCredentials().provider(role) : undefined;
      invoker = new DirectLambdaInvoker(
        this.own(new LambdaClient({ ...hotPathClientConfig(region), ...(credentials ? { credentials } : {}) })),
        (reason) => this.options.logger.info('Lambda Invoke sent through the SDK client', { reason, region, ...(role ? { role: role.Arn } : {}) }),
      );
      this.lambdaTargets.set(key, invoker);
    }
    return invoker;
  }

  private createLambdaInvoker(): LambdaInvoker {
    const { lambdaInvoker, lambdaClient, logger, region } = this.options;
    if (lambdaInvoker) return lambdaInvoker;
    if (lambdaClient) return new SdkLambdaInvoker(lambdaClient);
    return new DirectLambdaInvoker(
      this.own(new LambdaClient(hotPathClientConfig(region))),
      (reason) => logger.info('Lambda Invoke sent through the SDK client', { reason }),
    );
  }

  /** Loads the configuration, starts every Listener and follows configuration changes. */
  public async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const config = await this.options.config.start();
    this.flows.start();
    this.unsubscribe = this.options.config.onChange((next) => void this.apply(next));
    await this.apply(config);
  }

  /**
   * Applies a configuration. Calls are serialized; a Listener that cannot be built or bound is
   * logged and reported unhealthy while the others run.
   */
  public apply(config: GatewayConfigDocument): Promise<void> {
    const run = this.applying.then(() => (this.stopping ? undefined : this.applyNow(config)));
    this.applying = run.catch((err) => this.options.logger.error('configuration apply failed', { error: (err as Error)?.message ?? String(err) }));
    return this.applying;
  }

  public get(name: string): ListenerHandle | undefined {
    const listener = this.entries.get(name)?.listener;
    return listener?.bound ? listener : undefined;
  }

  public list(): readonly ListenerHandle[] {
    const out: ListenerHandle[] = [];
    for (const entry of this.entries.values()) if (entry.listener?.bound) out.push(entry.listener);
    return out;
  }

  public getPacketSource(topicArn: string): PacketSourceRecord | undefined {
    return this.sources.get(topicArn);
  }

  public listPacketSources(): readonly PacketSourceRecord[] {
    return [...this.sources.values()];
  }

  /** Listener states for health checks and /listeners. */
  public status(): GatewayStatus {
    const listeners: ListenerStatus[] = [];
    for (const entry of this.entries.values()) {
      const l = entry.listener;
      listeners.push({
        name: entry.record.Name,
        protocol: entry.record.Protocol,
        address: l?.address ?? entry.record.BindAddress ?? this.listenerDeps.defaultBindAddress,
        port: l?.port ?? entry.record.Port,
        ...(l?.publicKey ? { publicKey: l.publicKey } : {}),
        bound: l?.bound ?? false,
        ...(entry.error ?? entry.changeError ? { error: entry.error ?? entry.changeError } : {}),
      });
    }
    const healthy = this.started && !this.stopping && listeners.every((l) => l.bound);
    return { healthy, stopping: this.stopping, listeners };
  }

  /**
   * Graceful stop: stop following the configuration and receiving datagrams, deliver every queued
   * batch, wait for deliveries, replies and sends in progress, then close the sockets. With
   * `deadlineMs`, what is not delivered by then gets one failure record per packet and the stop
   * goes on without waiting for it.
   */
  public stop(deadlineMs?: number): Promise<void> {
    if (!this.stopped) this.stopped = this.stopNow(deadlineMs === undefined ? undefined : Date.now() + deadlineMs);
    return this.stopped;
  }

  private async stopNow(stopAt: number | undefined): Promise<void> {
    const left = (): number | undefined => (stopAt === undefined ? undefined : Math.max(0, stopAt - Date.now()));
    this.stopping = true;
    this.unsubscribe?.();
    await within(this.options.config.stop(), left());
    await within(this.applying, left());
    for (const entry of this.entries.values()) entry.listener?.stopReceiving();
    await Promise.all([...this.entries.values()].map((e) => e.pipeline?.close(left())));
    await within(this.settleBackground(), left());
    await within(Promise.all([...this.entries.values()].map((e) => e.listener?.close())), left());
    this.flows.stop();
    for (const client of this.ownedClients) client.destroy();
    this.ownedClients = [];
  }

  private async applyNow(config: GatewayConfigDocument): Promise<void> {
    const { logger } = this.options;
    const sources = new Map<string, PacketSourceRecord>();
    for (const s of config.PacketSources ?? []) sources.set(s.TopicArn, s);
    const wanted = new Map(config.Listeners.map((r) => [r.Name, r] as const));

    // 1. Build the pipelines of new and changed Listeners first: a failure leaves the old one running.
    const plans: Plan[] = [];
    for (const record of config.Listeners) {
      const entry = this.entries.get(record.Name);
      if (entry && !entry.error && deepEqual(entry.record, record)) {
        plans.push({ kind: 'keep', record });
        continue;
      }
      let pipeline: IngressPipeline;
      try {
        pipeline = await this.buildPipeline(record);
      } catch (err) {
        const message = (err as Error)?.message ?? String(err);
        logger.error('listener configuration not applied', { listener: record.Name, error: message });
        if (entry?.listener && !entry.error) plans.push({ kind: 'keep', record: entry.record });
        else this.entries.set(record.Name, { record, error: message });
        continue;
      }
      const sameSocket = entry?.listener !== undefined && !entry.error && entry.listener.bound
        && sameSocketSettings(entry.record, record, this.listenerDeps.defaultBindAddress);
      plans.push(sameSocket ? { kind: 'in-place', record, entry: entry!, pipeline } : { kind: 'bind', record, entry, pipeline });
    }

    // 2. Retire removed Listeners and those that must be rebound, before binding anything new.
    const retiring: Promise<void>[] = [];
    for (const [name, entry] of this.entries) {
      if (!wanted.has(name)) {
        this.entries.delete(name);
        this.flows.forgetListener(name);
        retiring.push(this.retire(entry));
        logger.info('listener removed', { listener: name });
      }
    }
    for (const plan of plans) {
      // A running Listener on the same address and port must let go of it first; one that moves binds its new socket first.
      if (plan.kind === 'bind' && plan.entry && !this.canBindAlongside(plan.entry, plan.record)) retiring.push(this.retire(plan.entry));
    }
    await Promise.all(retiring);

    // 3. Swap pipelines in place, 4. bind the rest.
    this.sources = sources;
    const binding: Promise<void>[] = [];
    for (const plan of plans) {
      if (plan.kind === 'in-place') {
        const listener = plan.entry.listener!;
        if (listener.update(plan.record)) {
          const old = plan.entry.pipeline;
          listener.setSink(plan.pipeline);
          this.entries.set(plan.record.Name, { record: plan.record, listener, pipeline: plan.pipeline });
          if (old) this.track(old.close());
          logger.info('listener updated', { listener: plan.record.Name, address: listener.address, port: listener.port });
          continue;
        }
        await this.retire(plan.entry);
        binding.push(this.bind(plan.record, plan.pipeline));
      } else if (plan.kind === 'bind') {
        const moving = plan.entry && this.canBindAlongside(plan.entry, plan.record);
        binding.push(moving ? this.replace(plan.entry!, plan.record, plan.pipeline) : this.bind(plan.record, plan.pipeline));
      }
    }
    await Promise.all(binding);
  }

  /** True when `entry` runs a socket that `record`'s new socket can be bound next to (another address or port). */
  private canBindAlongside(entry: Entry, record: ListenerRecord): boolean {
    const defaultBind = this.listenerDeps.defaultBindAddress;
    return entry.listener?.bound === true && !entry.error
      && (entry.record.Port !== record.Port || (entry.record.BindAddress ?? defaultBind) !== (record.BindAddress ?? defaultBind));
  }

  /**
   * Moves a running Listener to a new socket: binds it first, then retires the old one. When the
   * new socket cannot be bound, the running Listener stays and the change is reported.
   */
  private async replace(old: Entry, record: ListenerRecord, pipeline: IngressPipeline): Promise<void> {
    const listener = await this.startListener(record, pipeline);
    if (typeof listener === 'string') {
      this.options.logger.error('listener configuration not applied: the new socket could not be bound; the running Listener stays', {
        listener: record.Name,
        error: listener,
        address: old.listener?.address,
        port: old.listener?.port,
      });
      this.entries.set(record.Name, { ...old, changeError: listener });
      return;
    }
    this.entries.set(record.Name, { record, listener, pipeline });
    await this.retire(old);
    this.options.logger.info('listener moved', { listener: record.Name, protocol: record.Protocol, address: listener.address, port: listener.port });
  }

  private async bind(record: ListenerRecord, pipeline: IngressPipeline): Promise<void> {
    const listener = await this.startListener(record, pipeline);
    if (typeof listener === 'string') {
      this.options.logger.error('listener not started', { listener: record.Name, error: listener });
      this.entries.set(record.Name, { record, error: listener });
      return;
    }
    this.entries.set(record.Name, { record, listener, pipeline });
    this.options.logger.info('listener started', {
      listener: record.Name,
      protocol: record.Protocol,
      address: listener.address,
      port: listener.port,
      destinations: record.Destinations.map((d) => `${d.Name} (${d.Type})`),
    });
  }

  /** Creates and binds the Listener of `record`, or returns why it could not (and closes `pipeline`). */
  private async startListener(record: ListenerRecord, pipeline: IngressPipeline): Promise<ManagedListener | string> {
    try {
      const listener = this.listenerFactory(record, { ...this.listenerDeps, sink: pipeline });
      await listener.start();
      return listener;
    } catch (err) {
      this.track(pipeline.close());
      return (err as Error)?.message ?? String(err);
    }
  }

  /** Stops a Listener: no more input, queued batches delivered, sends finished, socket closed. */
  private async retire(entry: Entry): Promise<void> {
    entry.listener?.stopReceiving();
    await entry.pipeline?.close();
    await entry.listener?.close();
  }

  private async buildPipeline(record: ListenerRecord): Promise<IngressPipeline> {
    const { failures, metrics, logger, region } = this.options;
    const factories = this.options.destinationFactories ?? AWS_DESTINATION_FACTORIES;
    const lanes: DestinationLane[] = [];
    try {
      for (const d of record.Destinations) {
        const destination = await createDestination(d, record, this.destinationContext, factories);
        lanes.push(new DestinationLane({
          listener: record.Name,
          record: d,
          formatter: destinationFormatter(record, d.Formatter),
          destination,
          replies: this.replies,
          failures: this.options.destinationErrorLogs?.reporterFor(record.Name, d, failures) ?? failures,
          metrics,
          logger,
        }));
      }
      return new IngressPipeline({
        record, region, tags: this.tags, lanes, failures, metrics, flows: this.flows, publicAddress: this.options.publicAddress,
      });
    } catch (err) {
      await Promise.all(lanes.map((lane) => lane.close()));
      throw err;
    }
  }

  private track(work: Promise<unknown>): void {
    const tracked = work.catch((err) => this.options.logger.error('background task failed', { error: (err as Error)?.message ?? String(err) }));
    this.background.add(tracked);
    void tracked.finally(() => this.background.delete(tracked));
  }

  private async settleBackground(): Promise<void> {
    while (this.background.size > 0) await Promise.all([...this.background]);
  }

  private own<T extends { destroy(): void }>(client: T): T {
    this.ownedClients.push(client);
    return client;
  }
}

/** True when two records of a Listener can share one socket. */
function sameSocketSettings(a: ListenerRecord, b: ListenerRecord, defaultBind: string): boolean {
  return a.Protocol === b.Protocol && a.Port === b.Port && (a.BindAddress ?? defaultBind) === (b.BindAddress ?? defaultBind);
}

/** Waits for `work`, or at most `ms` when given. */
async function within(work: Promise<unknown>, ms: number | undefined): Promise<void> {
  if (ms === undefined) {
    await work;
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => undefined), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
