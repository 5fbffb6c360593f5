/**
 * The protocol's time and message limits (whitepaper §6.1), as overridable settings so tests and
 * interop runs can shorten them. Defaults are the values every WireGuard implementation uses.
 */

/** Limits that drive rekeying, expiry, retries and keepalives. Times in milliseconds. */
export interface WireGuardTimers {
  /** Rekey-After-Time: the initiator of a session starts a new handshake when sending on a key this old. */
  readonly rekeyAfterTimeMs: number;
  /** Reject-After-Time: keys this old are never used again. */
  readonly rejectAfterTimeMs: number;
  /** Rekey-Attempt-Time: how long handshake retries go on before giving up. */
  readonly rekeyAttemptTimeMs: number;
  /** Rekey-Timeout: wait before retrying an unanswered initiation (plus jitter). */
  readonly rekeyTimeoutMs: number;
  /** Largest random jitter added to Rekey-Timeout. */
  readonly rekeyTimeoutJitterMs: number;
  /** Keepalive-Timeout: a passive keepalive goes out this long after data arrived with nothing sent back. */
  readonly keepaliveTimeoutMs: number;
  /** Rekey-After-Messages: a new handshake starts once this many messages were sent on a key. */
  readonly rekeyAfterMessages: number;
  /** Reject-After-Messages: a key is never used for more than this many messages. */
  readonly rejectAfterMessages: number;
  /** Initiations from one peer closer together than this are dropped (handshake flood). */
  readonly initiationMinIntervalMs: number;
}

/** The whitepaper's values. */
export const DEFAULT_TIMERS: WireGuardTimers = {
  rekeyAfterTimeMs: 120_000,
  rejectAfterTimeMs: 180_000,
  rekeyAttemptTimeMs: 90_000,
  rekeyTimeoutMs: 5_000,
  rekeyTimeoutJitterMs: 334,
  keepaliveTimeoutMs: 10_000,
  rekeyAfterMessages: 2 ** 60,
  // 2^64 − 2^13 − 1 is not a double; the nearest one (2^64 − 2^13) orders the same against every
  // counter a sender can actually reach (counters stay far below 2^53).
  rejectAfterMessages: 2 ** 64 - 2 ** 13 - 1,
  initiationMinIntervalMs: 20,
};

/** Fills unset fields with the defaults and checks the result is coherent. */
export function resolveTimers(overrides: Partial<WireGuardTimers> = {}): WireGuardTimers {
  const timers = { ...DEFAULT_TIMERS, ...stripUndefined(overrides) };
  for (const [name, value] of Object.entries(timers)) {
    if (typeof value !== 'number' || !(value >= 0)) throw new Error(`WireGuard timer ${name} must be a number ≥ 0, got ${String(value)}`);
  }
  if (timers.rekeyAfterTimeMs >= timers.rejectAfterTimeMs) {
    throw new Error(`rekeyAfterTimeMs (${timers.rekeyAfterTimeMs}) must be below rejectAfterTimeMs (${timers.rejectAfterTimeMs})`);
  }
  if (timers.rekeyAfterMessages >= timers.rejectAfterMessages) {
    throw new Error(`rekeyAfterMessages (${timers.rekeyAfterMessages}) must be below rejectAfterMessages (${timers.rejectAfterMessages})`);
  }
  if (timers.rekeyTimeoutMs <= 0) throw new Error('rekeyTimeoutMs must be above 0');
  return timers;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [key, v] of Object.entries(value)) if (v !== undefined) (out as Record<string, unknown>)[key] = v;
  return out;
}
