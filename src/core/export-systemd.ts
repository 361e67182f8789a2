// `pguard export systemd`: one service unit per process and a target grouping them. Pure: the
// definitions in, the unit files' text and the notes out.
import type { ProcessDef } from './schema.js';
import { UserError } from '../errors.js';
import { splitSimpleCommand, type Note } from './export-common.js';
import { scheduleOf } from './on-schedule.js';
import { intervalSeconds, toSystemdCalendars, type Schedule } from './schedule.js';

export interface SystemdOptions {
  /** --user (default) or --system: which target the group is wanted by. */
  readonly mode: 'user' | 'system';
  /** The systemd the units are for (RestartSteps= and RestartMaxDelaySec= need 254). */
  readonly version: number;
  /** Absolute working directory per process (cwd resolved against the registry's folder). */
  readonly cwdOf: (def: ProcessDef) => string;
  /** Absolute env_file path per process, if any. */
  readonly envFileOf: (def: ProcessDef) => string | undefined;
  /** --redact-env: no values, an EnvironmentFile the user fills instead. */
  readonly redactEnv: boolean;
}

export interface UnitFile {
  readonly name: string;
  readonly text: string;
}

export const unitName = (name: string) => `pguard-${name}.service`;
export const timerName = (name: string) => `pguard-${name}.timer`;

/**
 * A job's timer (`schedule`): OnCalendar= from cron (two lines for Vixie's day OR), or
 * OnActiveSec= and OnUnitActiveSec= for an interval; Persistent=true runs a time missed while the
 * machine was off once at boot, as pguard does; AccuracySec=1s, as watch fires within a second.
 */
function timerOf(def: ProcessDef, schedule: Schedule): UnitFile {
  const timer: string[] = [];
  const calendars = toSystemdCalendars(schedule);
  if (calendars) timer.push(...calendars.map((c) => `OnCalendar=${c}`), 'Persistent=true');
  else timer.push(`OnActiveSec=${intervalSeconds(schedule)}s`, `OnUnitActiveSec=${intervalSeconds(schedule)}s`);
  timer.push('AccuracySec=1s', `Unit=${unitName(def.name)}`);
  return {
    name: timerName(def.name),
    text: [
      `# ${timerName(def.name)}: exported by pguard (schedule ${JSON.stringify(schedule.text).replace(/%/g, '%%')})`,
      '[Unit]', `Description=pguard: ${def.name} on its schedule`, 'PartOf=pguard.target', '',
      '[Timer]', ...timer, '',
      '[Install]', 'WantedBy=pguard.target', '',
    ].join('\n'),
  };
}

// Quoting, per systemd.syntax(7) and each directive's page: a unit's line ends at \n, \r or NUL,
// so no raw control character may reach one. ExecStart= and Environment= take words, quoted "..."
// with C escapes (\n, \x01, \u0085); `%` is a specifier everywhere (`%%`); `$` is a variable in
// ExecStart= only (`$$`), literal in Environment=. WorkingDirectory= and EnvironmentFile= take the
// rest of the line as a path: no quotes, no escapes, so a path a line cannot hold is refused.

const CONTROL = /[\x00-\x1f\x7f-\x9f]/;
const NAMED_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\v': '\\v', '\\': '\\\\', '"': '\\"' };
const hex = (c: string, len: number) => c.charCodeAt(0).toString(16).padStart(len, '0');

/** The one line that says which field a unit (or manifest) cannot hold, and why. */
export function refuseField(process: string, field: string, why: string): never {
  throw new UserError(`${process}.${field}: ${why}; not exported. Change it in the registry (pguard register ${process} ...).`, 2);
}

/** NUL cannot be in an argument, a path or an environment value: refused in every export. */
export function refuseNul(process: string, field: string, value: string): void {
  if (value.includes('\0')) refuseField(process, field, 'holds a NUL character, which no command, path or environment value can hold');
}

/**
 * A word for ExecStart= (`variables: true`) or Environment=: as is where it is plain, else quoted
 * with `\` `"` and control characters C-escaped; `%` doubled, and `$` where ExecStart= expands it.
 */
export function systemdWord(word: string, opts: { variables: boolean } = { variables: true }): string {
  let out = word.replace(/%/g, '%%');
  if (opts.variables) out = out.replace(/\$/g, '$$$$');
  if (/^[A-Za-z0-9_./:=@+,-]+$/.test(word)) return out;
  out = out.replace(/[\\"\x00-\x1f\x7f-\x9f]/g, (c) => NAMED_ESCAPES[c] ?? (c.charCodeAt(0) < 0x80 ? `\\x${hex(c, 2)}` : `\\u${hex(c, 4)}`));
  return `"${out}"`;
}

/** A path for WorkingDirectory= or EnvironmentFile=: `%` doubled; refused where a line cannot hold it. */
function systemdPath(process: string, field: string, path: string): string {
  refuseNul(process, field, path);
  const c = CONTROL.exec(path);
  if (c) refuseField(process, field, `holds a control character (${JSON.stringify(c[0])}) that a systemd unit cannot hold in a path (it takes no quotes or escapes there)`);
  if (/[\s\\]$/.test(path)) refuseField(process, field, 'ends in a space or backslash, which a systemd unit drops (or joins to the next line) in a path');
  return path.replace(/%/g, '%%');
}

function execStart(process: string, command: string): string {
  refuseNul(process, 'command', command);
  const words = splitSimpleCommand(command);
  // A first word starting with - @ : + ! | is a prefix to systemd (ignore failure, argv0...), and a
  // relative path (./venv/bin/python) is refused by it: run those by the shell, in WorkingDirectory.
  const argv = words && !/^[-@:+!|]/.test(words[0]!) && !(words[0]!.includes('/') && !words[0]!.startsWith('/')) ? words : ['/bin/sh', '-c', command];
  return argv.map((w) => systemdWord(w)).join(' ');
}

export function exportSystemd(defs: readonly ProcessDef[], opts: SystemdOptions): { files: UnitFile[]; notes: Note[] } {
  const notes: Note[] = [];
  const note = (def: ProcessDef, field: string, message: string) => notes.push({ process: def.name, field, message });
  const timers: UnitFile[] = [];
  const files: UnitFile[] = defs.map((def) => {
    const sched = scheduleOf(def);
    const job = sched?.field === 'schedule' ? sched.schedule : null;
    const unit: string[] = [`Description=pguard: ${def.name}`, 'PartOf=pguard.target'];
    if (def.dependsOn.length > 0) {
      const deps = def.dependsOn.map(unitName).join(' ');
      unit.push(`After=${deps}`, `Requires=${deps}`);
    }
    // pguard's budget (max_restarts, renewed by a run of min_uptime) as a rate limit over that window.
    unit.push(`StartLimitIntervalSec=${Math.max(1, Math.ceil(def.minUptimeS * (def.maxRestarts + 1)))}`, `StartLimitBurst=${def.maxRestarts + 1}`);
    const service: string[] = [job ? 'Type=oneshot' : 'Type=simple', `WorkingDirectory=${systemdPath(def.name, 'cwd', opts.cwdOf(def))}`, `ExecStart=${execStart(def.name, def.command)}`];
    const envFile = opts.envFileOf(def);
    if (envFile) service.push(`EnvironmentFile=${systemdPath(def.name, 'env_file', envFile)}`);
    const keys = Object.keys(def.env);
    if (keys.length > 0) {
      if (opts.redactEnv) {
        const file = `${opts.mode === 'user' ? '%h/.config' : '/etc'}/pguard/${def.name}.env`;
        service.push(`# env values are not exported: put KEY=VALUE lines for ${keys.join(' ')} in this file`);
        service.push(`EnvironmentFile=-${file}`);
        note(def, 'env', `values not exported (they may be secrets): put ${keys.join(', ')} in ${file.replace('%h', '~')} (or export with --env-values)`);
      } else {
        for (const [k, v] of Object.entries(def.env)) {
          refuseNul(def.name, `env.${k}`, v);
          service.push(`Environment=${systemdWord(`${k}=${v}`, { variables: false })}`);
        }
      }
    }
    // A user manager starts its units as its own user only: User= and Group= are a system unit's.
    if (def.user !== undefined && opts.mode === 'system') {
      service.push(`User=${systemdWord(def.user, { variables: false })}`);
      if (def.group !== undefined) service.push(`Group=${systemdWord(def.group, { variables: false })}`);
    } else if (def.user !== undefined) {
      note(def, 'user', `a user unit runs as the user whose manager runs it: User=${def.user}${def.group !== undefined ? ` and Group=${def.group} are` : ' is'} exported with --system only`);
    }
    // A job's failed run is not restarted: it runs again at its next time (its timer).
    if (job) service.push('Restart=no');
    else service.push(`Restart=${def.autoRestart ? 'on-failure' : 'no'}`, `RestartSec=${def.restartCooldownS}`);
    if (def.backoff === 'exponential') {
      if (opts.version >= 254) service.push(`RestartSteps=4`, `RestartMaxDelaySec=${Math.min(3600, def.restartCooldownS * 16)}`);
      else note(def, 'backoff', `exponential backoff needs systemd 254 (RestartSteps=); for systemd ${opts.version} the delay stays ${def.restartCooldownS} s`);
    }
    if (def.noRestartExitCodes.length > 0) service.push(`RestartPreventExitStatus=${def.noRestartExitCodes.join(' ')}`);
    // Exit 0 is always a success to systemd; the others are listed (Restart=on-failure then leaves them down).
    const success = def.successExitCodes.filter((c) => c !== 0);
    if (success.length > 0) service.push(`SuccessExitStatus=${success.join(' ')}`);
    service.push(`KillSignal=${def.stopSignal}`, `TimeoutStopSec=${def.killTimeoutS}`, 'KillMode=control-group');
    if (def.maxMemoryMb !== undefined) service.push(`MemoryMax=${Math.round(def.maxMemoryMb)}M`);
    if (job) {
      timers.push(timerOf(def, job));
      if (job.kind === 'cron' && job.hasSeconds) note(def, 'schedule', 'OnCalendar= takes the seconds field as it is; pguard fires it from watch alone');
      note(def, 'schedule', `a Type=oneshot service started by ${timerName(def.name)}; systemd never starts a run while the last one is active (a skip, without pguard's alert), and a failed run is reported by systemctl --failed, not an alert`);
      if (def.durationMin > 0) note(def, 'duration_min', 'a oneshot run has no overrun alert in systemd (TimeoutStartSec= would end it): not exported');
    } else if (def.durationMin > 0) {
      service.push(`RuntimeMaxSec=${Math.ceil(def.durationMin * 60 * 1.5)}`);
      note(def, 'duration_min', 'systemd ends a run at RuntimeMaxSec (1.5 x duration_min here), where pguard only alerts (overrun); and a clean exit 0 before 80% of it, which pguard restarts as premature, is not restarted by Restart=on-failure');
    }
    if (sched?.field === 'restart_schedule') note(def, 'restart_schedule', `systemd has no scheduled restart: add a timer whose service runs \`systemctl restart ${unitName(def.name)}\` (OnCalendar= for "${sched.schedule.text}")`);
    if (def.health.length > 0) note(def, 'health', 'systemd has no health probes: run `pguard watch --foreground` beside these units (or keep pguard) for them');
    if (def.maxCpuPercent !== undefined) note(def, 'max_cpu_percent', 'systemd can cap CPU (CPUQuota=) but not restart a process for using too much; not exported');
    if (def.survivesRestartOf.length > 0) note(def, 'depends_on', `Requires= stops and restarts this unit with ${def.survivesRestartOf.join(', ')}; "restart": false has no equivalent`);
    if (def.logMaxMb !== 10 || def.logKeep !== 3) note(def, 'log_max_mb', 'output goes to the journal, which journald bounds (SystemMaxUse=), not per unit');
    const text = [
      `# ${unitName(def.name)}: exported by pguard`,
      '[Unit]', ...unit, '',
      '[Service]', ...service, '',
      // A job's service is started by its timer, not by the target.
      ...(job ? [] : ['[Install]', 'WantedBy=pguard.target', '']),
    ].join('\n');
    return { name: unitName(def.name), text };
  });
  files.push(...timers);
  files.push({
    name: 'pguard.target',
    text: [
      '# pguard.target: every exported process; systemctl enable --now pguard.target',
      '[Unit]', 'Description=pguard processes', `Wants=${defs.map((d) => (scheduleOf(d)?.field === 'schedule' ? timerName(d.name) : unitName(d.name))).join(' ')}`, '',
      '[Install]', `WantedBy=${opts.mode === 'user' ? 'default.target' : 'multi-user.target'}`, '',
    ].join('\n'),
  });
  return { files, notes };
}
