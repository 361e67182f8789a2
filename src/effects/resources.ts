// Resident memory and CPU time of whole process trees, from one process-table snapshot (pidtree
// with pid -1 lists every ppid/pid pair in one `ps` call) and /proc.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { jobUsage, processCreationTime, workingSetBytes } from './win/kernel32.js';

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
  // Windows: a run's tree is its job object (kill.ts, readRunUsageWindows), and pidtree would run
  // wmic, which recent Windows lacks and Wine cannot run.
  if (process.platform === 'win32') return new Map();
  // Loaded here, not at start-up: pidtree loads child_process (and with it net), which the
  // commands that read /proc alone (status) never need.
  const { default: pidtree } = await import('pidtree');
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

/**
 * The tree under `root` read from /proc alone (each task's `children` file), without a process
 * table: a few file reads, fast enough to sample a growing process several times a second. null
 * where the kernel has no `children` files (then use a table).
 */
export function readTreeUsageLive(root: number): TreeUsage | null {
  if (process.platform === 'win32') return readRunUsageWindows(root);
  const tree: number[] = [root];
  try {
    for (let i = 0; i < tree.length; i++) {
      const pid = tree[i]!;
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const kids = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
        if (kids) tree.push(...kids.split(' ').map(Number));
      }
    }
  } catch (err) {
    if (tree.length === 1) return null; // no children files, or the root is gone
    void err; // a member exited meanwhile: what was read stands
  }
  return usageOf(tree);
}

/** Whether trees can be read from /proc alone (CONFIG_PROC_CHILDREN), or a run's job on Windows: then no `ps` is spawned for them. */
export function canReadTreesLive(): boolean {
  return process.platform === 'win32' || existsSync(`/proc/self/task/${process.pid}/children`);
}

/**
 * Windows: a run's tree is its job object (runner-win/main.ts): its live processes' working sets,
 * and the CPU time of all it held, in Linux's clock ticks (1/100 s). A run outside any job: itself.
 */
function readRunUsageWindows(root: number): TreeUsage | null {
  const startTime = processCreationTime(root);
  if (startTime === null) return null;
  const job = jobUsage(root, startTime);
  if (job) return { pids: job.pids.length, rssMb: Math.round((job.workingSetBytes / 1024 / 1024) * 10) / 10, cpuTicks: Number(job.cpu100ns / 100_000n) };
  const ws = workingSetBytes(root);
  return ws === null ? null : { pids: 1, rssMb: Math.round((ws / 1024 / 1024) * 10) / 10, cpuTicks: 0 };
}

export function readTreeUsage(table: ProcessTable, root: number): TreeUsage {
  return usageOf(treeOf(table, root));
}

function usageOf(tree: readonly number[]): TreeUsage {
  let rssKb = 0;
  let ticks = 0;
  let pids = 0;
  for (const pid of tree) {
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
