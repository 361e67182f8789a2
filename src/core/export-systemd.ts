// `pguard export systemd`: one service unit per process and a target grouping them. Pure: the
// definitions in, the unit files' text and the notes out.
import type { ProcessDef } from './schema.js';
import { splitSimpleCommand, type Note } from './export-common.js';

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

/** A word for a unit file: quoted where needed; `%` (specifiers), `$` (variables) and `\` escaped. */
export function systemdWord(word: string): string {
  const escaped = word.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\$/g, '$$$$');
  return /^[A-Za-z0-9_./:=@+,-]+$/.test(word) ? escaped : `"${escaped}"`;
}

function execStart(command: string): string {
  const words = splitSimpleCommand(command);
  return (words ?? ['/bin/sh', '-c', command]).map(systemdWord).join(' ');
}

export function exportSystemd(defs: readonly ProcessDef[], opts: SystemdOptions): { files: UnitFile[]; notes: Note[] } {
  const notes: Note[] = [];
  const note = (def: ProcessDef, field: string, message: string) => notes.push({ process: def.name, field, message });
  const files: UnitFile[] = defs.map((def) => {
    const unit: string[] = [`Description=pguard: ${def.name}`, 'PartOf=pguard.target'];
    if (def.dependsOn.length > 0) {
      const deps = def.dependsOn.map(unitName).join(' ');
      unit.push(`After=${deps}`, `Requires=${deps}`);
    }
    // pguard's budget (max_restarts, renewed by a run of min_uptime) as a rate limit over that window.
    unit.push(`StartLimitIntervalSec=${Math.max(1, Math.ceil(def.minUptimeS * (def.maxRestarts + 1)))}`, `StartLimitBurst=${def.maxRestarts + 1}`);
    const service: string[] = ['Type=simple', `WorkingDirectory=${systemdWord(opts.cwdOf(def))}`, `ExecStart=${execStart(def.command)}`];
    const envFile = opts.envFileOf(def);
    if (envFile) service.push(`EnvironmentFile=${systemdWord(envFile)}`);
    const keys = Object.keys(def.env);
    if (keys.length > 0) {
      if (opts.redactEnv) {
        const file = `${opts.mode === 'user' ? '%h/.config' : '/etc'}/pguard/${def.name}.env`;
        service.push(`# env values are not exported: put KEY=VALUE lines for ${keys.join(' ')} in this file`);
        service.push(`EnvironmentFile=-${file}`);
        note(def, 'env', `values not exported (they may be secrets): put ${keys.join(', ')} in ${file.replace('%h', '~')} (or export with --env-values)`);
      } else {
        for (const [k, v] of Object.entries(def.env)) service.push(`Environment=${systemdWord(`${k}=${v}`)}`);
      }
    }
    service.push(`Restart=${def.autoRestart ? 'on-failure' : 'no'}`, `RestartSec=${def.restartCooldownS}`);
    if (def.backoff === 'exponential') {
      if (opts.version >= 254) service.push(`RestartSteps=4`, `RestartMaxDelaySec=${Math.min(3600, def.restartCooldownS * 16)}`);
      else note(def, 'backoff', `exponential backoff needs systemd 254 (RestartSteps=); for systemd ${opts.version} the delay stays ${def.restartCooldownS} s`);
    }
    if (def.noRestartExitCodes.length > 0) service.push(`RestartPreventExitStatus=${def.noRestartExitCodes.join(' ')}`);
    service.push(`KillSignal=${def.stopSignal}`, `TimeoutStopSec=${def.killTimeoutS}`, 'KillMode=control-group');
    if (def.maxMemoryMb !== undefined) service.push(`MemoryMax=${Math.round(def.maxMemoryMb)}M`);
    if (def.durationMin > 0) {
      service.push(`RuntimeMaxSec=${Math.ceil(def.durationMin * 60 * 1.5)}`);
      note(def, 'duration_min', 'systemd ends a run at RuntimeMaxSec (1.5 x duration_min here), where pguard only alerts (overrun); and a clean exit 0 before 80% of it, which pguard restarts as premature, is not restarted by Restart=on-failure');
    }
    if (def.health.length > 0) note(def, 'health', 'systemd has no health probes: run `pguard watch --foreground` beside these units (or keep pguard) for them');
    if (def.maxCpuPercent !== undefined) note(def, 'max_cpu_percent', 'systemd can cap CPU (CPUQuota=) but not restart a process for using too much; not exported');
    if (def.survivesRestartOf.length > 0) note(def, 'depends_on', `Requires= stops and restarts this unit with ${def.survivesRestartOf.join(', ')}; "restart": false has no equivalent`);
    if (def.logMaxMb !== 10 || def.logKeep !== 3) note(def, 'log_max_mb', 'output goes to the journal, which journald bounds (SystemMaxUse=), not per unit');
    const text = [
      `# ${unitName(def.name)}: exported by pguard`,
      '[Unit]', ...unit, '',
      '[Service]', ...service, '',
      '[Install]', 'WantedBy=pguard.target', '',
    ].join('\n');
    return { name: unitName(def.name), text };
  });
  files.push({
    name: 'pguard.target',
    text: [
      '# pguard.target: every exported process; systemctl enable --now pguard.target',
      '[Unit]', 'Description=pguard processes', `Wants=${defs.map((d) => unitName(d.name)).join(' ')}`, '',
      '[Install]', `WantedBy=${opts.mode === 'user' ? 'default.target' : 'multi-user.target'}`, '',
    ].join('\n'),
  });
  return { files, notes };
}
