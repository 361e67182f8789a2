// The Windows side of bench/wine.mjs, run by Windows Node under Wine: kills the current run of a
// pguard process KILLS times and times each restart. argv: PROC_DIR (Windows path) KILLS.
// For each kill: the run named by runs.log's last start line is ended (TerminateProcess, its
// identity checked first), the time noted just before; then the new start line is awaited (polled
// every 2 ms), and its process's creation time read (GetProcessTimes): kill -> new process created,
// on the one clock both share. The next kill waits until the runner's background report of the
// restart (a Node start under Wine) has ended, and 300 ms more, as the Linux bench does (runs.log,
// only ever appended to, is polled every 2 ms).
// Prints one JSON line: [{ kill_at, exit_ended, start_started, created_ms }].
const koffi = require('@koromix/koffi-win32-x64');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const k32 = koffi.load('kernel32.dll');
koffi.struct('FILETIME', { lo: 'uint32', hi: 'uint32' });
const OpenProcess = k32.func('void* __stdcall OpenProcess(uint32 access, int inherit, uint32 pid)');
const CloseHandle = k32.func('int __stdcall CloseHandle(void* h)');
const GetProcessTimes = k32.func('int __stdcall GetProcessTimes(void* h, _Out_ FILETIME* c, _Out_ FILETIME* e, _Out_ FILETIME* k, _Out_ FILETIME* u)');
const TerminateProcess = k32.func('int __stdcall TerminateProcess(void* h, uint32 code)');
const PROCESSENTRY32W = koffi.struct('PROCESSENTRY32W', {
  dwSize: 'uint32', cntUsage: 'uint32', th32ProcessID: 'uint32', th32DefaultHeapID: 'uintptr_t', th32ModuleID: 'uint32',
  cntThreads: 'uint32', th32ParentProcessID: 'uint32', pcPriClassBase: 'int32', dwFlags: 'uint32', szExeFile: koffi.array('char16_t', 260, 'String'),
});
const CreateToolhelp32Snapshot = k32.func('void* __stdcall CreateToolhelp32Snapshot(uint32 flags, uint32 pid)');
const Process32FirstW = k32.func('int __stdcall Process32FirstW(void* snap, _Inout_ PROCESSENTRY32W* entry)');
const Process32NextW = k32.func('int __stdcall Process32NextW(void* snap, _Inout_ PROCESSENTRY32W* entry)');

/** [pid, ppid, exe] of every process (a Toolhelp snapshot). */
function processes() {
  const snap = CreateToolhelp32Snapshot(0x2 /* TH32CS_SNAPPROCESS */, 0);
  const out = [];
  try {
    const entry = { dwSize: koffi.sizeof(PROCESSENTRY32W) };
    for (let ok = Process32FirstW(snap, entry); ok; ok = Process32NextW(snap, entry)) out.push([entry.th32ProcessID, entry.th32ParentProcessID, entry.szExeFile]);
  } finally {
    CloseHandle(snap);
  }
  return out;
}
/** The runner's own children besides the run: its background report (`pguard on-exit`, a Node). */
const reports = (runner) => processes().filter(([, ppid, exe]) => ppid === runner && exe.toLowerCase() === 'node.exe').length;

const [procDir, kills] = [process.argv[2], Number(process.argv[3] ?? 10)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const FILETIME_EPOCH_MS = 11_644_473_600_000; // 1601-01-01 to 1970-01-01

/** Creation time of PID: the raw FILETIME (as pguard records it) and ms since 1970. */
function created(pid) {
  const h = OpenProcess(0x1000 | 0x0001 /* QUERY_LIMITED_INFORMATION | TERMINATE */, 0, pid);
  if (!h) return null;
  const c = {};
  const ok = GetProcessTimes(h, c, {}, {}, {});
  return ok ? { h, raw: String((BigInt(c.hi) << 32n) | BigInt(c.lo)), ms: Number(((BigInt(c.hi) << 32n) | BigInt(c.lo)) / 10_000n) - FILETIME_EPOCH_MS } : (CloseHandle(h), null);
}

function runs() {
  const lines = readFileSync(join(procDir, 'runs.log'), 'utf8').trim().split('\n');
  const starts = lines.filter((l) => l.startsWith('start ')).map((l) => l.split(' '));
  const exits = new Map(lines.filter((l) => l.startsWith('exit ')).map((l) => l.split(' ')).map((f) => [f[1], Number(f[3])]));
  return { starts, exits };
}

async function until(cond, ms, what, every = 2) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = cond();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(every);
  }
}

(async () => {
  const samples = [];
  for (let i = 0; i < kills; i++) {
    const before = runs().starts;
    const [, id, pid, start] = before.at(-1);
    const proc = created(Number(pid));
    if (!proc || proc.raw !== start) throw new Error(`run ${id} (pid ${pid}) is not running`);
    const killAt = Date.now();
    TerminateProcess(proc.h, 1);
    CloseHandle(proc.h);
    const next = await until(() => runs().starts.length > before.length && runs().starts.at(-1), 20_000, 'the new run');
    const ended = runs().exits.get(id);
    const fresh = created(Number(next[2]));
    if (fresh) CloseHandle(fresh.h);
    samples.push({ kill_at: killAt, exit_ended: ended, start_started: Number(next[5]), created_ms: fresh && fresh.raw === next[3] ? fresh.ms : null });
    // The restart's background report (a Windows Node, 100 ms after the restart): seen, then ended.
    // (Not state.json polled: on Windows a rename over a file someone has open fails, EPERM, and
    // pguard's write of the record is such a rename; see the report on src/effects/atomic-write.ts.)
    const runner = processes().find(([pid]) => pid === Number(next[2]))?.[1];
    if (runner !== undefined) {
      await until(() => reports(runner) > 0, 5_000, 'the background report', 20).catch(() => {});
      await until(() => reports(runner) === 0, 30_000, 'the background report to end', 20);
    }
    await sleep(300);
  }
  process.stdout.write(`${JSON.stringify(samples)}\n`);
})().catch((err) => { process.stderr.write(`wine-kill-loop: ${err.message}\n`); process.exit(1); });
