/**
 * Scenario 5: memory per client flow and per WireGuard session, at 100k of each. One gateway
 * process per kind (started with --expose-gc); clients arrive in steps and memory after garbage
 * collection is read after each step. The difference divided by the step's clients is the cost
 * of one; the last reading is taken with all 100k held.
 */
import { missingModules } from './modules';
import { Agent } from '../lib/agent';
import { MemoryReading } from '../lib/heap';
import { Scenario, ScenarioContext, ScenarioResult } from '../lib/scenario';
import { median } from '../lib/stats';

/** Flows and sessions held at the end. */
export const MEMORY_CLIENTS = Number(process.env.PGB_MEMORY_CLIENTS ?? 100_000);
const WARM_UP = 2000;
/** Handshakes per request: small enough that a client's keepalive follows its handshake within seconds even on a busy machine. */
const BATCH = 500;
/** Rounds of extra clients a step may add when some of its clients did not arrive (datagrams or handshakes lost on a busy machine). */
const TOP_UP_ROUNDS = 3;
/** A batch normally takes a second or two; a process that takes this long has stopped. */
const STEP_TIMEOUT_MS = 60_000;

interface WireItem {
  readonly index: number;
  readonly data: string;
  readonly address: string;
  readonly port: number;
}

interface PerClient {
  heap: number;
  rss: number;
  external: number;
  clients: number;
  detail: unknown;
}

const bytes = (x: number): string => (Number.isFinite(x) ? `${Math.round(x)} B` : 'n/a');

/** Per-client memory between two readings. */
function perClient(before: MemoryReading, after: MemoryReading, clients: number, detail: unknown): PerClient {
  return {
    heap: (after.heapUsed - before.heapUsed) / clients,
    rss: (after.rss - before.rss) / clients,
    external: (after.external - before.external) / clients,
    clients,
    detail,
  };
}

/** Splits `total` clients into `steps` nearly equal steps. */
function stepSizes(total: number, steps: number): number[] {
  const base = Math.floor(total / steps);
  return Array.from({ length: steps }, (_, i) => (i < total % steps ? base + 1 : base));
}

type Settled = { memory: MemoryReading; flows: number; handled: number; datagramsIn: number };

/** Flows: one gateway process; clients arrive in `steps` steps, memory read after each. */
export async function flowSteps(context: ScenarioContext, total: number, steps: number): Promise<{ steps: PerClient[]; overall: PerClient }> {
  const gateway = await Agent.start('memory-gateway', { nodeFlags: ['--expose-gc'], cpus: context.cpus.measured });
  const generator = await Agent.start('flow-generator', { cpus: context.cpus.partner });
  try {
    const { port } = await gateway.request<{ port: number }>('flowsStart');
    await generator.request('open', { port, first: 500_000, count: WARM_UP }, 300_000);
    const start = await gateway.request<Settled>('flowsSettle', { datagrams: WARM_UP }, 300_000);
    let previous = start;
    let datagrams = WARM_UP;
    let first = 0;
    const out: PerClient[] = [];
    for (const size of stepSizes(total, steps)) {
      // A datagram lost in a full socket buffer opens no flow: the step adds clients until it holds `size` more.
      let now = previous;
      let sent = 0;
      for (let round = 0; round <= TOP_UP_ROUNDS && now.flows - previous.flows < size; round++) {
        const count = size - (now.flows - previous.flows);
        const opened = await generator.request<{ sent: number; elapsedMs: number }>('open', { port, first, count, timeoutMs: 120_000 }, 150_000);
        first += count;
        sent += opened.sent;
        datagrams += opened.sent;
        now = await gateway.request<Settled>('flowsSettle', { datagrams }, 300_000);
      }
      const detail = { flows: now.flows, handled: now.handled, datagramsIn: now.datagramsIn, sent };
      out.push(perClient(previous.memory, now.memory, now.flows - previous.flows, detail));
      context.log(`   flows: ${now.flows - start.flows} held, ${bytes(out[out.length - 1].heap)} heap per flow in this step`);
      previous = now;
    }
    return { steps: out, overall: perClient(start.memory, previous.memory, previous.flows - start.flows, { start, end: previous }) };
  } finally {
    await Promise.all([generator.stop(), gateway.stop()]);
  }
}

/** Sessions: one gateway WireGuard device; clients complete handshakes in `steps` steps, memory read after each. */
export async function sessionSteps(
  context: ScenarioContext,
  total: number,
  steps: number,
): Promise<{ steps: PerClient[]; overall: PerClient; failure?: string }> {
  const gateway = await Agent.start('memory-gateway', { nodeFlags: ['--expose-gc'], cpus: context.cpus.measured });
  const initiators = await Agent.start('wg-initiators', { cpus: context.cpus.partner });
  try {
    const { publicKey } = await gateway.request<{ publicKey: string }>('wgStart');
    type Batch = { items: WireItem[] };
    const none: Batch = { items: [] };
    const handshake = async (first: number, n: number): Promise<void> => {
      // A two-stage pipeline: while the gateway answers batch b, the client process confirms
      // batch b−1 and builds the initiations of batch b+1 (the two processes run on two cores).
      const ask = (from: number): Promise<Batch> =>
        (from < first + n
          ? initiators.request<Batch>('initiations', { gatewayPublicKey: publicKey, first: from, count: Math.min(BATCH, first + n - from) }, STEP_TIMEOUT_MS)
          : Promise.resolve(none));
      const confirm = (responses: Batch): Promise<Batch> =>
        (responses.items.length > 0 ? initiators.request<Batch>('responses', { items: responses.items }, STEP_TIMEOUT_MS) : Promise.resolve(none));
      const feed = (batch: Batch): Promise<Batch> =>
        (batch.items.length > 0 ? gateway.request<Batch>('wgFeed', { items: batch.items }, STEP_TIMEOUT_MS) : Promise.resolve(none));
      let inits = await ask(first);
      let next = first + inits.items.length;
      let previousResponses = none;
      while (inits.items.length > 0 || previousResponses.items.length > 0) {
        const answering = feed(inits);
        const clientWork = confirm(previousResponses).then(async (keepalives) => ({ keepalives, nextInits: await ask(next) }));
        let responses: Batch;
        let work: { keepalives: Batch; nextInits: Batch };
        try {
          [responses, work] = await Promise.all([answering, clientWork]);
        } catch (error) {
          answering.catch(() => undefined);
          clientWork.catch(() => undefined);
          throw error;
        }
        await feed(work.keepalives);
        previousResponses = responses;
        inits = work.nextInits;
        next += inits.items.length;
      }
    };
    type Peers = { peers: number; handshakes: number; delivered: number; dropped: number; dropCodes: unknown };
    try {
      await handshake(1_000_000, WARM_UP);
    } catch (error) {
      const failure = `during the warm-up: ${(error as Error).message}`;
      const empty = perClient({ heapUsed: 0, rss: 0, external: 0, arrayBuffers: 0 }, { heapUsed: 0, rss: 0, external: 0, arrayBuffers: 0 }, NaN, {});
      return { steps: [], overall: empty, failure };
    }
    const startMemory = await gateway.request<MemoryReading>('memory');
    const startPeers = await gateway.request<Peers>('wgPeers');
    let previousMemory = startMemory;
    let previousPeers = startPeers;
    let first = 0;
    const out: PerClient[] = [];
    let failure: string | undefined;
    for (const size of stepSizes(total, steps)) {
      // A handshake lost on the way (a client process that fell behind) leaves no session: the
      // step adds clients until it holds `size` more.
      let peers = previousPeers;
      try {
        for (let round = 0; round <= TOP_UP_ROUNDS && peers.peers - previousPeers.peers < size; round++) {
          const count = size - (peers.peers - previousPeers.peers);
          await handshake(first, count);
          first += count;
          peers = await gateway.request<Peers>('wgPeers');
        }
      } catch (error) {
        // A process that stops answering is reported, with the steps measured before it.
        failure = `after ${previousPeers.peers - startPeers.peers} sessions: ${(error as Error).message}`;
        context.log(`   sessions: setup stopped ${failure}`);
        break;
      }
      const memory = await gateway.request<MemoryReading>('memory');
      peers = await gateway.request<Peers>('wgPeers');
      out.push(perClient(previousMemory, memory, peers.peers - previousPeers.peers, { peers }));
      context.log(`   sessions: ${peers.peers - startPeers.peers} held, ${bytes(out[out.length - 1].heap)} heap per session in this step`);
      previousMemory = memory;
      previousPeers = peers;
    }
    return {
      steps: out,
      overall: perClient(startMemory, previousMemory, previousPeers.peers - startPeers.peers, { startPeers, endPeers: previousPeers }),
      failure,
    };
  } finally {
    await Promise.all([initiators.stop(), gateway.stop()]);
  }
}

export const memory: Scenario = {
  id: 'memory',
  title: 'Scenario 5: memory per flow and per WireGuard session',
  description:
    `Flows: ${MEMORY_CLIENTS / 1000}k clients, each from its own loopback address, send one datagram to a UDP Listener of the ` +
    'running Gateway (counting handler destination); the Gateway keeps each as an active flow. Sessions: ' +
    `${MEMORY_CLIENTS / 1000}k WireGuard clients (each its own key and endpoint, played by another process with the service's own ` +
    'handshake functions) complete a handshake with the gateway\'s WireGuard device and confirm it with a keepalive. ' +
    'Clients arrive in as many equal steps as there are runs, in one gateway process per kind; heap and RSS are read after ' +
    'garbage collection after each step; per-client cost = difference ÷ clients of the step; a step adds clients until it holds its share ' +
    '(a datagram or handshake lost on a busy machine opens nothing). Targets: ≤ 256 B heap per idle flow, ≤ 1.5 KiB heap and ' +
    '≤ 3 KiB heap + external per session.',
  async run(context: ScenarioContext): Promise<ScenarioResult> {
    const missing = missingModules(['service/gateway.ts', 'service/egress/flow-table.ts', 'service/wireguard/device.ts']);
    if (missing) return { status: 'pending', reason: missing };
    const flowResult = await flowSteps(context, MEMORY_CLIENTS, context.runs);
    const sessionResult = await sessionSteps(context, MEMORY_CLIENTS, context.runs);
    const flows = flowResult.steps;
    const sessions = sessionResult.steps;
    const figures = {
      bytesPerFlow: median(flows.map((f) => f.heap)),
      bytesPerFlowRss: median(flows.map((f) => f.rss)),
      bytesPerFlowAllClients: flowResult.overall.heap,
      flowsHeld: flowResult.overall.clients,
      bytesPerSession: median(sessions.map((s) => s.heap)),
      bytesPerSessionRss: median(sessions.map((s) => s.rss)),
      bytesPerSessionExternal: median(sessions.map((s) => s.external)),
      bytesPerSessionTotal: median(sessions.map((s) => s.heap + s.external)),
      bytesPerSessionAllClients: sessionResult.overall.heap,
      sessionsHeld: sessionResult.overall.clients,
    };
    const row = (label: string, steps: PerClient[], overall: PerClient, target: string): Array<string | number> => [
      label,
      `${overall.clients} (${steps.map((r) => r.clients).join(' + ')})`,
      bytes(median(steps.map((r) => r.heap))),
      steps.map((r) => bytes(r.heap)).join(', '),
      bytes(overall.heap),
      bytes(median(steps.map((r) => r.rss))),
      bytes(median(steps.map((r) => r.external))),
      target,
    ];
    return {
      status: 'ok',
      figures,
      raw: { flows: flowResult, sessions: sessionResult },
      tables: [{
        table: {
          columns: ['per', 'held (per step)', 'heap (median of steps)', 'heap per step', 'heap, all held', 'RSS (median)', 'external (median)', 'target'],
          rows: [
            row('client flow', flows, flowResult.overall, '≤ 256 B heap'),
            row('WireGuard session', sessions, sessionResult.overall, '≤ 1536 B heap, ≤ 3072 B heap + external'),
          ],
        },
      }],
      notes: [
        'Heap is V8\'s heapUsed after repeated full collections; RSS also counts memory the allocator keeps, so it is noisier (it can even shrink).',
        'External is memory outside the V8 heap (Buffers, KeyObjects); WireGuard keys and session keys live there.',
        'The session figure covers the WireGuard device\'s state per peer (static key, keypairs, replay window, cookie state, indices, timers). ' +
          'The device\'s handshake-load limits are raised for the setup, which completes the handshakes as fast as it can; they hold no per-peer state. ' +
          'So are the half-open timeout and Reject-After-Time, so that every session is still held at the last reading however long the setup takes.',
        'A flow that did not reach the gateway (socket buffer full while clients arrive) is not counted: the divisor is the number of flows the gateway holds.',
        ...(sessionResult.failure
          ? [`**The session setup stopped ${sessionResult.failure}.** The figures are from the steps completed before; a process that stops ` +
            'answering while it runs handshakes is a defect of its own (see the raw data).']
          : []),
      ],
    };
  },
};
