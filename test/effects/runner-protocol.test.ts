// The runner and the TypeScript share one written contract (src/effects/runner-protocol.ts): the
// shell script may use no file, no variable and no line format that the module does not name.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeWaitStatus } from '../../src/core/exit.js';
import {
  decodeArm, decodeInstruction, decodeRuns, encodeAdopt, encodeArm, encodeExitLine, encodeInstruction, encodeLeftoversLine, encodeRunnerEnv,
  encodeStartLine, RUNNER_ENV, RUNNER_FILES, WINDOWS_ONLY_RUNNER_FILES, RUNNER_ONLY_ENV,
} from '../../src/effects/runner-protocol.js';
import { RUNNER_PATH } from '../../src/effects/spawn.js';

const script = readFileSync(RUNNER_PATH, 'utf8');
const code = script.split('\n').filter((l) => !l.trimStart().startsWith('#')).join('\n');

describe('the runner protocol', () => {
  it('names every file the runner touches in its process folder, and no other', () => {
    const used = new Set([...code.matchAll(/\$dir\/([A-Za-z0-9._-]+)/g)].map((m) => m[1]));
    expect([...used].sort()).toEqual(Object.values(RUNNER_FILES).filter((f) => !WINDOWS_ONLY_RUNNER_FILES.includes(f)).sort());
  });

  it('names every variable the runner reads (PGUARD_STATE_DIR is the one it sets, for on-exit)', () => {
    const read = new Set([...code.matchAll(/\$\{?(PGUARD_[A-Z_]+)/g)].map((m) => m[1]));
    expect([...read].sort()).toEqual(Object.values(RUNNER_ENV).filter((v) => v !== RUNNER_ENV.heartbeat).sort());
    expect(code).toMatch(/PGUARD_STATE_DIR=\$PGUARD_RUNNER_STATE_DIR /);
  });

  it('has the runner unset exactly the runner-only variables before it execs the command', () => {
    const unset = /unset (PGUARD_[A-Z_ ]+)\n/.exec(code)?.[1]?.trim().split(/\s+/);
    expect(unset?.sort()).toEqual([...RUNNER_ONLY_ENV].sort());
  });

  it("reads a Windows runner's '=N' as exit code N, never a signal: a program's own exit 143 is not SIGTERM", () => {
    const view = decodeRuns(encodeExitLine('1.1', 143, 1_800_000_000_500, null, true) + encodeExitLine('1.2', 143, 1_800_000_000_900));
    expect(encodeExitLine('1.1', 143, 1_800_000_000_500, null, true)).toBe('exit 1.1 =143 1800000000500 -\n');
    expect(view.exits.get('1.1')).toEqual({ status: 143, endedAt: 1_800_000_000_500, codeOnly: true });
    expect(decodeWaitStatus(143, true)).toEqual({ code: 143, signal: null });
    expect(decodeWaitStatus(view.exits.get('1.2')!.status!)).toEqual({ code: null, signal: 'SIGTERM' });
  });

  it('writes runs.log lines in the format the module decodes', () => {
    expect(code).toContain(`printf 'leftovers %s %s %s\\n' "$rg_id" "$((now - rg_start))" "$killed"`);
    expect(decodeRuns(encodeLeftoversLine('3.2', 10_050, true)).leftovers.get('3.2')).toEqual({ waitedMs: 10_050, sigkilled: true });
    expect(code).toContain(`printf 'start %s %s %s %s %s\\n' "$id" "$pid" "$starttime" "$boot" "$begin"`);
    expect(code).toContain(`printf 'exit %s %s %s %s\\n' "$id" "$status" "$end" "\${up:--}"`);
    expect(decodeRuns(encodeExitLine('3.2', 1, 1_800_000_000_500, 1234567)).exits.get('3.2')).toEqual({ status: 1, endedAt: 1_800_000_000_500, endedUptimeCs: 1234567 });
    const run = { id: '3.2', identity: { pid: 42, startTime: '123456', bootId: 'b-1' }, startedAt: 1_800_000_000_000 };
    const view = decodeRuns(encodeStartLine(run) + encodeExitLine('3.2', 137, 1_800_000_000_500) + 'garbage line\n');
    expect(view.latest).toEqual(run);
    expect(view.exits.get('3.2')).toEqual({ status: 137, endedAt: 1_800_000_000_500 });
    expect(decodeRuns(encodeStartLine({ ...run, identity: { ...run.identity, bootId: '' } })).latest?.identity.bootId).toBe('');
  });

  it('writes an adopted run\'s end as an exit line without a status (\'-\'), the same printf; older lines read as before', () => {
    expect(code).toContain('status=-\n');
    expect(encodeExitLine('3.2', null, 1_800_000_000_500, 1234567)).toBe('exit 3.2 - 1800000000500 1234567\n');
    expect(decodeRuns(encodeExitLine('3.2', null, 1_800_000_000_500, 1234567)).exits.get('3.2')).toEqual({ status: null, endedAt: 1_800_000_000_500, endedUptimeCs: 1234567 });
    expect(decodeRuns('exit 3.2 - 1800000000500 -\n').exits.get('3.2')).toEqual({ status: null, endedAt: 1_800_000_000_500 });
    // A log written before adopt mode (no uptime field at all) reads as it did.
    expect(decodeRuns('exit 3.2 137 1800000000500\n').exits.get('3.2')).toEqual({ status: 137, endedAt: 1_800_000_000_500 });
    // The fast path's checks take '-' for no final status and no exit 0.
    expect(code).toContain('*",${status#-},"*) ;;');
    expect(code).toContain('if [ "$status" = 0 ] && [ "$normal" -gt 0 ]');
  });

  it('hands a runner `user` as PGUARD_RUN_AS ("UID GID SETPRIV", the path whole) and the program\'s account variables, each only where given', () => {
    const launch = {
      name: 'bot', registryPath: '/r', procDir: '/p', heartbeatFile: '/h', command: 'x', epoch: 4, delayMs: 0, killTimeoutMs: 1000,
      nodePath: 'node', cliPath: 'cli', stateDir: '/s',
    };
    const env = encodeRunnerEnv({ ...launch, runAs: { uid: 33, gid: 4, setpriv: '/opt/util linux/setpriv', env: { HOME: '/var/www', USER: 'www-data', LOGNAME: 'www-data' } } });
    expect(Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith('PGUARD_RUN_AS')))).toEqual({
      PGUARD_RUN_AS: '33 4 /opt/util linux/setpriv', PGUARD_RUN_AS_HOME: '/var/www', PGUARD_RUN_AS_USER: 'www-data', PGUARD_RUN_AS_LOGNAME: 'www-data',
    });
    expect(Object.keys(encodeRunnerEnv(launch)).filter((k) => k.startsWith('PGUARD_RUN_AS'))).toEqual([]);
    // The runner takes the uid, the gid and the rest (setpriv's path, spaces and all), in that order.
    expect(code).toContain('set -- "${ra#* }" "--reuid=${PGUARD_RUN_AS%% *}" "--regid=${ra%% *}" --init-groups --');
    expect(code).toContain('exec setsid "$@" $prog');
  });

  it('hands a runner the run to adopt as its start line\'s fields (ID PID STARTTIME BOOTID STARTED_MS)', () => {
    const run = { id: '3.2', identity: { pid: 42, startTime: '123456', bootId: 'b-1' }, startedAt: 1_800_000_000_000 };
    expect(encodeAdopt(run)).toBe('3.2 42 123456 b-1 1800000000000');
    expect(encodeAdopt({ ...run, identity: { ...run.identity, bootId: '' } })).toBe('3.2 42 123456 - 1800000000000');
    const launch = {
      name: 'bot', registryPath: '/r', procDir: '/p', heartbeatFile: '/h', command: 'x', epoch: 4, delayMs: 0, killTimeoutMs: 1000,
      nodePath: 'node', cliPath: 'cli', stateDir: '/s',
    };
    expect(encodeRunnerEnv({ ...launch, adopt: run })[RUNNER_ENV.adopt]).toBe('3.2 42 123456 b-1 1800000000000');
    expect(encodeRunnerEnv(launch)).not.toHaveProperty(RUNNER_ENV.adopt);
    // The runner takes its fields in that order, and watches that PID with that start time and boot.
    expect(code).toContain('set -- $adopt');
    expect(code).toContain('wait_adopted "$2" "$3" "$4"');
    expect(code).toContain('while adopted_alive "$1" "$2" "$3"; do sleep 0.25; done');
    expect(code).toContain('[ "${20}" = "$aa_start" ]');
    expect(code).toContain('[ "${f[19]}" = "$2" ] || exit 0'); // bash's wait: the same start time
  });

  it('reads the arm (five fields, then the clock\'s anchor) with two `read`s, then empties it', () => {
    expect(code).toContain('{ read -r normal stable unstable notbefore final && arm=1 && read -r arm_ms arm_up; } 2>/dev/null < "$dir/arm"');
    expect(code).toContain('case ",$final," in');
    expect(code).toContain('[ -n "$arm" ] && : > "$dir/arm"');
    const arm = { normalAfterMs: 480_000, stableAfterMs: 60_000, unstableOk: true, notBefore: 1_800_000_030_000, finalStatuses: [78, 126, 127] };
    expect(encodeArm(arm)).toBe('480000 60000 1 1800000030000 78,126,127\n');
    expect(encodeArm(arm, { ms: 1_800_000_000_000, uptimeCs: 123_456 })).toBe('480000 60000 1 1800000030000 78,126,127\n1800000000000 123456\n');
    expect(decodeArm(encodeArm(arm)!)).toEqual(arm);
    expect(decodeArm(encodeArm(arm, { ms: 1, uptimeCs: 2 })!)).toEqual(arm);
    expect(encodeArm(null)).toBeNull();
    expect(decodeArm('')).toBeNull();
  });

  it('answers the slow path with an absolute restart time or done', () => {
    expect(code).toContain('restart-at\\ *)');
    expect(encodeInstruction({ action: 'restart', delayMs: 1500 }, 1_000)).toBe('restart-at 2500');
    expect(encodeInstruction({ action: 'none' }, 1_000)).toBe('done');
    expect(decodeInstruction('restart-at 2500\n')).toEqual({ restartAt: 2500 });
    expect(decodeInstruction('done')).toBe('done');
  });
});
