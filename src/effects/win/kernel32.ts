// The few Windows process calls pguard needs and Node does not offer, through koffi (koffi.ts),
// loaded at the first call, never on Linux or macOS.
//   - A process's creation time (GetProcessTimes): with its PID, its identity (identity.ts), so a
//     reused PID is never signalled. Windows has no boot ID; a creation time is an absolute time
//     (100 ns since 1601), so PID + creation time names one process across boots too.
//   - Job objects: a run and everything it starts, ended together (TerminateJobObject), what a
//     process group is on Linux. Named after the run's identity, so a stop finds it without the
//     runner that made it.
//   - Working set (K32GetProcessMemoryInfo) for status and limits.
import { dll as load, koffi } from './koffi.js';

type Handle = object | null;
interface Fn<A extends unknown[], R> { (...args: A): R }
interface Kernel32 {
  OpenProcess: Fn<[access: number, inherit: number, pid: number], Handle>;
  CloseHandle: Fn<[h: Handle], number>;
  GetProcessTimes: Fn<[h: Handle, c: FileTime, e: FileTime, k: FileTime, u: FileTime], number>;
  GetExitCodeProcess: Fn<[h: Handle, code: number[]], number>;
  TerminateProcess: Fn<[h: Handle, code: number], number>;
  CreateJobObjectW: Fn<[sa: null, name: string], Handle>;
  OpenJobObjectW: Fn<[access: number, inherit: number, name: string], Handle>;
  AssignProcessToJobObject: Fn<[job: Handle, proc: Handle], number>;
  TerminateJobObject: Fn<[job: Handle, code: number], number>;
  QueryInformationJobObject: Fn<[job: Handle, cls: number, info: JobAccounting, size: number, ret: null], number>;
  QueryInformationJobObjectRaw: Fn<[job: Handle, cls: number, info: Buffer, size: number, ret: null], number>;
  K32GetProcessMemoryInfo: Fn<[h: Handle, info: MemoryCounters, size: number], number>;
  SetConsoleCtrlHandler: Fn<[handler: null, add: number], number>;
  FreeConsole: Fn<[], number>;
  AttachConsole: Fn<[pid: number], number>;
  GenerateConsoleCtrlEvent: Fn<[event: number, group: number], number>;
}
interface FileTime { lo?: number; hi?: number }
interface JobAccounting { ActiveProcesses?: number }
interface MemoryCounters { WorkingSetSize?: number | bigint }

const PROCESS_QUERY_LIMITED_INFORMATION = 0x1000;
const PROCESS_TERMINATE = 0x0001;
const PROCESS_SET_QUOTA = 0x0100;
const STILL_ACTIVE = 259;
const JOB_OBJECT_QUERY = 0x0004;
const JOB_OBJECT_TERMINATE = 0x0008;
const JobObjectBasicAccountingInformation = 1;
const JobObjectBasicProcessIdList = 3;

let k32: Kernel32 | null = null;
let sizes = { accounting: 0, memory: 0 };

function lib(): Kernel32 {
  if (k32) return k32;
  const k = koffi();
  const dll = load('kernel32.dll');
  k.struct('FILETIME', { lo: 'uint32', hi: 'uint32' });
  const accounting = k.struct('JOBOBJECT_BASIC_ACCOUNTING_INFORMATION', {
    TotalUserTime: 'int64', TotalKernelTime: 'int64', ThisPeriodTotalUserTime: 'int64', ThisPeriodTotalKernelTime: 'int64',
    TotalPageFaultCount: 'uint32', TotalProcesses: 'uint32', ActiveProcesses: 'uint32', TotalTerminatedProcesses: 'uint32',
  });
  const memory = k.struct('PROCESS_MEMORY_COUNTERS', {
    cb: 'uint32', PageFaultCount: 'uint32', PeakWorkingSetSize: 'size_t', WorkingSetSize: 'size_t', QuotaPeakPagedPoolUsage: 'size_t',
    QuotaPagedPoolUsage: 'size_t', QuotaPeakNonPagedPoolUsage: 'size_t', QuotaNonPagedPoolUsage: 'size_t', PagefileUsage: 'size_t', PeakPagefileUsage: 'size_t',
  });
  sizes = { accounting: k.sizeof(accounting), memory: k.sizeof(memory) };
  k32 = {
    OpenProcess: dll.func('void* __stdcall OpenProcess(uint32 access, int inherit, uint32 pid)'),
    CloseHandle: dll.func('int __stdcall CloseHandle(void* h)'),
    GetProcessTimes: dll.func('int __stdcall GetProcessTimes(void* h, _Out_ FILETIME* c, _Out_ FILETIME* e, _Out_ FILETIME* k, _Out_ FILETIME* u)'),
    GetExitCodeProcess: dll.func('int __stdcall GetExitCodeProcess(void* h, _Out_ uint32* code)'),
    TerminateProcess: dll.func('int __stdcall TerminateProcess(void* h, uint32 code)'),
    CreateJobObjectW: dll.func('void* __stdcall CreateJobObjectW(void* sa, const char16_t* name)'),
    OpenJobObjectW: dll.func('void* __stdcall OpenJobObjectW(uint32 access, int inherit, const char16_t* name)'),
    AssignProcessToJobObject: dll.func('int __stdcall AssignProcessToJobObject(void* job, void* proc)'),
    TerminateJobObject: dll.func('int __stdcall TerminateJobObject(void* job, uint32 code)'),
    QueryInformationJobObject: dll.func('int __stdcall QueryInformationJobObject(void* job, int cls, _Out_ JOBOBJECT_BASIC_ACCOUNTING_INFORMATION* info, uint32 size, void* ret)'),
    QueryInformationJobObjectRaw: dll.func('__stdcall', 'QueryInformationJobObject', 'int', ['void*', 'int', 'void*', 'uint32', 'void*']),
    K32GetProcessMemoryInfo: dll.func('int __stdcall K32GetProcessMemoryInfo(void* h, _Inout_ PROCESS_MEMORY_COUNTERS* info, uint32 size)'),
    SetConsoleCtrlHandler: dll.func('int __stdcall SetConsoleCtrlHandler(void* h, int add)'),
    FreeConsole: dll.func('int __stdcall FreeConsole()'),
    AttachConsole: dll.func('int __stdcall AttachConsole(uint32 pid)'),
    GenerateConsoleCtrlEvent: dll.func('int __stdcall GenerateConsoleCtrlEvent(uint32 ev, uint32 group)'),
  };
  return k32;
}

function withProcess<T>(pid: number, access: number, fn: (k: Kernel32, h: Handle) => T): T | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  const k = lib();
  const h = k.OpenProcess(access, 0, pid);
  if (!h) return null;
  try {
    return fn(k, h);
  } finally {
    k.CloseHandle(h);
  }
}

/** The run's job, opened by its name for ACCESS, given to FN and closed; null when there is no such job. */
function withJob<T>(pid: number, startTime: string, access: number, fn: (k: Kernel32, job: Handle) => T): T | null {
  const k = lib();
  const job = k.OpenJobObjectW(access, 0, runJobName(pid, startTime));
  if (!job) return null;
  try {
    return fn(k, job);
  } finally {
    k.CloseHandle(job);
  }
}

/**
 * The creation time of live process PID (100 ns units since 1601, as a decimal string), or null
 * when there is none: no such PID, one we may not open, or one that has exited (an exited process
 * whose handle someone still holds is Windows' zombie). `exited`: the time even of an exited
 * process, which the caller holds a handle to (its parent, before the exit is seen).
 */
export function processCreationTime(pid: number, opts: { exited?: boolean } = {}): string | null {
  return withProcess(pid, PROCESS_QUERY_LIMITED_INFORMATION, (k, h) => {
    const code = [0];
    if (!opts.exited && (!k.GetExitCodeProcess(h, code) || code[0] !== STILL_ACTIVE)) return null;
    const c: FileTime = {}; const e: FileTime = {}; const kt: FileTime = {}; const u: FileTime = {};
    if (!k.GetProcessTimes(h, c, e, kt, u)) return null;
    return String((BigInt(c.hi ?? 0) << 32n) | BigInt(c.lo ?? 0));
  });
}

/** TerminateProcess(PID, code): true when it was done. The caller has checked the identity. */
export function terminateProcess(pid: number, code = 1): boolean {
  return withProcess(pid, PROCESS_TERMINATE, (k, h) => k.TerminateProcess(h, code) !== 0) ?? false;
}

/** The working set of PID in bytes, or null. */
export function workingSetBytes(pid: number): number | null {
  return withProcess(pid, PROCESS_QUERY_LIMITED_INFORMATION, (k, h) => {
    const info: MemoryCounters & { cb: number } = { cb: sizes.memory };
    return k.K32GetProcessMemoryInfo(h, info, sizes.memory) ? Number(info.WorkingSetSize ?? 0) : null;
  });
}

/** The job object name of a run: from its identity alone, so that whoever stops it can find it. */
export function runJobName(pid: number, startTime: string): string {
  return `Local\\pguard-run-${pid}-${startTime}`;
}

/**
 * Put the run PID into a new job named after its identity. False when it could not: a job of that
 * name exists already (not ours: someone made it first), or Windows refused.
 */
export function jobForRun(pid: number, startTime: string): Handle | false {
  const k = lib();
  const name = runJobName(pid, startTime);
  const existing = k.OpenJobObjectW(JOB_OBJECT_QUERY, 0, name);
  if (existing) {
    k.CloseHandle(existing);
    return false;
  }
  const job = k.CreateJobObjectW(null, name);
  if (!job) return false;
  const ok = withProcess(pid, PROCESS_SET_QUOTA | PROCESS_TERMINATE, (kk, h) => kk.AssignProcessToJobObject(job, h) !== 0) ?? false;
  if (!ok) {
    k.CloseHandle(job);
    return false;
  }
  return job;
}

/**
 * What the run's job holds now: its live processes' PIDs, their working sets summed, and the CPU
 * time of every process it ever held (100 ns units). null when there is no such job.
 */
export function jobUsage(pid: number, startTime: string): { pids: number[]; workingSetBytes: number; cpu100ns: bigint } | null {
  return withJob(pid, startTime, JOB_OBJECT_QUERY, (k, job) => {
    const info: JobAccounting & { TotalUserTime?: number | bigint; TotalKernelTime?: number | bigint } = {};
    if (!k.QueryInformationJobObject(job, JobObjectBasicAccountingInformation, info, sizes.accounting, null)) return null;
    // JOBOBJECT_BASIC_PROCESS_ID_LIST: two DWORDs, then ULONG_PTR PIDs.
    const list = Buffer.alloc(8 + 8 * 256);
    const pids: number[] = [];
    if (k.QueryInformationJobObjectRaw(job, JobObjectBasicProcessIdList, list, list.length, null)) {
      const n = list.readUInt32LE(4);
      for (let i = 0; i < n; i++) pids.push(Number(list.readBigUInt64LE(8 + 8 * i)));
    }
    let ws = 0;
    for (const p of pids) ws += workingSetBytes(p) ?? 0;
    return { pids, workingSetBytes: ws, cpu100ns: BigInt(info.TotalUserTime ?? 0) + BigInt(info.TotalKernelTime ?? 0) };
  });
}

/** How many processes of the run's job are alive (0 when there is no such job). */
export function jobActiveProcesses(pid: number, startTime: string): number {
  return withJob(pid, startTime, JOB_OBJECT_QUERY, (k, job) => {
    const info: JobAccounting = {};
    return k.QueryInformationJobObject(job, JobObjectBasicAccountingInformation, info, sizes.accounting, null) ? info.ActiveProcesses ?? 0 : 0;
  }) ?? 0;
}

/** End every process of the run's job. False when there is no such job (nothing was in it, or it is gone). */
export function terminateRunJob(pid: number, startTime: string, code = 1): boolean {
  return withJob(pid, startTime, JOB_OBJECT_TERMINATE, (k, job) => k.TerminateJobObject(job, code) !== 0) ?? false;
}

/**
 * Let this process's future children take Ctrl-C. Node starts the runner detached, in a new process
 * group, which makes it ignore Ctrl-C, an attribute every process it creates inherits: a stop's
 * Ctrl-C (sendCtrlC) would reach no run.
 */
export function inheritCtrlC(): void {
  lib().SetConsoleCtrlHandler(null, 0);
}

/**
 * Ctrl-C to every process attached to PID's console (each run has a console of its own, with no
 * window): what a console program takes as SIGINT (Node's 'SIGINT', Python's KeyboardInterrupt).
 * This process leaves its own console to attach to that one, so it is called only by the runner,
 * which has none; it gets the Ctrl-C too, and must have a handler that ignores it.
 */
export function sendCtrlC(pid: number): boolean {
  const k = lib();
  k.FreeConsole();
  if (!k.AttachConsole(pid)) return false;
  const ok = k.GenerateConsoleCtrlEvent(0 /* CTRL_C_EVENT */, 0 /* every process on the console */) !== 0;
  k.FreeConsole();
  return ok;
}

export function closeHandle(h: Handle): void {
  if (h) lib().CloseHandle(h);
}
