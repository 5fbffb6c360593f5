/**
 * CPU time of this process, and of its main thread alone (Linux: the utime and stime of its task
 * in /proc, in clock ticks of 10 ms; read over rounds of a second or more).
 */
import { readFileSync } from 'node:fs';

/** CPU time of the main thread (the process's first task), µs. */
export function mainThreadCpuUs(): number {
  const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/** CPU time of the whole process (every thread), µs. */
export function processCpuUs(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}
