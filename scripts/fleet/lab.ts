/**
 * A Listener fleet on one machine: N gateway tasks in AWS mode, each in its own network namespace
 * behind the load-balancer stand-in of network.ts, configured and fed through real API servers
 * (api-servers.ts: dynalite, fauxqs, a Lambda Invoke server). Used by `npm run fleet` (main.ts)
 * and by the fleet test suite (test/fleet/).
 *
 * Each task starts exactly as the Fargate container does (`node assets/service/index.js`, or
 * `tsx service/main.ts` with `service: 'source'`), with the environment the construct gives the
 * container (lib/gateway.ts, `ServiceEnvironment`), the SDK endpoints of the API servers, and
 * `PACKET_GATEWAY_MEMBER_ADDRESS` (its own address, which ECS's task metadata would tell it; the
 * fleet relay needs it). The configuration table holds, as the registration function writes them:
 *   - Listener `fleet` (udp, port 5555) and `fleet-wg` (WireGuard, port 51820, unknown peers
 *     accepted), each delivering to the SQS ingress queue and to the Lambda function `echo`, whose
 *     replies go back to the client;
 *   - a PacketSource binding the lab's topic to `fleet`; the topic is subscribed to the delivery
 *     queue with the filter policy the registration function sets for the home region (none).
 * The directory table (`PACKET_GATEWAY_DIRECTORY_TABLE`) starts empty: the tasks keep their flow,
 * peer and member items there.
 *
 * WireGuard: a second PacketSource binds a topic of its own (`wireGuardTopicArn`) to `fleet-wg`,
 * for pushes by PeerKey, and `wireGuardPeer(i)` starts a real wireguard-go peer behind the client
 * NAT (wireguard-peers.ts).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, WriteStream } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateTopicCommand, MessageAttributeValue, PublishCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { Balancer, TargetState } from './balancer';
import { ClientGroup, startClients } from './clients';
import { ECHO_FUNCTION } from './echo-handler';
import { addTaskNamespace, createNetwork, destroyNetwork, flowOwners, FlowOwner, LabNetwork, NetworkAddresses, randomPrefix, routeToApiAddress } from './network';
import { teardown } from './teardown';
import { startWireGuardPeer, WireGuardPeer } from './wireguard-peers';
import { RecordStore } from '../../lambda/registration/record-store';
import { filterPolicyFor } from '../../lambda/registration/subscriptions';
import { DEFAULT_RELAY_PORT, DIRECTORY_PARTITION_KEY } from '../../lib/private/fleet';
import { listenerHealthPath } from '../../lib/private/health-paths';
import {
  LISTENER_KEY_PREFIX,
  LISTENER_KIND,
  ListenerRecord,
  PacketSourceRecord,
  SOURCE_KEY_PREFIX,
  SOURCE_KIND,
  TABLE_PARTITION_KEY,
} from '../../lib/private/records';
import { WIREGUARD_KEY_ENVIRONMENT_PREFIX } from '../../lib/private/resource-properties';
import { ServiceEnvironment } from '../../lib/private/service-environment';
import { validateListenerRecord, validatePacketSourceRecord } from '../../lib/private/validate-records';
import type { InnerAddressing } from '../../service/contracts';
import { STARTED_LOG_MESSAGE } from '../../service/main';
import { generatePrivateKey, publicKeyOf } from '../../service/wireguard/keys';

export type { FlowOwner } from './network';
export type { TargetState } from './balancer';
export type { ClientGroup, ClientDatagram } from './clients';
export type { TunnelDatagram, WireGuardPeer } from './wireguard-peers';

const ROOT = resolve(__dirname, '..', '..');
const ACCOUNT = '000000000000';
/** The Listeners of the lab: a plain UDP one (the PacketSource's) and a WireGuard one. */
export const UDP_LISTENER = { name: 'fleet', protocol: 'udp', port: 5555 } as const;
export const WG_LISTENER = { name: 'fleet-wg', protocol: 'wg', port: 51820 } as const;
const TASK_HEALTH_PORT = 8080;
const TASK_START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

export interface FleetOptions {
  /** Number of gateway tasks (1–99). */
  readonly tasks: number;
  /** Prefix of the run's namespaces and interfaces (1–8 of a-z, 0-9). @default - `pf` and 4 random hex digits */
  readonly prefix?: string;
  /** How tasks run: the bundled service (`assets/service/index.js`, as in the container image) or its TypeScript source through tsx. @default bundle */
  readonly service?: 'bundle' | 'source';
  /** Seconds of silence after which the load balancer forgets a flow. @default 120 */
  readonly udpTimeoutSeconds?: number;
  /** AWS region of the tasks and API servers. @default us-east-1 */
  readonly region?: string;
  /** `PACKET_GATEWAY_LOG_LEVEL` of the tasks. @default INFO */
  readonly logLevel?: string;
  /** `PACKET_GATEWAY_WORKERS` of the tasks: data-plane workers per task. @default 1 (what the construct sets for its default 512-unit task) */
  readonly workers?: number;
  /** Directory that receives each task's output (`t<i>.log`) and the API servers' (`api.log`). @default - not written */
  readonly logDirectory?: string;
  /** Keep the tasks' JSON log records in memory for `logs()` (a long-running lab writes them to `logDirectory` instead). @default true */
  readonly retainLogs?: boolean;
  /** Told every line a task prints (1-based task number). */
  readonly onTaskOutput?: (task: number, line: string) => void;
  /** Seconds a message of the delivery queue stays invisible after a receive. @default 30 (as the construct's queue) */
  readonly deliveryVisibilityTimeoutSeconds?: number;
  /** Seconds a deregistered task keeps its tracked flows before they are ended ({@link Fleet.drainTask}). @default 30 (the construct's stopTimeout) */
  readonly deregistrationDelaySeconds?: number;
  /** Milliseconds between the load balancer's health checks of each task. @default 1000 */
  readonly healthCheckIntervalMs?: number;
  /** Told each change of a task's state with the load balancer. */
  readonly onTargetChange?: (task: number, state: TargetState) => void;
  /** The load balancer's front-link addresses (network.ts); fleets reached from one upstream namespace need different ones. @default - network.ts DEFAULT_ADDRESSES */
  readonly addresses?: Partial<NetworkAddresses>;
  /** A namespace in front of the load balancer instead of the fleet's own client namespace (network.ts; global-lab.ts's accelerator). */
  readonly upstreamNamespace?: string;
  /** `EgressRegions` of the fleet's PacketSources: the regions with a gateway. @default - [region] */
  readonly egressRegions?: readonly string[];
  /**
   * The WireGuard Listener's private key (base64), as a key replicated to every region gives each
   * region's Listener the same one (global-lab.ts). @default - a key generated for the fleet
   */
  readonly wireGuardPrivateKey?: string;
  /**
   * Called once the fleet's tables, queues and topics exist, before its tasks start: may bind more
   * topics and resolves with more environment for the tasks (global-lab.ts: the peer region's
   * delivery queue). @default - nothing more
   */
  readonly beforeTasks?: (resources: FleetResources) => Promise<Readonly<Record<string, string>>>;
}

/** What a fleet has before its tasks start ({@link FleetOptions.beforeTasks}). */
export interface FleetResources {
  readonly region: string;
  readonly endpoints: Fleet['endpoints'];
  readonly deliveryQueueUrl: string;
  readonly deliveryQueueArn: string;
  /** The topic bound to `fleet` (home: this region). */
  readonly topicArn: string;
  /** The topic bound to `fleet-wg` (home: this region). */
  readonly wireGuardTopicArn: string;
  /**
   * Binds one more topic (e.g. another region's, home there) to a Listener of the fleet (`fleet`
   * unless named), as the registration function writes it.
   */
  bindTopic(topicArn: string, homeRegion: string, listenerName?: string): Promise<void>;
  /** Lets this fleet's tasks reach another lab's API servers at `address` (their root-namespace address), and nothing else beyond its own. */
  reachApi(address: string): void;
}

/** A JSON log record of a task (Powertools Logger format), with the task that wrote it. */
export interface TaskLogRecord {
  readonly task: number;
  readonly level?: string;
  readonly message?: string;
  readonly [field: string]: unknown;
}

/** One sourced packet entry as published to the topic (docs/DESIGN.md, "Sourced packet"). */
export interface SourcedEntry {
  readonly Data: string;
  readonly Remote: { readonly Address: string; readonly Port: number; readonly PeerKey?: string };
  readonly Formatter?: string;
  readonly TtlSeconds?: number;
  /** Inner addressing (WireGuard Listener with decapsulated delivery). */
  readonly Inner?: Readonly<Partial<InnerAddressing>>;
}

/** A packet the gateway delivered to the SQS ingress queue. */
export interface IngressPacket {
  readonly Tag: string;
  readonly Remote: { readonly IpAddress: string; readonly Port: number; readonly PeerKey?: string };
  readonly Local: { readonly Domain: string; readonly Port: number; readonly IpAddress: string; readonly Protocol: string };
  readonly Data: string;
  readonly [field: string]: unknown;
}

export interface Fleet {
  readonly prefix: string;
  readonly network: LabNetwork;
  readonly vip: string;
  readonly natAddress: string;
  readonly clientAddress: string;
  readonly region: string;
  readonly listeners: ReadonlyArray<{ readonly name: string; readonly protocol: string; readonly port: number; readonly publicKey?: string }>;
  readonly tableName: string;
  /** The fleet's directory table (flow, peer and member items). */
  readonly directoryTableName: string;
  readonly topicArn: string;
  /** The topic bound to the WireGuard Listener `fleet-wg` (pushes by PeerKey). */
  readonly wireGuardTopicArn: string;
  readonly deliveryQueueUrl: string;
  readonly ingressQueueUrl: string;
  readonly endpoints: { readonly dynamodb: string; readonly sns: string; readonly sqs: string; readonly lambda: string };
  /** Environment to publish to the topic with (AWS CLI, SDKs): region, credentials, SNS endpoint. */
  readonly publishEnvironment: Readonly<Record<string, string>>;
  /** The complete environment of task i (1-based). */
  taskEnvironment(task: number): Readonly<Record<string, string>>;
  /** Publishes one sourced message (`{"Messages":[…]}`) to the topic (or to `topic`); resolves with the SNS message id. */
  publish(entries: readonly SourcedEntry[], attributes?: Record<string, MessageAttributeValue>, topic?: string): Promise<string>;
  /** Receives and deletes what is in the ingress queue until `until` says enough or `timeoutMs` passes. */
  drainIngress(until: (received: readonly IngressPacket[]) => boolean, timeoutMs: number): Promise<IngressPacket[]>;
  /** Messages waiting or in flight in the delivery queue (approximate, as SQS reports them). */
  deliveryBacklog(): Promise<number>;
  /** Which task owns each tracked flow to the VIP (conntrack of the load balancer). */
  owners(): FlowOwner[];
  /** JSON log records of task i (1-based) since it first started, oldest first; every task's when omitted. Empty with `retainLogs: false`. */
  logs(task?: number): readonly TaskLogRecord[];
  /** Whether task i (1-based) is running. */
  isRunning(task: number): boolean;
  /** Sends `signal` to task i and waits for it to exit (SIGKILL after 10 s). Resolves with its exit code or signal. */
  stopTask(task: number, signal?: NodeJS.Signals): Promise<number | NodeJS.Signals | null>;
  /** Starts task i again (after stopTask) and waits until it has started. */
  startTask(task: number): Promise<void>;
  /**
   * Starts one more task (in a namespace of its own, the next number) and registers it with the
   * load balancer; resolves with its number once it passes the health checks and takes new flows.
   */
  addTask(): Promise<number>;
  /** Kills task i without warning (SIGKILL); the load balancer's health checks take it out and end its flows. */
  killTask(task: number): Promise<void>;
  /**
   * Stops task i as ECS stops a service's task: deregisters it from the load balancer (no new
   * flows), waits the deregistration delay, then sends SIGTERM while the load balancer ends the
   * task's flows (connection termination), and waits for the exit. Resolves with its exit code or signal.
   */
  drainTask(task: number): Promise<number | NodeJS.Signals | null>;
  /** A rolling deployment's step: {@link addTask}, then {@link drainTask} of task i. Resolves with the new task's number. */
  replaceTask(task: number): Promise<number>;
  /** Tasks (1-based) that take new flows on the Listener port `port` now. */
  serving(port: number): number[];
  /** Where task i stands with the load balancer. */
  targetState(task: number): TargetState;
  /** Opens `count` client sockets (each its own flow) in the client namespace. */
  clients(count: number): Promise<ClientGroup>;
  /**
   * Starts WireGuard peer `index` (1-based, each index once): wireguard-go in a namespace of its own
   * behind the client NAT, keeping its tunnel to `fleet-wg` up with persistent keepalives only.
   */
  wireGuardPeer(index: number, options?: { readonly keepaliveSeconds?: number }): Promise<WireGuardPeer>;
  /** Stops clients, tasks and API servers and deletes the run's namespaces. Idempotent. */
  stop(): Promise<void>;
}

interface RunningTask {
  process?: ChildProcess;
  exited?: Promise<number | NodeJS.Signals | null>;
}

/** Brings a fleet up; on any failure tears down what it started and rejects. */
export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const prefix = options.prefix ?? randomPrefix();
  const region = options.region ?? 'us-east-1';
  const serviceCommand = taskCommand(options.service ?? 'bundle');
  if (options.logDirectory) mkdirSync(options.logDirectory, { recursive: true });

  const { cleanups, cleanUp } = teardown();
  try {
    const network = createNetwork({
      prefix,
      tasks: options.tasks,
      ports: [UDP_LISTENER.port, WG_LISTENER.port],
      udpTimeoutSeconds: options.udpTimeoutSeconds,
      addresses: options.addresses,
      upstreamNamespace: options.upstreamNamespace,
    });
    cleanups.push(() => destroyNetwork(prefix));

    const credentials = { accessKeyId: 'fleet', secretAccessKey: 'fleet' };
    const api = await startApiServers(network.apiAddress, region, options.logDirectory);
    cleanups.push(() => api.stop());
    const endpoints = api.endpoints;

    const dynamo = new DynamoDBClient({ region, endpoint: endpoints.dynamodb, credentials });
    const sns = new SNSClient({ region, endpoint: endpoints.sns, credentials });
    const sqs = new SQSClient({ region, endpoint: endpoints.sqs, credentials });
    cleanups.push(() => {
      dynamo.destroy();
      sns.destroy();
      sqs.destroy();
    });

    // What the construct creates: configuration table, directory table, delivery queue; what the user brings: topic, ingress queue, function.
    const tableName = `${prefix}-gateway`;
    await dynamo.send(new CreateTableCommand({
      TableName: tableName,
      KeySchema: [{ AttributeName: TABLE_PARTITION_KEY, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: TABLE_PARTITION_KEY, AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }));
    const directoryTableName = `${prefix}-directory`;
    await dynamo.send(new CreateTableCommand({
      TableName: directoryTableName,
      KeySchema: [{ AttributeName: DIRECTORY_PARTITION_KEY, KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: DIRECTORY_PARTITION_KEY, AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }));
    const deliveryQueueUrl = (await sqs.send(new CreateQueueCommand({
      QueueName: `${prefix}-delivery`,
      Attributes: { VisibilityTimeout: String(options.deliveryVisibilityTimeoutSeconds ?? 30) },
    }))).QueueUrl!;
    const ingressQueueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: `${prefix}-ingress` }))).QueueUrl!;
    const deliveryQueueArn = await queueArn(sqs, deliveryQueueUrl);
    const ingressQueueArn = await queueArn(sqs, ingressQueueUrl);
    const topicArn = (await sns.send(new CreateTopicCommand({ Name: `${prefix}-push` }))).TopicArn!;
    const wireGuardTopicArn = (await sns.send(new CreateTopicCommand({ Name: `${prefix}-push-wg` }))).TopicArn!;
    const filterPolicy = filterPolicyFor(region, region);
    const subscriptionArn = (await sns.send(new SubscribeCommand({
      TopicArn: topicArn,
      Protocol: 'sqs',
      Endpoint: deliveryQueueArn,
      ReturnSubscriptionArn: true,
      ...(filterPolicy ? { Attributes: { FilterPolicy: filterPolicy } } : {}),
    }))).SubscriptionArn!;

    const wgPrivateKey = options.wireGuardPrivateKey ?? generatePrivateKey();
    const wgKeyVariable = `${WIREGUARD_KEY_ENVIRONMENT_PREFIX}FLEET_WG`;
    const destinations: ListenerRecord['Destinations'] = [
      { Name: 'ingress', Type: 'sqs', Arn: ingressQueueArn, Batching: { Count: 10, TimeoutInSeconds: 0.05 } },
      { Name: 'echo', Type: 'lambda', Arn: `arn:aws:lambda:${region}:${ACCOUNT}:function:${ECHO_FUNCTION}`, Batching: { Count: 100, TimeoutInSeconds: 0.02 } },
    ];
    const listenerRecords: ListenerRecord[] = [
      { Name: UDP_LISTENER.name, Protocol: UDP_LISTENER.protocol, Port: UDP_LISTENER.port, PublicAddress: network.vip, Destinations: destinations },
      {
        Name: WG_LISTENER.name,
        Protocol: WG_LISTENER.protocol,
        Port: WG_LISTENER.port,
        PublicAddress: network.vip,
        Destinations: destinations,
        // decapsulated delivery named, not defaulted: pushes to the lab's WireGuard peers carry Inner
        WireGuard: {
          PrivateKeyEnvironmentVariable: wgKeyVariable,
          PublicKey: publicKeyOf(wgPrivateKey),
          AllowUnknownPeers: true,
          DecapsulatedDelivery: true,
        },
      },
    ];
    const stackId = `arn:aws:cloudformation:${region}:${ACCOUNT}:stack/${prefix}-fleet/${randomBytes(8).toString('hex')}`;
    const sourceRecord: PacketSourceRecord = {
      TopicArn: topicArn,
      ListenerName: UDP_LISTENER.name,
      Enabled: true,
      HomeRegion: region,
      BindingId: randomBytes(8).toString('hex'),
      OwnerStackId: stackId,
      SubscriptionState: 'Confirmed',
      SubscriptionArns: [subscriptionArn],
      RoleArn: `arn:aws:iam::${ACCOUNT}:role/packet-gateway/${prefix}-push`,
      ExternalId: randomBytes(8).toString('hex'),
      EgressRegions: [...(options.egressRegions ?? [region])],
    };
    await writeRecords(dynamo, { Region: region, TableName: tableName }, stackId, listenerRecords, sourceRecord);
    // the WireGuard Listener's PacketSource: its own topic, subscribed to the same delivery queue
    const wireGuardSubscriptionArn = (await sns.send(new SubscribeCommand({
      TopicArn: wireGuardTopicArn,
      Protocol: 'sqs',
      Endpoint: deliveryQueueArn,
      ReturnSubscriptionArn: true,
      ...(filterPolicy ? { Attributes: { FilterPolicy: filterPolicy } } : {}),
    }))).SubscriptionArn!;
    await writeSourceRecord(dynamo, { Region: region, TableName: tableName }, stackId, {
      ...sourceRecord,
      TopicArn: wireGuardTopicArn,
      ListenerName: WG_LISTENER.name,
      BindingId: randomBytes(8).toString('hex'),
      SubscriptionArns: [wireGuardSubscriptionArn],
      RoleArn: `arn:aws:iam::${ACCOUNT}:role/packet-gateway/${prefix}-push-wg`,
    });

    const moreEnvironment = await options.beforeTasks?.({
      region,
      endpoints,
      deliveryQueueUrl,
      deliveryQueueArn,
      topicArn,
      wireGuardTopicArn,
      reachApi: (address) => routeToApiAddress(network, address),
      bindTopic: (boundTopicArn, homeRegion, listenerName = UDP_LISTENER.name) =>
        writeSourceRecord(dynamo, { Region: region, TableName: tableName }, stackId, {
          ...sourceRecord,
          TopicArn: boundTopicArn,
          ListenerName: listenerName,
          HomeRegion: homeRegion,
          BindingId: randomBytes(8).toString('hex'),
          SubscriptionArns: [],
        }),
    }) ?? {};

    const tagSecret = randomBytes(32).toString('base64');
    const taskEnvironment = (task: number): Record<string, string> => ({
      // what the construct gives the container (lib/gateway.ts)
      [ServiceEnvironment.Table]: tableName,
      [ServiceEnvironment.DeliveryQueueUrl]: deliveryQueueUrl,
      [ServiceEnvironment.DeliveryQueueVisibilityTimeoutSeconds]: String(options.deliveryVisibilityTimeoutSeconds ?? 30),
      [ServiceEnvironment.HealthPort]: String(TASK_HEALTH_PORT),
      [ServiceEnvironment.LogLevel]: options.logLevel ?? 'INFO',
      [ServiceEnvironment.TagSecret]: tagSecret,
      [ServiceEnvironment.VpcCidrs]: network.taskNetwork,
      [ServiceEnvironment.RelayPort]: String(DEFAULT_RELAY_PORT),
      [ServiceEnvironment.DirectoryTable]: directoryTableName,
      [ServiceEnvironment.Workers]: String(options.workers ?? 1),
      [wgKeyVariable]: wgPrivateKey,
      // what ECS and the task role give it
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ACCESS_KEY_ID: credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
      // the API servers of the lab instead of AWS's endpoints
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      AWS_ENDPOINT_URL_SQS: endpoints.sqs,
      AWS_ENDPOINT_URL_SNS: endpoints.sns,
      AWS_ENDPOINT_URL_LAMBDA: endpoints.lambda,
      // fauxqs does not sign SNS notifications: the lab (never the construct) accepts unsigned ones
      [ServiceEnvironment.AcceptUnsignedSns]: '1',
      // its own address, which ECS's task metadata would tell it (docs/FLEET.md, membership)
      [ServiceEnvironment.MemberAddress]: network.taskAddresses[task - 1],
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      NODE_ENV: 'production',
      ...moreEnvironment,
    });

    const tasks: RunningTask[] = [];
    const records: TaskLogRecord[][] = [];
    const logFiles: Array<WriteStream | undefined> = [];
    const addSlot = (task: number): void => {
      tasks.push({});
      records.push([]);
      logFiles.push(options.logDirectory ? createWriteStream(join(options.logDirectory, `t${task}.log`), { flags: 'a' }) : undefined);
    };
    network.taskNamespaces.forEach((_, i) => addSlot(i + 1));
    cleanups.push(() => logFiles.forEach((f) => f?.end()));

    // the target groups: every Listener port checked on its Listener's health path
    const balancer = new Balancer({
      network,
      healthPaths: new Map([[UDP_LISTENER.port, listenerHealthPath(UDP_LISTENER.name)], [WG_LISTENER.port, listenerHealthPath(WG_LISTENER.name)]]),
      healthPort: TASK_HEALTH_PORT,
      intervalMs: options.healthCheckIntervalMs,
      onChange: options.onTargetChange,
    });
    await balancer.start();
    cleanups.push(() => balancer.stop());
    const deregistrationDelayMs = (options.deregistrationDelaySeconds ?? 30) * 1000;

    const checkTask = (task: number): void => {
      if (!Number.isInteger(task) || task < 1 || task > tasks.length) throw new Error(`task ${task} does not exist (allowed: 1–${tasks.length})`);
    };
    const startTask = async (task: number): Promise<void> => {
      checkTask(task);
      const slot = tasks[task - 1];
      if (slot.process) throw new Error(`task ${task} is running already`);
      const child = spawn('ip', ['netns', 'exec', network.taskNamespaces[task - 1], ...serviceCommand], {
        cwd: ROOT,
        env: taskEnvironment(task),
        stdio: ['ignore', 'pipe', 'pipe'],
        // a process group of its own: a Ctrl-C meant for the lab reaches the task only through stopTask
        detached: true,
      });
      slot.process = child;
      slot.exited = new Promise((done) => child.once('exit', (code, signal) => {
        slot.process = undefined;
        done(signal ?? code);
      }));
      let started: () => void = () => undefined;
      const ready = new Promise<void>((done) => {
        started = done;
      });
      const lastLines: string[] = [];
      const onLine = (line: string): void => {
        logFiles[task - 1]?.write(`${line}\n`);
        lastLines.push(line);
        if (lastLines.length > 5) lastLines.shift();
        options.onTaskOutput?.(task, line);
        if (!line.startsWith('{')) return;
        try {
          const record = JSON.parse(line) as Record<string, unknown>;
          if (record._aws) return; // EMF metrics
          if (options.retainLogs !== false) records[task - 1].push({ ...record, task });
          if (record.message === STARTED_LOG_MESSAGE) started();
        } catch {
          // not a log record
        }
      };
      createInterface({ input: child.stdout! }).on('line', onLine);
      createInterface({ input: child.stderr! }).on('line', onLine);
      const outcome = await Promise.race([
        ready.then(() => 'started' as const),
        slot.exited.then((how) => `exited (${how})`),
        delay(TASK_START_TIMEOUT_MS).then(() => `did not start within ${TASK_START_TIMEOUT_MS / 1000} s`),
      ]);
      if (outcome !== 'started') {
        child.kill('SIGKILL');
        throw new Error(`task ${task} ${outcome}${lastLines.length > 0 ? `; its last output:\n${lastLines.join('\n')}` : ''}`);
      }
    };
    const stopTask = async (task: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | NodeJS.Signals | null> => {
      checkTask(task);
      const slot = tasks[task - 1];
      if (!slot.process || !slot.exited) return null;
      slot.process.kill(signal);
      const killer = setTimeout(() => slot.process?.kill('SIGKILL'), STOP_TIMEOUT_MS);
      try {
        return await slot.exited;
      } finally {
        clearTimeout(killer);
      }
    };
    cleanups.push(async () => {
      await Promise.all(tasks.map((_, i) => stopTask(i + 1)));
    });
    await Promise.all(tasks.map((_, i) => startTask(i + 1)));
    tasks.forEach((_, i) => balancer.register(i + 1));
    await Promise.all(tasks.map((_, i) => balancer.waitServing(i + 1, TASK_START_TIMEOUT_MS)));

    const addTask = async (): Promise<number> => {
      const task = addTaskNamespace(network);
      addSlot(task);
      await startTask(task);
      balancer.register(task);
      await balancer.waitServing(task, TASK_START_TIMEOUT_MS);
      return task;
    };
    const drainTask = async (task: number): Promise<number | NodeJS.Signals | null> => {
      checkTask(task);
      let stopped: Promise<number | NodeJS.Signals | null> = Promise.resolve(null);
      // the end of the deregistration delay: SIGTERM, and the load balancer ends the task's flows
      await balancer.deregister(task, deregistrationDelayMs, () => {
        stopped = stopTask(task, 'SIGTERM');
      });
      return stopped;
    };

    const clientGroups: ClientGroup[] = [];
    cleanups.push(async () => {
      await Promise.all(clientGroups.splice(0).map((g) => g.close()));
    });
    const wireGuardPeers: WireGuardPeer[] = [];
    cleanups.push(async () => {
      await Promise.all(wireGuardPeers.splice(0).map((peer) => peer.stop()));
    });

    let stopped: Promise<void> | undefined;
    const fleet: Fleet = {
      prefix,
      network,
      vip: network.vip,
      natAddress: network.natAddress,
      clientAddress: network.clientAddress,
      region,
      listeners: [UDP_LISTENER, { ...WG_LISTENER, publicKey: publicKeyOf(wgPrivateKey) }],
      tableName,
      directoryTableName,
      topicArn,
      wireGuardTopicArn,
      deliveryQueueUrl,
      ingressQueueUrl,
      endpoints,
      publishEnvironment: {
        AWS_REGION: region,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_ENDPOINT_URL_SNS: endpoints.sns,
      },
      taskEnvironment,
      async publish(entries, attributes, topic) {
        const out = await sns.send(new PublishCommand({
          TopicArn: topic ?? topicArn,
          Message: JSON.stringify({ Messages: entries }),
          ...(attributes ? { MessageAttributes: attributes } : {}),
        }));
        return out.MessageId ?? '';
      },
      async drainIngress(until, timeoutMs) {
        const received: IngressPacket[] = [];
        const deadline = Date.now() + timeoutMs;
        while (!until(received) && Date.now() < deadline) {
          const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: ingressQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
          const messages = out.Messages ?? [];
          for (const m of messages) received.push(JSON.parse(m.Body ?? '{}') as IngressPacket);
          if (messages.length > 0) {
            await sqs.send(new DeleteMessageBatchCommand({
              QueueUrl: ingressQueueUrl,
              Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
            }));
          }
        }
        return received;
      },
      async deliveryBacklog() {
        const out = await sqs.send(new GetQueueAttributesCommand({
          QueueUrl: deliveryQueueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }));
        return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
      },
      owners: () => flowOwners(network),
      logs: (task) => {
        if (task === undefined) return records.flat();
        checkTask(task);
        return records[task - 1];
      },
      isRunning: (task) => {
        checkTask(task);
        return tasks[task - 1].process !== undefined;
      },
      stopTask,
      startTask,
      addTask,
      async killTask(task) {
        await stopTask(task, 'SIGKILL');
      },
      drainTask,
      async replaceTask(task) {
        checkTask(task);
        const added = await addTask();
        await drainTask(task);
        return added;
      },
      serving: (port) => balancer.serving(port),
      targetState: (task) => {
        checkTask(task);
        return balancer.state(task);
      },
      async clients(count) {
        const group = await startClients({ namespace: network.clientNamespace, address: network.clientAddress, count });
        clientGroups.push(group);
        return group;
      },
      async wireGuardPeer(index, peerOptions = {}) {
        const gatewayPublicKey = publicKeyOf(wgPrivateKey);
        const site = { prefix, clientNamespace: network.clientNamespace, clientAddress: network.clientAddress, gatewayAddress: network.vip };
        const peer = await startWireGuardPeer(site, index, { gatewayPublicKey, port: WG_LISTENER.port, ...peerOptions });
        wireGuardPeers.push(peer);
        return peer;
      },
      stop: () => (stopped ??= cleanUp()),
    };
    return fleet;
  } catch (err) {
    await cleanUp();
    throw err;
  }
}

/** The command that starts a task, as in the container image or from source. */
function taskCommand(service: 'bundle' | 'source'): string[] {
  if (service === 'source') return [process.execPath, require.resolve('tsx/cli'), join(ROOT, 'service', 'main.ts')];
  const bundle = join(ROOT, 'assets', 'service', 'index.js');
  if (!existsSync(bundle)) throw new Error(`${bundle} does not exist: run \`npx tsx scripts/bundle.ts\` first, or use service: 'source'`);
  return [process.execPath, '--enable-source-maps', bundle];
}

/** Writes the Listener and PacketSource items with the registration function's own record store (same item layout, owner and version). */
async function writeRecords(
  dynamo: DynamoDBClient,
  table: { Region: string; TableName: string },
  stackId: string,
  listeners: readonly ListenerRecord[],
  source: PacketSourceRecord,
): Promise<void> {
  const documents = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  const store = new RecordStore(() => documents);
  for (const record of listeners) {
    const errors = validateListenerRecord(record, `Listener ${record.Name}`);
    if (errors.length > 0) throw new Error(`the lab's Listener record ${record.Name} is invalid: ${errors.join('; ')}`);
    await store.mutate<ListenerRecord>(table, `${LISTENER_KEY_PREFIX}${record.Name}`, LISTENER_KIND, () => ({
      put: { record, owner: { StackId: stackId, LogicalResourceId: `Listener${record.Name}` } },
    }));
  }
  const errors = validatePacketSourceRecord(source, 'PacketSource');
  if (errors.length > 0) throw new Error(`the lab's PacketSource record is invalid: ${errors.join('; ')}`);
  await store.mutate<PacketSourceRecord>(table, `${SOURCE_KEY_PREFIX}${source.TopicArn}`, SOURCE_KIND, () => ({
    put: { record: source, owner: { StackId: stackId, LogicalResourceId: 'PacketSource' } },
  }));
}

/** Writes one more PacketSource item, as the registration function does. */
async function writeSourceRecord(
  dynamo: DynamoDBClient,
  table: { Region: string; TableName: string },
  stackId: string,
  source: PacketSourceRecord,
): Promise<void> {
  const errors = validatePacketSourceRecord(source, 'PacketSource');
  if (errors.length > 0) throw new Error(`the lab's PacketSource record for ${source.ListenerName} is invalid: ${errors.join('; ')}`);
  const documents = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  await new RecordStore(() => documents).mutate<PacketSourceRecord>(table, `${SOURCE_KEY_PREFIX}${source.TopicArn}`, SOURCE_KIND, () => ({
    put: { record: source, owner: { StackId: stackId, LogicalResourceId: `PacketSource${source.ListenerName}` } },
  }));
}

async function queueArn(sqs: SQSClient, queueUrl: string): Promise<string> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  const arn = out.Attributes?.QueueArn;
  if (!arn) throw new Error(`SQS returned no QueueArn for ${queueUrl}`);
  return arn;
}

interface ApiServers {
  readonly endpoints: Fleet['endpoints'];
  stop(): Promise<void>;
}

/** Starts api-servers.ts in its own process on `host` and waits for its ready line. */
async function startApiServers(host: string, region: string, logDirectory: string | undefined): Promise<ApiServers> {
  const child = spawn(process.execPath, [require.resolve('tsx/cli'), join(__dirname, 'api-servers.ts'), '--host', host], {
    cwd: ROOT,
    env: { ...process.env, AWS_REGION: region },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true, // stopped by the lab (or by its stdin closing), not by a Ctrl-C meant for the lab
  });
  const log = logDirectory ? createWriteStream(join(logDirectory, 'api.log'), { flags: 'a' }) : undefined;
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  const errors: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    errors.push(line);
    log?.write(`${line}\n`);
  });
  const stop = async (): Promise<void> => {
    child.stdin?.end();
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    await exited;
    clearTimeout(killer);
    log?.end();
  };
  const endpoints = await new Promise<Fleet['endpoints'] | undefined>((done) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      log?.write(`${line}\n`);
      if (line.startsWith('{"ready"')) done((JSON.parse(line) as { ready: Fleet['endpoints'] }).ready);
    });
    void exited.then(() => done(undefined));
    setTimeout(() => done(undefined), 30_000).unref();
  });
  if (!endpoints) {
    await stop();
    throw new Error(`the API servers did not start: ${errors.slice(-5).join('\n') || 'no output'}`);
  }
  return { endpoints, stop };
}

function delay(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms).unref());
}
