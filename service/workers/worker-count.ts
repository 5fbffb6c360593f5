/**
 * How many data-plane workers a task runs: the `workers` option or PACKET_GATEWAY_WORKERS, else
 * the task's vCPUs; one where the runtime's dgram sockets have no `reusePort` (Node < 22.12),
 * since without it only one socket can hold a Listener's port. Pure: the caller logs the reason.
 */
import { availableParallelism } from 'node:os';
import { inIntegerRange, WORKERS_PER_TASK } from '../../lib/private/limits';
import { ServiceEnvironment } from '../../lib/private/service-environment';

/** First Node.js release whose dgram sockets take `reusePort`. */
const REUSE_PORT_SINCE: readonly [number, number] = [22, 12];

/** The worker count decided, and why it is lower than asked when it is. */
export interface WorkerCount {
  /** Workers to run (1: the data plane runs on the main thread only). */
  readonly count: number;
  /** What was asked for (option, environment or vCPUs), before the runtime's limit. */
  readonly requested: number;
  /** Why `count` is below `requested`. */
  readonly limitedBy?: string;
}

/** What {@link resolveWorkerCount} decides from. */
export interface WorkerCountInputs {
  /** An explicit count (a flag or a test). @default - from `env`, else `vcpus` */
  readonly requested?: number;
  /** Environment to read {@link ServiceEnvironment.Workers} from. @default {} */
  readonly env?: NodeJS.ProcessEnv;
  /** The task's vCPUs. @default os.availableParallelism() */
  readonly vcpus?: number;
  /** Runtime version, `process.versions.node` form. @default process.versions.node */
  readonly nodeVersion?: string;
  /** A reason the data plane must stay on one worker (a feature that does not run with workers yet). */
  readonly singleWorkerReason?: string;
}

/** Log message (WARN) of a data plane held to one worker (`count` 1), naming what was asked and why. */
export function oneWorkerLogMessage(decided: Pick<WorkerCount, 'requested' | 'limitedBy'>): string {
  return `the data plane runs one worker, not ${decided.requested}: ${decided.limitedBy}`;
}

/** Parses a worker count; throws naming the value and the allowed range. */
export function parseWorkerCount(text: string, source: string = ServiceEnvironment.Workers): number {
  const value = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!inIntegerRange(value, WORKERS_PER_TASK)) {
    throw new Error(`${source} must be ${WORKERS_PER_TASK.allowed}, got ${JSON.stringify(text)}`);
  }
  return value;
}

/** One worker per vCPU, within {@link WORKERS_PER_TASK}. */
export function vcpuWorkerCount(vcpus: number = availableParallelism()): number {
  return Math.max(WORKERS_PER_TASK.min, Math.min(WORKERS_PER_TASK.max, vcpus));
}

/** Whether dgram sockets of runtime `version` take `reusePort`. */
export function dgramHasReusePort(version: string = process.versions.node): boolean {
  const [major, minor] = version.split('.').map((part) => Number(part));
  return major > REUSE_PORT_SINCE[0] || (major === REUSE_PORT_SINCE[0] && minor >= REUSE_PORT_SINCE[1]);
}

/** Decides the worker count; throws when an explicit count is outside {@link WORKERS_PER_TASK}. */
export function resolveWorkerCount(inputs: WorkerCountInputs = {}): WorkerCount {
  const envText = inputs.env?.[ServiceEnvironment.Workers];
  let requested: number;
  if (inputs.requested !== undefined) {
    if (!inIntegerRange(inputs.requested, WORKERS_PER_TASK)) {
      throw new Error(`workers must be ${WORKERS_PER_TASK.allowed}, got ${String(inputs.requested)}`);
    }
    requested = inputs.requested;
  } else if (envText !== undefined && envText.trim() !== '') {
    requested = parseWorkerCount(envText);
  } else {
    requested = vcpuWorkerCount(inputs.vcpus);
  }
  if (requested === 1) return { count: 1, requested };
  const version = inputs.nodeVersion ?? process.versions.node;
  if (!dgramHasReusePort(version)) {
    return { count: 1, requested, limitedBy: `Node.js ${version} has no reusePort on dgram sockets (needs ${REUSE_PORT_SINCE.join('.')} or later)` };
  }
  if (inputs.singleWorkerReason !== undefined) return { count: 1, requested, limitedBy: inputs.singleWorkerReason };
  return { count: requested, requested };
}
