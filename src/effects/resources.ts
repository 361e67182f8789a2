// Resident memory and CPU time of whole process trees, from one process-table snapshot (pidtree
// with pid -1 lists every ppid/pid pair in one `ps` call) and /proc.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { procStatFields as statFieldsOf } from './identity.js';
import { jobUsage, processCreationTime, workingSetBytes } from './win/kernel32.js';

const PAGE_KB = 4; // /proc/PID/stat's rss counts 4 KiB pages on Linux x86-64 and arm64
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
  // One stat a process gives its CPU time, resident pages and threads; a single-threaded process's
  // children are all in one file (status reads this for every running process: at 5,000 the
  // files read a process are most of its cost).
  let rssPages = 0;
  let ticks = 0;
  let pids = 0;
  const tree: number[] = [root];
  for (let i = 0; i < tree.length; i++) {
    const pid = tree[i]!;
    const f = statFieldsOf(pid);
    if (!f) {
      if (i === 0) return null; // the root is gone
      continue; // a member exited meanwhile: what was read stands
    }
    rssPages += Number(f[21]); // rss (field 24), in pages
    ticks += Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
    pids++;
    try {
      const tids = Number(f[17]) === 1 ? [String(pid)] : readdirSync(`/proc/${pid}/task`); // num_threads (field 20)
      for (const tid of tids) {
        const kids = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
        if (kids) tree.push(...kids.split(' ').map(Number));
      }
    } catch {
      if (i === 0) return null; // no children files (or the root just exited): use a table
    }
  }
  return { pids, rssMb: Math.round(((rssPages * PAGE_KB) / 1024) * 10) / 10, cpuTicks: ticks };
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
  let rssPages = 0;
  let ticks = 0;
  let pids = 0;
  for (const pid of tree) {
    const f = statFieldsOf(pid);
    if (!f) continue; // exited meanwhile
    rssPages += Number(f[21]);
    ticks += Number(f[11]) + Number(f[12]);
    pids++;
  }
  return { pids, rssMb: Math.round(((rssPages * PAGE_KB) / 1024) * 10) / 10, cpuTicks: ticks };
}
