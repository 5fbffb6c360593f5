/**
 * Fleet members for tests: each a {@link Fleet} with its own flow table, its directory on dynalite
 * (one table per test) and its relay on loopback, sending from a Listener the test gives. Call
 * {@link fleetMembers} inside a `describe` block: it registers the hooks that start dynalite, make
 * a fresh directory table before each test, and stop the test's members after it.
 */
import { LocalDynamo } from './local-dynamo';
import type { ListenerHandle } from '../../service/contracts';
import { FlowTable } from '../../service/egress/flow-table';
import { Fleet, FleetOptions } from '../../service/fleet/fleet';

const NO_METRICS = { increment: (): void => undefined, observe: (): void => undefined };
const QUIET = { info: (): void => undefined, warn: (): void => undefined, debug: (): void => undefined };

/** One member: its fleet part and its flow table. */
export interface FleetMember {
  readonly fleet: Fleet;
  readonly flows: FlowTable;
}

/** What one member is started with. */
export interface FleetMemberOptions {
  readonly memberId: string;
  /** The member's only Listener. */
  readonly listener: ListenerHandle;
  /** @default 3000 */
  readonly retryBudgetMs?: number;
  readonly region?: FleetOptions['region'];
  readonly forwarder?: FleetOptions['forwarder'];
  /** @default 10000 */
  readonly suspectMs?: number;
}

/** The members of one `describe` block, and the directory they share in the current test. */
export interface FleetMembers {
  /** The DynamoDB API the directory tables are on. */
  readonly dynamo: LocalDynamo;
  /** The current test's directory table. */
  readonly tableName: string;
  /** Starts a member (stopped after the test). */
  start(options: FleetMemberOptions): Promise<FleetMember>;
}

/** Registers the hooks of fleet members sharing the relay key derived from `secret`; see the module comment. */
export function fleetMembers(secret: Buffer): FleetMembers {
  let dynamo: LocalDynamo | undefined;
  let tableName: string | undefined;
  const running: Fleet[] = [];

  beforeAll(async () => {
    dynamo = await LocalDynamo.start();
  });
  afterAll(() => dynamo?.stop());
  beforeEach(async () => {
    tableName = await dynamo!.createTable();
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((fleet) => fleet.stop()));
  });

  return {
    get dynamo(): LocalDynamo {
      return dynamo!;
    },
    get tableName(): string {
      return tableName!;
    },
    async start(options: FleetMemberOptions): Promise<FleetMember> {
      const listener = options.listener;
      let fleet: Fleet | undefined = undefined;
      const flows = new FlowTable({ onNewFlow: (l, a, p, k) => fleet?.claimFlow(l, a, p, k) });
      fleet = new Fleet({
        identity: { memberId: options.memberId, address: '127.0.0.1' },
        secret,
        relayPort: 0,
        relayBindAddress: '127.0.0.1',
        documents: dynamo!.documents,
        directoryTableName: tableName!,
        region: options.region,
        forwarder: options.forwarder,
        listeners: { get: (name) => (name === listener.name ? listener : undefined), list: () => [listener] },
        flows,
        metrics: NO_METRICS,
        logger: QUIET,
        retryBudgetMs: options.retryBudgetMs ?? 3_000,
        directoryFlushMs: 5,
        suspectMs: options.suspectMs,
      });
      await fleet.start();
      running.push(fleet);
      return { fleet, flows };
    },
  };
}
