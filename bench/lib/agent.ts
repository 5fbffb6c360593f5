/**
 * Parent side of a benchmark agent: a separate Node.js process (optionally inside a network
 * namespace, optionally pinned to CPUs) that runs one role of a scenario (sender, counting
 * receiver, gateway under test…) and answers requests over the IPC channel.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { BENCH_DIR } from './paths';

/** How to start an agent process. */
export interface AgentOptions {
  /** Run inside this network namespace (`ip netns exec`, needs root). */
  readonly netns?: string;
  /** Pin the process to these CPU numbers (`taskset`). */
  readonly cpus?: readonly number[];
  /** Extra Node.js flags, e.g. `--expose-gc`. */
  readonly nodeFlags?: readonly string[];
  /** Extra environment variables. */
  readonly env?: Readonly<Record<string, string>>;
  /** The Node.js binary to run the agent on. @default - PGB_NODE, else the one running the bench */
  readonly node?: string;
  /** Longest time to wait for the agent's `ready` message, ms. @default 20000 */
  readonly startTimeoutMs?: number;
}

interface Pending {
  timer: NodeJS.Timeout;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

const AGENT_DIR = path.join(BENCH_DIR, 'agents');
const TSX_LOADER = pathToFileURL(require.resolve('tsx')).href;

/** Bundled agents to run with plain node (see bundle.ts); undefined runs the TypeScript sources through tsx. */
let bundleDir: string | undefined;

/** Runs agents from bundles in `dir` from now on. */
export function useAgentBundles(dir: string): void {
  bundleDir = dir;
}

/**
 * `PGB_PROFILE=sourced-gateway,ingress-gateway` writes a V8 CPU profile of each named agent into
 * `bench/out/profiles` (summarize one with `npx tsx bench/profile-summary.ts <file>`).
 */
function profileFlags(name: string): string[] {
  const wanted = (process.env.PGB_PROFILE ?? '').split(',').map((s) => s.trim());
  if (!wanted.includes(name)) return [];
  return ['--cpu-prof', '--cpu-prof-dir', path.join(BENCH_DIR, 'out', 'profiles'), '--cpu-prof-name', `${name}.${Date.now()}.cpuprofile`];
}

/** `PGB_NODE_FLAGS="--trace-gc …"`: extra Node.js flags for every agent (flags NODE_OPTIONS refuses). */
function envFlags(): string[] {
  return (process.env.PGB_NODE_FLAGS ?? '').split(/\s+/).filter((f) => f.length > 0);
}

/** `PGB_NODE=/path/to/node`: the Node.js binary the agents run on (default: the one running the bench). */
const agentNode: string | undefined = process.env.PGB_NODE || undefined;

/** Every agent started and not yet stopped, so an interrupted run can still end them. */
const live = new Set<Agent>();

/** A running agent process. */
export class Agent {
  /** Starts `bench/agents/<name>.ts` and waits until it reports ready. */
  static async start(name: string, options: AgentOptions = {}): Promise<Agent> {
    const bundled = bundleDir ? path.join(bundleDir, `${name}.js`) : undefined;
    const flags = [...(options.nodeFlags ?? []), ...envFlags(), ...profileFlags(name)];
    const nodeArgs = bundled
      ? [...flags, '--enable-source-maps', bundled]
      : [...flags, '--import', TSX_LOADER, path.join(AGENT_DIR, `${name}.ts`)];
    let command = options.node ?? agentNode ?? process.execPath;
    let args = nodeArgs;
    if (options.cpus && options.cpus.length > 0) {
      args = ['-c', options.cpus.join(','), command, ...args];
      command = 'taskset';
    }
    if (options.netns) {
      args = ['netns', 'exec', options.netns, command, ...args];
      command = 'ip';
    }
    const child = spawn(command, args, {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, ...options.env },
    });
    const agent = new Agent(name, child);
    live.add(agent);
    await agent.waitReady(options.startTimeoutMs ?? 20_000);
    return agent;
  }

  /** Stops every agent still running (used when a run is interrupted). */
  static async stopAll(): Promise<void> {
    await Promise.all([...live].map((a) => a.stop()));
  }

  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private exited = false;
  private readonly exitPromise: Promise<void>;

  private constructor(readonly name: string, private readonly child: ChildProcess) {
    this.exitPromise = new Promise((resolve) => {
      child.once('exit', () => {
        this.exited = true;
        live.delete(this);
        for (const p of this.pending.values()) {
          clearTimeout(p.timer);
          p.reject(new Error(`agent ${name} exited`));
        }
        this.pending.clear();
        resolve();
      });
    });
    child.on('message', (message: unknown) => this.onMessage(message));
    child.on('error', () => undefined);
  }

  /** Process id of the agent. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Sends a request and resolves with the agent's result; rejects on error or after `timeoutMs`. */
  request<T = unknown>(command: string, args: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`agent ${this.name} is not running`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`agent ${this.name}: ${command} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, timer });
      this.child.send({ id, command, args });
    });
  }

  /** Asks the agent to exit; kills it (by its pid) if it has not exited within `graceMs`. */
  async stop(graceMs = 3000): Promise<void> {
    if (this.exited) return;
    try {
      if (this.child.connected) this.child.send({ id: 0, command: 'exit', args: {} });
    } catch {
      // channel already closed
    }
    const timer = setTimeout(() => {
      if (!this.exited) this.child.kill('SIGKILL');
    }, graceMs);
    await this.exitPromise;
    clearTimeout(timer);
  }

  private waitReady(timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        reject(new Error(`agent ${this.name} did not start within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(0, {
        resolve: () => resolve(),
        reject,
        timer,
      });
    });
  }

  private onMessage(message: unknown): void {
    if (typeof message !== 'object' || message === null) return;
    const m = message as { id?: number; ok?: boolean; result?: unknown; error?: string; ready?: boolean };
    const id = m.ready ? 0 : m.id;
    if (id === undefined) return;
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    if (m.ready || m.ok) p.resolve(m.result);
    else p.reject(new Error(`agent ${this.name}: ${m.error ?? 'failed'}`));
  }
}
