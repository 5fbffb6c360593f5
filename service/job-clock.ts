/**
 * Clock readings shared by the work of one synchronous job: the first reading in a job reads the
 * clock, later readings in the same job get the same value, and the first one after the job's
 * microtask checkpoint reads the clock again. A sourced message's entries are all handed to the
 * Listener in one job (and a receive's messages with them), so their flow checks and send
 * deadlines read the clock once instead of once per packet or message: a reading costs 75–120 ns
 * of CPU on the machines measured, as much as the rest of a flow check.
 *
 * A reading is at most as old as the job that asked first has run: use these clocks only where
 * that does not matter (flow idleness of seconds, send timeouts and deadlines of seconds), never
 * for timestamps that are recorded.
 */

/** A clock read at most once per job. */
export class JobClock {
  private value = 0;
  private valid = false;
  /** Ends the reading at the job's microtask checkpoint (a native promise: fake timers leave it alone). */
  private readonly expire: () => void;

  constructor(private readonly read: () => number) {
    this.expire = () => {
      this.valid = false;
    };
  }

  /** The clock as first read in this job. */
  now(): number {
    if (!this.valid) {
      this.value = this.read();
      this.valid = true;
      void RESOLVED.then(this.expire);
    }
    return this.value;
  }
}

const RESOLVED = Promise.resolve();

/** Epoch milliseconds (`Date.now`), read once per job. */
export const wallClockOfJob = new JobClock(() => Date.now());

/** Monotonic milliseconds (`performance.now`), read once per job. */
export const monotonicClockOfJob = new JobClock(() => performance.now());
