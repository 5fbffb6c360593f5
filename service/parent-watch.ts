/**
 * Notices when the launcher chain above the process is gone, so that a gateway started through
 * `npm start` (npm → sh → projen → node) stops when the top of the chain is killed: npm passes
 * SIGTERM only to its shell, which exits without passing it on, and the rest of the chain would
 * otherwise keep running with the gateway's ports.
 *
 * On Linux the watched chain is every ancestor in the process's own process group (the job the
 * shell started, up to its leader: npm in `npm start`), read from `/proc`: the chain is broken
 * when one of them exits or is re-parented. An ancestor outside the group (the user's shell, a
 * `nohup`) may come and go. Elsewhere only the parent is watched (`process.ppid` changes when it
 * exits). Polls once a second; the timer does not keep the process alive.
 */
import { readFileSync } from 'node:fs';

/** One watched ancestor: its pid, parent and start time (so a reused pid is not mistaken for it). */
interface Ancestor {
  readonly pid: number;
  readonly ppid: number;
  readonly startTime: string;
  /** The process-group leader: only its existence is watched, not its parent. */
  readonly leader: boolean;
}

interface ProcStat {
  /** `Z`: exited, not yet reaped. */
  readonly state: string;
  readonly ppid: number;
  readonly pgrp: number;
  readonly startTime: string;
}

export interface ParentWatchOptions {
  /** Called once, when the chain is broken. */
  readonly onParentExit: (detail: string) => void;
  /** @default 1000 */
  readonly intervalMs?: number;
}

/** A running watch. */
export interface ParentWatch {
  /** The ancestors watched (pids), nearest first; empty when only `process.ppid` is watched. */
  readonly ancestors: readonly number[];
  stop(): void;
}

/** Starts watching the launcher chain above this process. */
export function watchParent(options: ParentWatchOptions): ParentWatch {
  const initialPpid = process.ppid;
  const chain = launcherChain();
  const timer = setInterval(() => {
    const broken = chain ? brokenAncestor(chain) : process.ppid !== initialPpid ? `parent ${initialPpid} exited` : undefined;
    if (broken === undefined && process.ppid === initialPpid) return;
    clearInterval(timer);
    options.onParentExit(broken ?? `parent ${initialPpid} exited`);
  }, options.intervalMs ?? 1000);
  timer.unref();
  return { ancestors: chain?.map((a) => a.pid) ?? [], stop: () => clearInterval(timer) };
}

/** The ancestors in this process's group, nearest first; undefined without `/proc`. */
function launcherChain(): Ancestor[] | undefined {
  const self = readStat(process.pid);
  if (!self) return undefined;
  const chain: Ancestor[] = [];
  let pid = self.ppid;
  while (pid > 1) {
    const stat = readStat(pid);
    if (!stat || stat.pgrp !== self.pgrp) break;
    const leader = pid === self.pgrp;
    chain.push({ pid, ppid: stat.ppid, startTime: stat.startTime, leader });
    if (leader) break;
    pid = stat.ppid;
  }
  return chain;
}

function brokenAncestor(chain: readonly Ancestor[]): string | undefined {
  for (const a of chain) {
    const now = readStat(a.pid);
    if (!now || now.state === 'Z' || now.startTime !== a.startTime) return `launcher process ${a.pid} exited`;
    if (!a.leader && now.ppid !== a.ppid) return `launcher process ${a.pid} lost its parent ${a.ppid}`;
  }
  return undefined;
}

/** Fields of `/proc/<pid>/stat` (after the command name, which may hold spaces and parentheses). */
function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): ppid is field 4, pgrp 5, starttime 22
  const ppid = Number(fields[1]);
  const pgrp = Number(fields[2]);
  if (!Number.isInteger(ppid) || !Number.isInteger(pgrp)) return undefined;
  return { state: fields[0], ppid, pgrp, startTime: fields[19] ?? '' };
}
