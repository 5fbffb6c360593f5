/**
 * How contended the host was during a benchmark run: the raw dgram send cost at its start and end
 * (host-send-cost.ts) and the CPU steal over the run (host-steal.ts). Written into the machine
 * section of bench/results.json and the Machine table of docs/BENCHMARKS.md.
 */
import { formatSendCost, SEND_COST_PAYLOAD_BYTES, SendCost } from './host-send-cost';
import { formatSteal, StealInterval } from './host-steal';

/** The host-contention record of one run. */
export interface HostContention {
  /** CPU time per raw dgram send of 1200 B on loopback at the start of the run. */
  readonly sendCostAtStart: SendCost;
  /** The same at the end of the run. */
  readonly sendCostAtEnd: SendCost;
  /** CPU steal over the whole run; null where /proc/stat is not available. */
  readonly steal: StealInterval | null;
}

/** The rows of the Machine table (and of the console's host table). */
export function hostContentionRows(host: HostContention | undefined): Array<[string, string]> {
  return [
    [`raw dgram send, ${SEND_COST_PAYLOAD_BYTES} B, CPU per send at start / end`, `${formatSendCost(host?.sendCostAtStart)} / ${formatSendCost(host?.sendCostAtEnd)}`],
    ['CPU steal during the run (s, % of the run\'s CPU time)', formatSteal(host?.steal)],
  ];
}

/** The line of a scenario's section: its CPU steal. */
export function scenarioStealLine(steal: StealInterval | null | undefined): string {
  return steal ? `CPU steal during this scenario: ${formatSteal(steal)} of its CPU time.` : 'CPU steal during this scenario: not available.';
}
