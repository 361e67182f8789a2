// A run, started the way Windows puts a process into a job before it can do anything: created
// suspended (CREATE_SUSPENDED), put into its job by the caller, then let go (ResumeThread). Node's
// spawn cannot do this: the child it starts runs at once, and what it started in its first instant
// (`start "" /b server.exe & ...`) was created before the runner could assign it, outside the job,
// and outlived a stop (found by test/win/wine.test.ts, stop of a tree).
// The exit is awaited on one of koffi's worker threads (WaitForSingleObject), not polled.
import { dll, koffi } from '../effects/win/koffi.js';

const CREATE_SUSPENDED = 0x4;
const CREATE_UNICODE_ENVIRONMENT = 0x400;
const CREATE_NO_WINDOW = 0x0800_0000;
const STARTF_USESHOWWINDOW = 0x1;
const STARTF_USESTDHANDLES = 0x100;
const SW_HIDE = 0;
const INFINITE = 0xffff_ffff;
const STD_OUTPUT_HANDLE = 0xffff_fff5; // (DWORD)-11
const STD_ERROR_HANDLE = 0xffff_fff4; // (DWORD)-12
const HANDLE_FLAG_INHERIT = 0x1;

type Handle = object | null;
let api: any = null;
function lib(): any {
  if (api) return api;
  const k = koffi();
  const k32 = dll('kernel32.dll');
  const startupInfo = k.struct('STARTUPINFOW', {
    cb: 'uint32', lpReserved: 'void*', lpDesktop: 'void*', lpTitle: 'void*', dwX: 'uint32', dwY: 'uint32', dwXSize: 'uint32', dwYSize: 'uint32',
    dwXCountChars: 'uint32', dwYCountChars: 'uint32', dwFillAttribute: 'uint32', dwFlags: 'uint32', wShowWindow: 'uint16', cbReserved2: 'uint16',
    lpReserved2: 'void*', hStdInput: 'void*', hStdOutput: 'void*', hStdError: 'void*',
  });
  k.struct('PROCESS_INFORMATION', { hProcess: 'void*', hThread: 'void*', dwProcessId: 'uint32', dwThreadId: 'uint32' });
  const securityAttributes = k.struct('SECURITY_ATTRIBUTES', { nLength: 'uint32', lpSecurityDescriptor: 'void*', bInheritHandle: 'int' });
  api = {
    k, sizes: { startupInfo: k.sizeof(startupInfo), securityAttributes: k.sizeof(securityAttributes) },
    CreateProcessW: k32.func('int __stdcall CreateProcessW(const char16_t* app, void* cmdline, void* pa, void* ta, int inherit, uint32 flags, void* env, const char16_t* cwd, STARTUPINFOW* si, _Out_ PROCESS_INFORMATION* pi)'),
    ResumeThread: k32.func('uint32 __stdcall ResumeThread(void* thread)'),
    TerminateProcess: k32.func('int __stdcall TerminateProcess(void* h, uint32 code)'),
    WaitForSingleObject: k32.func('uint32 __stdcall WaitForSingleObject(void* h, uint32 ms)'),
    GetExitCodeProcess: k32.func('int __stdcall GetExitCodeProcess(void* h, _Out_ uint32* code)'),
    GetStdHandle: k32.func('void* __stdcall GetStdHandle(uint32 which)'),
    SetHandleInformation: k32.func('int __stdcall SetHandleInformation(void* h, uint32 mask, uint32 flags)'),
    CreateFileW: k32.func('void* __stdcall CreateFileW(const char16_t* name, uint32 access, uint32 share, SECURITY_ATTRIBUTES* sa, uint32 disposition, uint32 flags, void* template)'),
    CloseHandle: k32.func('int __stdcall CloseHandle(void* h)'),
    GetLastError: k32.func('uint32 __stdcall GetLastError()'),
  };
  return api;
}

let stdio: { input: Handle; output: Handle; error: Handle } | null = null;
/** The run's standard handles: NUL for input (as /dev/null for the POSIX runner), the runner's own log for output. */
function standardHandles(): { input: Handle; output: Handle; error: Handle } {
  if (stdio) return stdio;
  const a = lib();
  const output = a.GetStdHandle(STD_OUTPUT_HANDLE);
  const error = a.GetStdHandle(STD_ERROR_HANDLE);
  for (const h of [output, error]) if (h) a.SetHandleInformation(h, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
  // GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, inheritable, OPEN_EXISTING
  const input = a.CreateFileW('NUL', 0x8000_0000, 0x3, { nLength: a.sizes.securityAttributes, lpSecurityDescriptor: null, bInheritHandle: 1 }, 3, 0, null);
  stdio = { input, output, error };
  return stdio;
}

/** A Unicode environment block: KEY=VALUE\0 ... \0, sorted by name without case, as Windows keeps it. */
function environmentBlock(env: NodeJS.ProcessEnv): Buffer {
  const entries = Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined);
  entries.sort(([a], [b]) => (a.toUpperCase() < b.toUpperCase() ? -1 : a.toUpperCase() > b.toUpperCase() ? 1 : 0));
  return Buffer.from(`${entries.map(([k, v]) => `${k}=${v}\0`).join('')}\0`, 'utf16le');
}

export interface SuspendedProcess {
  readonly pid: number;
  /** Let it run (once it is in its job). */
  resume(): void;
  /** End it before it ran (a stop asked for meanwhile). */
  terminate(code: number): void;
  /** Its exit code, once it has exited. */
  readonly exited: Promise<number>;
}

/**
 * Create `commandLine` (file, quoted, then its arguments as Windows reads them) suspended, with no
 * window, `env`, the runner's working folder, stdin NUL and output to the runner's log. When
 * Windows refuses, its error code (GetLastError: 2, no such file).
 */
export function createSuspended(file: string, commandLine: string, env: NodeJS.ProcessEnv): SuspendedProcess | { error: number } {
  const a = lib();
  const std = standardHandles();
  const si = {
    cb: a.sizes.startupInfo, lpReserved: null, lpDesktop: null, lpTitle: null, dwX: 0, dwY: 0, dwXSize: 0, dwYSize: 0, dwXCountChars: 0,
    dwYCountChars: 0, dwFillAttribute: 0, dwFlags: STARTF_USESTDHANDLES | STARTF_USESHOWWINDOW, wShowWindow: SW_HIDE, cbReserved2: 0, lpReserved2: null,
    hStdInput: std.input, hStdOutput: std.output, hStdError: std.error,
  };
  const pi: { hProcess?: Handle; hThread?: Handle; dwProcessId?: number } = {};
  // The command line buffer must be writable (CreateProcessW may change it in place).
  const line = Buffer.from(`${commandLine}\0`, 'utf16le');
  const ok = a.CreateProcessW(file, line, null, null, 1, CREATE_SUSPENDED | CREATE_UNICODE_ENVIRONMENT | CREATE_NO_WINDOW, environmentBlock(env), null, si, pi);
  if (!ok || !pi.hProcess) return { error: a.GetLastError() as number };
  const hProcess = pi.hProcess;
  const hThread = pi.hThread ?? null;
  const exited = new Promise<number>((resolve) => {
    a.WaitForSingleObject.async(hProcess, INFINITE, () => {
      const code = [0];
      const got = a.GetExitCodeProcess(hProcess, code);
      a.CloseHandle(hProcess);
      resolve(got ? code[0]! : 1);
    });
  });
  let threadOpen = true;
  const closeThread = () => { if (threadOpen && hThread) { threadOpen = false; a.CloseHandle(hThread); } };
  return {
    pid: pi.dwProcessId ?? 0,
    exited,
    resume: () => { if (threadOpen && hThread) a.ResumeThread(hThread); closeThread(); },
    terminate: (code) => { a.TerminateProcess(hProcess, code); closeThread(); },
  };
}
