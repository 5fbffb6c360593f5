/**
 * Datagrams the kernel dropped before the gateway read them (a full socket receive buffer), as
 * the metric `ReceiveBufferDrops`: per task from the UDP counters of `/proc/net/snmp` and
 * `/proc/net/snmp6` (`RcvbufErrors`, `Udp6RcvbufErrors`), and per Listener from the `drops` column
 * of `/proc/net/udp` and `/proc/net/udp6`, matched by the Listener's port. Counters are read on a
 * timer and reported as increases; where the files do not exist (not Linux) nothing is reported.
 */
import { readFileSync } from 'node:fs';
import { MetricDimension, MetricName } from '../../lib/private/metrics';
import type { MetricsRecorder } from '../contracts';

/** Where the kernel's counters are read (replaceable in tests). */
export interface KernelCounterFiles {
  readonly snmp: string;
  readonly snmp6: string;
  readonly udp: string;
  readonly udp6: string;
}

export const PROC_NET: KernelCounterFiles = { snmp: '/proc/net/snmp', snmp6: '/proc/net/snmp6', udp: '/proc/net/udp', udp6: '/proc/net/udp6' };

/** The UDP receive-buffer errors of `/proc/net/snmp` (`Udp: … RcvbufErrors …`); undefined when absent. */
export function parseSnmpRcvbufErrors(text: string): number | undefined {
  const lines = text.split('\n').filter((l) => l.startsWith('Udp: '));
  if (lines.length < 2) return undefined;
  const names = lines[0].trim().split(/\s+/);
  const values = lines[1].trim().split(/\s+/);
  const at = names.indexOf('RcvbufErrors');
  return at < 0 ? undefined : Number(values[at]);
}

/** `Udp6RcvbufErrors` of `/proc/net/snmp6`; undefined when absent. */
export function parseSnmp6RcvbufErrors(text: string): number | undefined {
  const match = /^Udp6RcvbufErrors\s+(\d+)/m.exec(text);
  return match ? Number(match[1]) : undefined;
}

/** Drops per local port from `/proc/net/udp` or `/proc/net/udp6` (summed over sockets on the same port). */
export function parseSocketDrops(text: string): Map<number, number> {
  const drops = new Map<number, number>();
  const lines = text.split('\n');
  const header = lines[0]?.trim().split(/\s+/) ?? [];
  // the header names `tx_queue rx_queue` and `tr tm->when` as two columns each, the rows as one
  const dropsAt = header.indexOf('drops');
  if (dropsAt < 0) return drops;
  const column = dropsAt - 2;
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length <= column) continue;
    const port = parseInt(fields[1].split(':')[1] ?? '', 16);
    const count = Number(fields[column]);
    if (Number.isInteger(port) && Number.isFinite(count)) drops.set(port, (drops.get(port) ?? 0) + count);
  }
  return drops;
}

/** A Listener's name and bound port. */
export interface ListenerPort {
  readonly name: string;
  readonly port: number;
}

export interface KernelDropMonitorOptions {
  readonly metrics: MetricsRecorder;
  /** The running Listeners. */
  readonly listeners: () => readonly ListenerPort[];
  /** @default 10000 */
  readonly intervalMs?: number;
  /** @default PROC_NET */
  readonly files?: KernelCounterFiles;
}

/** Reads the kernel's drop counters on a timer and reports their increases. */
export class KernelDropMonitor {
  private readonly files: KernelCounterFiles;
  private readonly intervalMs: number;
  private timer?: NodeJS.Timeout;
  private lastTask?: number;
  /** Last per-socket count, by Listener name and port. */
  private lastByListener = new Map<string, number>();
  private readonly dimensions = new Map<string, Readonly<Record<string, string>>>();

  constructor(private readonly options: KernelDropMonitorOptions) {
    this.files = options.files ?? PROC_NET;
    this.intervalMs = options.intervalMs ?? 10_000;
  }

  start(): void {
    if (this.timer) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
  }

  /** Reads the counters now and reports what increased since the last reading. Never throws. */
  sample(): void {
    try {
      this.sampleTask();
      this.sampleListeners();
    } catch {
      // counters are best effort; the data plane goes on
    }
  }

  private sampleTask(): void {
    const v4 = parseSnmpRcvbufErrors(readText(this.files.snmp));
    const v6 = parseSnmp6RcvbufErrors(readText(this.files.snmp6));
    if (v4 === undefined && v6 === undefined) return;
    const total = (v4 ?? 0) + (v6 ?? 0);
    if (this.lastTask !== undefined && total > this.lastTask) this.options.metrics.increment(MetricName.ReceiveBufferDrops, total - this.lastTask);
    this.lastTask = total;
  }

  private sampleListeners(): void {
    const drops = parseSocketDrops(readText(this.files.udp));
    for (const [port, n] of parseSocketDrops(readText(this.files.udp6))) drops.set(port, (drops.get(port) ?? 0) + n);
    const next = new Map<string, number>();
    for (const { name, port } of this.options.listeners()) {
      const count = drops.get(port);
      if (count === undefined) continue;
      const key = `${name}:${port}`;
      const last = this.lastByListener.get(key);
      if (last !== undefined && count > last) this.options.metrics.increment(MetricName.ReceiveBufferDrops, count - last, this.dimensionsOf(name));
      next.set(key, count);
    }
    this.lastByListener = next;
  }

  private dimensionsOf(listener: string): Readonly<Record<string, string>> {
    let dims = this.dimensions.get(listener);
    if (!dims) {
      dims = Object.freeze({ [MetricDimension.Listener]: listener });
      this.dimensions.set(listener, dims);
    }
    return dims;
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
