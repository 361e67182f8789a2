// Resident memory and CPU time of whole process trees, from one process-table snapshot (pidtree
// with pid -1 lists every ppid/pid pair in one `ps` call) and /proc.
import { readFileSync } from 'node:fs';
import pidtree from 'pidtree';

const PAGE_KB = 4; // /proc/PID/statm counts 4 KiB pages on Linux x86-64 and arm64
export const CLOCK_TICKS = 100; // USER_HZ: /proc/PID/stat times are in 1/100 s on Linux

export interface TreeUsage {
  readonly pids: number;
  readonly rssMb: number;
  /** utime + stime of every process in the tree, in clock ticks. */
  readonly cpuTicks: number;
}

export type ProcessTable = ReadonlyMap<number, readonly number[]>;

/** ppid -> children, for every process. */
export async function readProcessTable(): Promise<ProcessTable> {
  const pairs = (await pidtree(-1, { advanced: true })) as { ppid: number; pid: number }[];
  const children = new Map<number, number[]>();
  for (const { ppid, pid } of pairs) {
    const list = children.get(ppid);
    if (list) list.push(pid);
    else children.set(ppid, [pid]);
  }
  return children;
}

export function treeOf(table: ProcessTable, root: number): number[] {
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(table.get(out[i]!) ?? []));
  return out;
}

export function readTreeUsage(table: ProcessTable, root: number): TreeUsage {
  let rssKb = 0;
  let ticks = 0;
  let pids = 0;
  for (const pid of treeOf(table, root)) {
    try {
      const statm = readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ');
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      rssKb += Number(statm[1]) * PAGE_KB;
      ticks += Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
      pids++;
    } catch {
      /* exited meanwhile */
    }
  }
  return { pids, rssMb: Math.round((rssKb / 1024) * 10) / 10, cpuTicks: ticks };
}
