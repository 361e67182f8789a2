// pguard's runner on Windows: stays beside one managed process, records how every run ended, and
// restarts a premature death at once when pguard has armed it to. The same contract as the POSIX
// runner (bin/pguard-runner.sh), specified once in src/effects/runner-protocol.ts, and written with
// its encoders: runs.log lines, the arm, the stop marker, the on-exit call and its instruction.
// Bundled alone (dist/bundle/runner-win.cjs, scripts/bundle.mjs): Node started for this file only,
// with nothing else to load.
//
// Where Windows differs from the POSIX runner:
//   - A run is `cmd.exe /d /s /c "COMMAND"` (as Windows runs a command line), with no window,
//     created suspended, put into a job object named after the run's identity
//     (effects/win/kernel32.ts), then resumed (create-process.ts): the job is the run's process
//     group, all it ever starts included, ended whole, by this runner after the run's exit
//     (leftovers) or by `pguard stop` without it.
//   - The run's identity is its PID and creation time (GetProcessTimes); Windows has no boot ID
//     ('-'), and no kernel clock to read without a call: the exit's ENDED_UPTIME is '-'.
//   - Windows has no SIGTERM: stop_signal is Ctrl-C to the run's console, which pguard asks this
//     runner to send (the interrupt file: takeInterrupt); leftovers of a run are ended at once
//     (TerminateJobObject), SIGKILLED 1.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, openSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  decodeArm, decodeInstruction, decodeRuns, encodeExitLine, encodeLeftoversLine, encodeStartLine, onExitArgs, RUNNER_ENV, RUNNER_FILES, RUNNER_ONLY_ENV,
} from '../effects/runner-protocol.js';
import { closeHandle, inheritCtrlC, jobActiveProcesses, jobForRun, processCreationTime, sendCtrlC, terminateRunJob } from '../effects/win/kernel32.js';
import { createSuspended } from './create-process.js';

const env = process.env;
const dir = env[RUNNER_ENV.procDir]!;
const file = (f: keyof typeof RUNNER_FILES) => join(dir, RUNNER_FILES[f]);
const epoch = env[RUNNER_ENV.epoch] ?? '0';
const killTimeoutMs = Number(env[RUNNER_ENV.killTimeoutMs] ?? 10_000);
const comspec = join(env.SystemRoot ?? env.SYSTEMROOT ?? 'C:\\Windows', 'System32', 'cmd.exe');
/** cmd.exe's exit code for a command it cannot find (a shell's 127). */
const CMD_NOT_FOUND = 9009;
/** NTSTATUS 0xC000013A: the exit code of a console program ended by Ctrl-C. */
const STATUS_CONTROL_C_EXIT = 0xc000013a;
const stopAsked = () => existsSync(file('stop'));
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The user's environment: ours without the runner's own variables. */
const userEnv: NodeJS.ProcessEnv = { ...env };
for (const k of RUNNER_ONLY_ENV) delete userEnv[k];

function append(line: string): void {
  appendFileSync(file('runs'), line);
}

/** Wait MS, in slices, ending early when a stop is asked for. */
async function pause(ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (!stopAsked() && Date.now() < until) await sleep(Math.min(100, until - Date.now()));
}

/** End what is left of a run's job (its leader exited): at once, and wait until it is empty (2 s at most). */
async function reapJob(pid: number, startTime: string, id: string): Promise<number | null> {
  if (jobActiveProcesses(pid, startTime) === 0) return null;
  const t0 = Date.now();
  terminateRunJob(pid, startTime);
  while (jobActiveProcesses(pid, startTime) > 0 && Date.now() - t0 < Math.max(2000, killTimeoutMs)) await sleep(20);
  append(encodeLeftoversLine(id, Date.now() - t0, true));
  return Date.now();
}

/** `pguard on-exit`: its stdout (the instruction), or '' when it failed. stderr to runner.log. */
function onExit(runId: string, restartedAt: number | null): Promise<string> {
  const log = openSync(file('runnerLog'), 'a', 0o600);
  let child: ChildProcess;
  try {
    child = spawn(env[RUNNER_ENV.node]!, [env[RUNNER_ENV.cli]!, ...onExitArgs(env[RUNNER_ENV.name]!, env[RUNNER_ENV.registry]!, runId, restartedAt)], {
      stdio: ['ignore', 'pipe', log], windowsHide: true, env: { ...env, PGUARD_STATE_DIR: env[RUNNER_ENV.stateDir] },
    });
  } finally {
    closeSync(log);
  }
  return new Promise((resolve) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
    child.on('error', () => resolve(''));
    child.on('close', () => resolve(out));
  });
}

/** A run's end: its exit code, `bare` when it is a shell-style status (127 not found, 130 Ctrl-C as SIGINT). */
interface Ended { readonly code: number; readonly bare: boolean }
interface Run { readonly pid: number; readonly startTime: string; readonly status: Promise<Ended> }

/**
 * Start the user's command: one run, recorded (start line, pid file) and in its job before it runs
 * (create-process.ts: created suspended, assigned, resumed).
 */
async function startRun(id: string, begin: number): Promise<Run | null> {
  let proc = createSuspended(comspec, `"${comspec}" /d /s /c "${env[RUNNER_ENV.command]}"`, userEnv);
  // Windows refused: said in runner.log, and tried again twice (a process table or memory short a
  // moment; once under Wine at load 6), unless cmd.exe is not there (2, 3: no such file or path).
  for (let attempt = 1; 'error' in proc; attempt++) {
    appendFileSync(file('runnerLog'), `pguard runner: Windows could not start ${comspec} (error ${proc.error})\n`);
    if (attempt === 3 || proc.error === 2 || proc.error === 3 || stopAsked()) {
      return { pid: 0, startTime: '0', status: Promise.resolve({ code: 127, bare: true }) }; // no cmd.exe: as a shell's "not found"
    }
    await sleep(100 * attempt);
    proc = createSuspended(comspec, `"${comspec}" /d /s /c "${env[RUNNER_ENV.command]}"`, userEnv);
  }
  const { pid } = proc;
  // This runner holds the process's handle until its exit is seen, so its creation time can be read
  // even if it has exited already.
  const startTime = processCreationTime(pid, { exited: true }) ?? '0';
  const job = jobForRun(pid, startTime);
  append(encodeStartLine({ id, identity: { pid, startTime, bootId: '' }, startedAt: begin }));
  writeFileSync(file('pid'), `${pid}\n`);
  // A stop asked for since the loop looked: this run ends before it does anything.
  if (stopAsked()) proc.terminate(1);
  else proc.resume();
  // cmd.exe's "is not recognized as an internal or external command" is exit 9009: Windows' 127,
  // recorded as 127 so that pguard takes it for the definition error it is (failed at once), not
  // for a crash to restart. (A program of the user's that exits 9009 itself is taken the same way.)
  // A run that ended on Ctrl-C exits STATUS_CONTROL_C_EXIT: recorded as a shell records a death
  // by SIGINT, 130.
  const status = proc.exited.then((code): Ended => (code === CMD_NOT_FOUND ? { code: 127, bare: true } : code === STATUS_CONTROL_C_EXIT ? { code: 130, bare: true } : { code, bare: false }));
  void status.then(() => { if (job) closeHandle(job); });
  return { pid, startTime, status };
}

/** A stop's (or a limit's) Ctrl-C, asked for in the interrupt file (runner-protocol.ts): sent if it is for this run. */
function takeInterrupt(pid: number): void {
  let text: string;
  try { text = readFileSync(file('interrupt'), 'utf8'); } catch { return; }
  try { unlinkSync(file('interrupt')); } catch { /* taken by a runner before us */ }
  if (Number(text.trim()) === pid) sendCtrlC(pid);
}

/** The run's exit status, looking for an interrupt every 100 ms meanwhile. */
async function untilExit(run: Run): Promise<Ended> {
  let done = false;
  const status = run.status.finally(() => { done = true; });
  while (!done) {
    takeInterrupt(run.pid);
    await Promise.race([status, sleep(100)]);
  }
  return status;
}

async function main(): Promise<void> {
  // The runs must take Ctrl-C (a stop's: takeInterrupt), which this runner, started detached, would
  // make them ignore; and the runner, attached to a run's console to send it, gets one too: ignored.
  inheritCtrlC();
  process.on('SIGINT', () => undefined);
  process.on('SIGBREAK', () => undefined);
  let delay = Number(env[RUNNER_ENV.delayMs] ?? 0);
  let adopt = env[RUNNER_ENV.adopt] ?? '';
  let seq = 0;
  // A runner that died with its run may have left that run's job behind: end it before the first run.
  if (!adopt) {
    let latest = null;
    try { latest = decodeRuns(readFileSync(file('runs'), 'utf8')).latest; } catch { /* no runs yet */ }
    if (latest && processCreationTime(latest.identity.pid) !== latest.identity.startTime) {
      await reapJob(latest.identity.pid, latest.identity.startTime, `${epoch}.0`);
    }
  }
  let begin = Date.now();
  for (;;) {
    let id: string;
    let status: number | null;
    // An exit code above 128 that is the program's own, not a signal: written '=N' (runner-protocol.ts).
    let codeOnly = false;
    let run: { pid: number; startTime: string };
    if (adopt) {
      // The live run of a runner that died alone: watched until it is gone, never started. Its
      // status cannot be had (this runner is not its parent): '-'.
      const [aid, apid, astart, , astarted] = adopt.split(' ');
      adopt = '';
      id = aid!;
      begin = Number(astarted);
      run = { pid: Number(apid), startTime: astart! };
      while (processCreationTime(run.pid) === run.startTime) {
        await sleep(250);
        takeInterrupt(run.pid);
      }
      status = null;
    } else {
      if (delay > 0) {
        await pause(delay);
        begin = Date.now();
      }
      if (stopAsked()) return;
      seq += 1;
      id = `${epoch}.${seq}`;
      const started = await startRun(id, begin);
      if (!started) return;
      run = started;
      const ended = await untilExit(started);
      status = ended.code;
      codeOnly = !ended.bare && ended.code > 128;
    }
    // The arm: what pguard's policy allows at this exit, spent at once (one arm, one restart).
    let armText = '';
    try { armText = readFileSync(file('arm'), 'utf8'); } catch { /* none */ }
    const arm = armText.trim() ? decodeArm(armText) : null;
    if (armText) writeFileSync(file('arm'), '');
    const end = Date.now();
    append(encodeExitLine(id, status, end, null, codeOnly));
    const reapedAt = await reapJob(run.pid, run.startTime, id);
    if (stopAsked()) return;

    let restart = false;
    if (arm && !(status !== null && arm.finalStatuses.includes(status))) {
      const ran = end - begin;
      if (status === 0 && arm.normalAfterMs > 0 && ran >= arm.normalAfterMs) restart = false;
      else if (arm.stableAfterMs >= 0 && ran >= arm.stableAfterMs) restart = true;
      else if (arm.unstableOk && end >= arm.notBefore) restart = true;
    }
    if (restart) {
      // Recorded and alerted in the background once the new instance has had 100 ms to start.
      // Kept until it is sent: a runner that ends meanwhile (the next run stopped, or done) waits for
      // it, else the restart would never be recorded (the shell runner's `&` outlives it alone).
      reports.push(new Promise<void>((resolve) => { setTimeout(() => { void onExit(id, end).then(() => resolve()); }, 100); }));
      delay = 0;
      begin = reapedAt ?? end;
      continue;
    }
    const decision = decodeInstruction(await onExit(id, null));
    if (decision === 'done') return;
    delay = decision.restartAt - Date.now();
    begin = Date.now();
  }
}

/** The background reports of fast restarts, each awaited before the runner exits. */
const reports: Promise<void>[] = [];

main().then(async () => { await Promise.allSettled(reports); process.exit(0); }, (err: unknown) => {
  try { appendFileSync(file('runnerLog'), `pguard runner: ${err instanceof Error ? err.message : String(err)}\n`); } catch { /* nowhere to say it */ }
  process.exit(70);
});
