/** The shape every benchmark scenario shares, and the context the runner hands it. */

/** Outcome of a scenario. */
export type ScenarioStatus = 'ok' | 'skipped' | 'pending' | 'failed';

/** A table for the console and docs/BENCHMARKS.md. */
export interface Table {
  readonly columns: readonly string[];
  readonly rows: ReadonlyArray<ReadonlyArray<string | number>>;
}

/** What a scenario reports. */
export interface ScenarioResult {
  readonly status: ScenarioStatus;
  /** Why it was skipped, is pending or failed. */
  readonly reason?: string;
  readonly tables?: ReadonlyArray<{ readonly caption?: string; readonly table: Table }>;
  /** Headline numbers (medians), merged into the shared figure map under their names. */
  readonly figures?: Readonly<Record<string, number>>;
  /** Every per-run measurement behind the figures. */
  readonly raw?: unknown;
  /** Method notes printed under the scenario's tables. */
  readonly notes?: readonly string[];
}

/** CPU placement: the role being measured and its partner (sender/receiver) on different cores. */
export interface CpuPlan {
  /** CPUs for the process under test; undefined means not pinned. */
  readonly measured?: readonly number[];
  /** CPUs for the partner process (load generator or counting receiver). */
  readonly partner?: readonly number[];
  /** Every CPU (for the scale-up scenario). */
  readonly all: readonly number[];
}

/** Everything a scenario may use. */
export interface ScenarioContext {
  /** Repetitions per measurement (the median is reported). */
  readonly runs: number;
  /** Seconds per throughput trial. */
  readonly trialMs: number;
  readonly cpus: CpuPlan;
  /** Figures already measured in this run (baselines first). */
  readonly figures: Readonly<Record<string, number>>;
  /** Whether root and wireguard-go are available, or why not. */
  readonly wireguardGo: { readonly available: boolean; readonly reason?: string };
  /** Progress output. */
  log(message: string): void;
}

/** A benchmark scenario. */
export interface Scenario {
  /** Stable key, used by `--only`. */
  readonly id: string;
  readonly title: string;
  /** What the scenario measures and the target it is held to. */
  readonly description: string;
  run(context: ScenarioContext): Promise<ScenarioResult>;
}
