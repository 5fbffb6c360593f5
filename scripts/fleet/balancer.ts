/**
 * The target groups of the fleet lab's load-balancer stand-in: which tasks take new flows on each
 * Listener port, decided as an NLB decides it, and applied to the nftables DNAT rules of
 * network.ts.
 *
 * - A registered task is health-checked on each Listener's health path (health-prober.ts, every
 *   `intervalMs`); it takes new flows on a port after `healthyThreshold` passing checks in a row
 *   and stops after `unhealthyThreshold` failing ones, when its flows on every port are also ended
 *   (the NLB's connection termination for unhealthy targets).
 * - A deregistered task takes no new flows at once; its tracked flows stay until its
 *   deregistration delay ends, then they are ended (connection termination) and it is no target.
 * - A port without any healthy target fails open to every registered task, as an NLB does.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { dropFlows, LabNetwork, setTargets } from './network';

const ROOT = resolve(__dirname, '..', '..');

export interface BalancerOptions {
  readonly network: LabNetwork;
  /** The health check path of each Listener port. */
  readonly healthPaths: ReadonlyMap<number, string>;
  /** TCP port of the tasks' health server. */
  readonly healthPort: number;
  /** @default 1000 */
  readonly intervalMs?: number;
  /** @default 2 */
  readonly healthyThreshold?: number;
  /** @default 2 */
  readonly unhealthyThreshold?: number;
  /** Told each change of a task's state. */
  readonly onChange?: (task: number, state: TargetState) => void;
}

/** Where a task stands with the load balancer. */
export type TargetState = 'initial' | 'healthy' | 'unhealthy' | 'draining' | 'unused';

interface Target {
  state: TargetState;
  /** Consecutive passing (> 0) or failing (< 0) checks per port. */
  readonly streaks: Map<number, number>;
  /** Ports this task takes new flows on. */
  readonly serving: Set<number>;
}

export class Balancer {
  private readonly targets = new Map<number, Target>();
  private readonly intervalMs: number;
  private readonly healthyThreshold: number;
  private readonly unhealthyThreshold: number;
  private prober?: ChildProcess;
  private exited?: Promise<void>;
  private applied = '';
  private readonly waiters = new Set<() => void>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly options: BalancerOptions) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.healthyThreshold = options.healthyThreshold ?? 2;
    this.unhealthyThreshold = options.unhealthyThreshold ?? 2;
  }

  /** Starts the health checks in the load balancer's namespace. */
  async start(): Promise<void> {
    const child = spawn('ip', [
      'netns', 'exec', this.options.network.balancerNamespace,
      process.execPath, require.resolve('tsx/cli'), join(__dirname, 'health-prober.ts'), '--interval-ms', String(this.intervalMs),
    ], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    this.prober = child;
    this.exited = new Promise((done) => child.once('exit', () => done()));
    let errors = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    const ready = await new Promise<boolean>((done) => {
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const event = JSON.parse(line) as { ready?: boolean; round?: Array<[string, boolean]> };
        if (event.ready) done(true);
        if (event.round) this.checked(event.round);
      });
      void this.exited!.then(() => done(false));
      setTimeout(() => done(false), 30_000).unref();
    });
    if (!ready) {
      await this.stop();
      throw new Error(`the load balancer's health checks did not start: ${errors.trim() || 'no output'}`);
    }
    this.apply();
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    if (!this.prober) return;
    this.prober.stdin?.end();
    const killer = setTimeout(() => this.prober?.kill('SIGKILL'), 3_000);
    await this.exited;
    clearTimeout(killer);
    this.prober = undefined;
  }

  /** Registers task `task` (1-based): health-checked from now on, taking flows once healthy. */
  register(task: number): void {
    this.targets.set(task, { state: 'initial', streaks: new Map(), serving: new Set() });
    this.options.onChange?.(task, 'initial');
    this.sendTargets();
  }

  /**
   * Deregisters task `task`: no new flows from now on; its tracked flows end after `delayMs` (the
   * deregistration delay), right after `atDelayEnd` is called (ECS stops the task then). Resolves
   * then, with the number of flows ended.
   */
  deregister(task: number, delayMs: number, atDelayEnd?: () => void): Promise<number> {
    const target = this.targets.get(task);
    if (!target || target.state === 'unused' || target.state === 'draining') return Promise.resolve(0);
    this.setState(task, target, 'draining');
    target.serving.clear();
    this.sendTargets();
    this.apply();
    return new Promise((done) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        atDelayEnd?.();
        const ended = dropFlows(this.options.network, task);
        this.setState(task, target, 'unused');
        done(ended);
      }, delayMs);
      this.timers.add(timer);
    });
  }

  /** The state of task `task` (`unused` when it was never registered). */
  state(task: number): TargetState {
    return this.targets.get(task)?.state ?? 'unused';
  }

  /** Tasks taking new flows on `port`, as applied to the DNAT rules. */
  serving(port: number): number[] {
    return [...this.targets.entries()].filter(([, t]) => t.serving.has(port)).map(([task]) => task).sort((a, b) => a - b);
  }

  /** Waits until `task` takes new flows on every Listener port; rejects naming its state after `timeoutMs`. */
  async waitServing(task: number, timeoutMs: number): Promise<void> {
    const ports = [...this.options.healthPaths.keys()];
    const deadline = Date.now() + timeoutMs;
    while (!ports.every((port) => this.targets.get(task)?.serving.has(port))) {
      if (Date.now() > deadline) throw new Error(`task ${task} did not pass the load balancer's health checks within ${timeoutMs} ms (state ${this.state(task)})`);
      await new Promise<void>((done) => {
        this.waiters.add(done);
        setTimeout(done, 200).unref();
      });
    }
  }

  private sendTargets(): void {
    const { network, healthPaths, healthPort } = this.options;
    const targets: Array<{ id: string; url: string }> = [];
    for (const [task, target] of this.targets) {
      if (target.state === 'draining' || target.state === 'unused') continue;
      for (const [port, path] of healthPaths) targets.push({ id: `${task}:${port}`, url: `http://${network.taskAddresses[task - 1]}:${healthPort}${path}` });
    }
    this.prober?.stdin?.write(`${JSON.stringify({ targets })}\n`);
  }

  private checked(round: ReadonlyArray<[string, boolean]>): void {
    const failed = new Set<number>();
    for (const [id, passed] of round) {
      const [task, port] = id.split(':').map(Number);
      const target = this.targets.get(task);
      if (!target || target.state === 'draining' || target.state === 'unused') continue;
      const streak = target.streaks.get(port) ?? 0;
      const next = passed ? Math.max(streak, 0) + 1 : Math.min(streak, 0) - 1;
      target.streaks.set(port, next);
      if (next >= this.healthyThreshold) target.serving.add(port);
      if (-next >= this.unhealthyThreshold && target.serving.delete(port)) failed.add(task);
    }
    for (const [task, target] of this.targets) {
      if (target.state === 'draining' || target.state === 'unused') continue;
      const ports = [...this.options.healthPaths.keys()];
      if (ports.every((port) => target.serving.has(port))) this.setState(task, target, 'healthy');
      else if (ports.some((port) => -(target.streaks.get(port) ?? 0) >= this.unhealthyThreshold)) this.setState(task, target, 'unhealthy');
    }
    this.apply();
    for (const task of failed) dropFlows(this.options.network, task);
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  private setState(task: number, target: Target, state: TargetState): void {
    if (target.state === state) return;
    target.state = state;
    this.options.onChange?.(task, state);
  }

  /** Writes the DNAT rules when the tasks taking new flows changed. */
  private apply(): void {
    const targets = new Map<number, number[]>();
    for (const port of this.options.healthPaths.keys()) {
      let tasks = this.serving(port);
      // fail open: with no healthy target, every registered one (not draining) takes flows
      if (tasks.length === 0) tasks = [...this.targets.entries()].filter(([, t]) => t.state !== 'draining' && t.state !== 'unused').map(([task]) => task);
      targets.set(port, tasks);
    }
    const key = JSON.stringify([...targets]);
    if (key === this.applied) return;
    this.applied = key;
    setTargets(this.options.network, targets);
  }
}
