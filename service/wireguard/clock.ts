/**
 * Time as the WireGuard device sees it. Everything time-driven (timers, session ages, cookie
 * rotation, rate limits, TAI64N timestamps) goes through a {@link Clock}, so tests drive time by
 * hand instead of waiting.
 */

/** An opaque timer handle returned by {@link Clock.setTimer}. */
export type TimerHandle = unknown;

/** Time source and timer scheduler. */
export interface Clock {
  /** Monotonic time in milliseconds (only differences matter). */
  now(): number;
  /** Wall-clock time in epoch milliseconds (TAI64N handshake timestamps). */
  epochMs(): number;
  /** Calls `callback` once after `delayMs`. The timer must not keep the process alive. */
  setTimer(callback: () => void, delayMs: number): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}

/** The real clock: performance.now(), Date.now() and unref'd node timers. */
export const SYSTEM_CLOCK: Clock = {
  now: () => performance.now(),
  epochMs: () => Date.now(),
  setTimer: (callback, delayMs) => {
    const timer = setTimeout(callback, Math.max(0, Math.ceil(delayMs)));
    timer.unref();
    return timer;
  },
  clearTimer: (handle) => clearTimeout(handle as NodeJS.Timeout),
};
