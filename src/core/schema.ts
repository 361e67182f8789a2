import type { AlertKind, Alert } from './alerts.js';
import type { ProbeDef } from './probes.js';

// The registry format in one table. Everything else (validation, defaults, the JSON Schema in
// templates/, the README's field list) is derived from FIELDS and SETTINGS.

export type FieldType =
  | 'string'
  | 'non-negative-integer'
  | 'non-negative-number'
  | 'boolean'
  | 'dependencies'
  | 'env'
  | 'signal'
  | 'backoff'
  | 'exit-codes'
  | 'url'
  | 'probes'
  | 'account'
  | 'schedule'
  | 'channels';

export interface FieldSpec {
  /** The key as written in the registry (snake_case). */
  readonly key: string;
  readonly type: FieldType;
  /** The default when absent; undefined means optional with no default (or required). */
  readonly default?: unknown;
  readonly required?: boolean;
  readonly unit?: 'seconds' | 'minutes' | 'MB' | 'days';
  readonly doc: string;
}

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** An environment variable's name as the registry takes it (`env` keys). */
export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** An exit code: a whole number from 0 to 255. */
export const isExitCode = (c: unknown): c is number => typeof c === 'number' && Number.isInteger(c) && c >= 0 && c <= 255;

/** A user or group as written: a name (useradd's characters, a trailing $ for machine accounts) or a numeric id. */
export const ACCOUNT_PATTERN = /^(?:[A-Za-z_][A-Za-z0-9_.-]{0,31}\$?|\d{1,10})$/;
/** The largest id: 2^32 - 2 (2^32 - 1 is (uid_t)-1, "no change" to setresuid). */
export const MAX_ACCOUNT_ID = 4_294_967_294;

export const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGKILL', 'SIGUSR1', 'SIGUSR2'] as const;
export type StopSignal = (typeof SIGNALS)[number];

export const FIELDS: readonly FieldSpec[] = [
  { key: 'command', type: 'string', required: true, doc: 'Shell command, run through /bin/sh -c.' },
  { key: 'cwd', type: 'string', doc: 'Working directory; relative paths are taken from the registry file\'s folder.' },
  { key: 'env', type: 'env', default: {}, doc: 'Extra environment variables (string values).' },
  { key: 'env_file', type: 'string', doc: 'A dotenv file (KEY=VALUE lines) loaded before `env`.' },
  { key: 'duration_min', type: 'non-negative-number', default: 0, unit: 'minutes', doc: 'Expected run time; 0 = runs indefinitely. A run that exits 0 after 80% of it is a normal completion.' },
  { key: 'auto_restart', type: 'boolean', default: true, doc: 'Restart after a premature death.' },
  { key: 'max_restarts', type: 'non-negative-integer', default: 5, doc: 'Automatic restarts allowed before giving up (reset by a run that lasts min_uptime).' },
  { key: 'restart_cooldown', type: 'non-negative-number', default: 30, unit: 'seconds', doc: 'Least time between two automatic restarts.' },
  { key: 'min_uptime', type: 'non-negative-number', default: 60, unit: 'seconds', doc: 'A run lasting this long counts as stable and resets the restart budget.' },
  { key: 'backoff', type: 'backoff', default: 'fixed', doc: '"fixed" waits restart_cooldown; "exponential" doubles it after each further restart, capped at 16 x restart_cooldown and at 1 hour.' },
  { key: 'stop_signal', type: 'signal', default: 'SIGTERM', doc: 'Signal sent to the process tree and group on stop.' },
  { key: 'kill_timeout', type: 'non-negative-number', default: 10, unit: 'seconds', doc: 'Wait after stop_signal before SIGKILL.' },
  { key: 'depends_on', type: 'dependencies', default: [], doc: 'Processes this one needs: names, or {"name": "db", "restart": false} for one whose restart it survives (it reconnects).' },
  { key: 'autostart', type: 'boolean', default: false, doc: 'Started by `pguard boot` (e.g. from @reboot).' },
  { key: 'log_max_mb', type: 'non-negative-number', default: 10, unit: 'MB', doc: 'Rotate the log past this size (copytruncate at start and at each healthcheck; with log_writer, as it is written); 0 = never.' },
  { key: 'log_keep', type: 'non-negative-integer', default: 3, doc: 'Rotated logs kept.' },
  { key: 'log_writer', type: 'boolean', default: false, doc: 'Rotate the log as it is written: the output goes through a pipe to a writer beside the runner, which renames the log aside at log_max_mb (never larger, nothing lost); for a process that writes faster than healthchecks rotate. Costs about 0.2 MB more per process (Pss) and the writer\'s CPU. Linux and macOS; false: copytruncate at start and at each healthcheck.' },
  { key: 'health', type: 'probes', default: [], doc: 'Health probes: {"type": "http"|"tcp"|"exec"|"heartbeat", ...} with interval (s, 10), timeout (s, 5), failure_threshold (3) and grace (s, 10).' },
  { key: 'max_memory_mb', type: 'non-negative-number', unit: 'MB', doc: 'Resident memory of the whole process tree above which it is restarted (gracefully).' },
  { key: 'max_cpu_percent', type: 'non-negative-number', doc: 'CPU use of the process tree (100 = one core) above which, sustained for cpu_window, it is restarted.' },
  { key: 'cpu_window', type: 'non-negative-number', default: 60, unit: 'seconds', doc: 'How long max_cpu_percent must be exceeded.' },
  { key: 'ready_after', type: 'non-negative-number', default: 3, unit: 'seconds', doc: 'Without probes, a dependency counts as ready once it has run this long.' },
  { key: 'restart_dependents', type: 'boolean', default: true, doc: 'When this process is restarted automatically, restart the processes that depend on it once it is ready.' },
  { key: 'user', type: 'account', doc: 'Run the program as this user (a name or a numeric uid): its uid, primary group, supplementary groups, HOME, USER, LOGNAME and SHELL (env still wins). Only root can start a process as another user; the same user is a no-op.' },
  { key: 'group', type: 'account', doc: 'With user: the primary group (a name or a numeric gid) instead of the user\'s own.' },
  { key: 'schedule', type: 'schedule', doc: 'Run it on a schedule, to completion (a job): cron "minute hour day-of-month month day-of-week" (6 fields: seconds first, fired by `watch` only), @hourly/@daily/@weekly/@monthly/@yearly, or "every 30m" / "every 1h30m" / "every 45s"; local time. `start` arms it (`start --now` also runs it at once). A run that exits 0 (or one of success_exit_codes) is completed; any other end is a failed run: one alert, not restarted until its next time. A run still going when the next is due: that one is skipped, with an alert. Due times missed while nothing ran (the machine off) are reported, then it runs once. duration_min: a run longer than it raises `overrun`.' },
  { key: 'restart_schedule', type: 'schedule', doc: 'Restart it gracefully (as `pguard restart`) at these times while it is up (PM2\'s cron_restart); same syntax as schedule. Not a crash: no alert, no restart budget spent. A stopped process stays stopped.' },
  { key: 'no_restart_exit_codes', type: 'exit-codes', default: [78], doc: 'Exit codes that mean "do not restart me" (as systemd\'s RestartPreventExitStatus): the process goes to failed at once, with a critical alert. 78 is EX_CONFIG. 126 and 127 (the command cannot run, or was not found) always do.' },
  { key: 'success_exit_codes', type: 'exit-codes', default: [], doc: 'Exit codes that mean the work is done, however long the run lasted (supervisord\'s exitcodes with autorestart=unexpected, PM2\'s stop_exit_codes, systemd\'s SuccessExitStatus): the process goes to completed, is not restarted, and raises no alert.' },
];

export const SETTINGS: readonly FieldSpec[] = [
  { key: 'state_dir', type: 'string', doc: 'Where pguard keeps state, logs and alerts (mode 0700). Default: $XDG_STATE_HOME/pguard/<registry id>.' },
  { key: 'alert_flag', type: 'string', doc: 'Alert flag file (exists while an alert is unacknowledged). Default: <state_dir>/alert.flag.' },
  { key: 'alert_text', type: 'string', doc: 'Human-readable text of the unacknowledged alerts. Default: <state_dir>/alert.txt.' },
  { key: 'alert_cooldown', type: 'non-negative-number', default: 900, unit: 'seconds', doc: 'Repeats of one alert kind for one process within this window are recorded but not notified again.' },
  { key: 'failed_retry', type: 'non-negative-number', default: 3600, unit: 'seconds', doc: 'the longest wait between two retries of a failed process: 1 min after it gave up, then 2, 4, 8 ... up to this; 0 = never.' },
  { key: 'desktop', type: 'boolean', default: false, doc: 'Desktop notifications (node-notifier); silently skipped without a display.' },
  { key: 'webhook', type: 'url', doc: 'http:// or https:// URL that receives each alert as a JSON POST (redirects are not followed).' },
  { key: 'notify_command', type: 'string', doc: 'Command run with each alert as JSON on stdin.' },
  { key: 'notify', type: 'channels', default: [], doc: 'Notification channels, several at once: [{"type": "telegram"|"slack"|"discord"|"pagerduty"|"ntfy"|"email"|"webhook"|"command"|"desktop", ...its options, "name", "min_severity", "kinds", "processes", "quiet_hours"}]. Secrets are written "$NAME": read from the environment, then notify_env_file. Each failure is sent once per channel, and its recovery where the failure went (README: Notifications).' },
  { key: 'notify_env_file', type: 'string', doc: 'A dotenv file (KEY=VALUE lines) with the secrets the notify channels name as $NAME; relative to the registry\'s folder. The environment wins over it.' },
  { key: 'watch', type: 'boolean', default: false, doc: 'Keep `pguard watch` running: healthcheck starts it when it is not, and raises an alert that it had died.' },
  { key: 'ledger_keep_days', type: 'non-negative-number', default: 0, unit: 'days', doc: 'Closed ledger segments whose entries are all older than this leave the live ledger at the next rotation (archived, or deleted with ledger_archive false), leaving a signed ledger.anchor so `audit verify` still proves the rest; 0 = keep everything.' },
  { key: 'ledger_archive', type: 'boolean', default: true, doc: 'With ledger_keep_days: move old segments to <state_dir>/ledger-archive/ gzip-compressed (`audit verify --archive` checks them too); false deletes them.' },
];

export type Backoff = 'fixed' | 'exponential';

/** Quiet hours of a channel: minutes after local midnight; from > to spans midnight. */
export interface QuietHours {
  readonly from: number;
  readonly to: number;
  readonly text: string;
}

/** One notification channel of $settings.notify, validated (core/channels.ts). */
export interface ChannelDef {
  readonly name: string;
  readonly type: 'telegram' | 'slack' | 'discord' | 'pagerduty' | 'ntfy' | 'email' | 'webhook' | 'command' | 'desktop';
  readonly minSeverity: Alert['severity'];
  readonly kinds: readonly AlertKind[] | null;
  readonly processes: readonly string[] | null;
  readonly quietHours: QuietHours | null;
  /** As written: a value may be `$NAME` or `${NAME}`, read when the channel sends (core/channels.ts resolveOptions). */
  readonly options: Readonly<Record<string, string | readonly string[]>>;
}

/** A process definition, fully defaulted, with camelCase names. What the user wrote is WrittenProcess. */
export interface ProcessDef {
  readonly name: string;
  readonly command: string;
  readonly cwd: string | undefined;
  readonly env: Readonly<Record<string, string>>;
  readonly envFile: string | undefined;
  readonly durationMin: number;
  readonly autoRestart: boolean;
  readonly maxRestarts: number;
  readonly restartCooldownS: number;
  readonly minUptimeS: number;
  readonly backoff: Backoff;
  readonly stopSignal: StopSignal;
  readonly killTimeoutS: number;
  readonly dependsOn: readonly string[];
  /** Dependencies whose restart this process survives (`{"name": ..., "restart": false}`). */
  readonly survivesRestartOf: readonly string[];
  readonly autostart: boolean;
  readonly logMaxMb: number;
  readonly logKeep: number;
  readonly logWriter: boolean;
  readonly health: readonly ProbeDef[];
  readonly maxMemoryMb: number | undefined;
  readonly maxCpuPercent: number | undefined;
  readonly cpuWindowS: number;
  readonly readyAfterS: number;
  readonly restartDependents: boolean;
  /** The user to run as, a name or a uid (digits), as written; resolved at start (effects/run-as.ts). */
  readonly user: string | undefined;
  /** Its primary group instead of the user's own: a name or a gid (digits). */
  readonly group: string | undefined;
  readonly noRestartExitCodes: readonly number[];
  readonly successExitCodes: readonly number[];
  /** A job's schedule (core/schedule.ts syntax), as written. */
  readonly schedule: string | undefined;
  readonly restartSchedule: string | undefined;
}

/** An entry as it stands in the file: snake_case keys, unknown keys kept. */
export type WrittenProcess = Record<string, unknown>;

export interface Settings {
  readonly stateDir: string | undefined;
  readonly alertFlag: string | undefined;
  readonly alertText: string | undefined;
  readonly alertCooldownS: number;
  readonly failedRetryS: number;
  readonly desktop: boolean;
  readonly webhook: string | undefined;
  readonly notifyCommand: string | undefined;
  readonly notify: readonly ChannelDef[];
  readonly notifyEnvFile: string | undefined;
  readonly watch: boolean;
  readonly ledgerKeepDays: number;
  readonly ledgerArchive: boolean;
}

/** snake_case registry key -> camelCase property, with the unit suffix where one applies. */
export function propertyOf(spec: FieldSpec): string {
  const camel = spec.key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  if (spec.unit === 'seconds' && !camel.endsWith('S')) return `${camel}S`;
  return camel;
}

/** The JSON Schema of the registry, generated from FIELDS (templates/registry.schema.json is pinned to it). */
export function describeJsonSchema(): Record<string, unknown> {
  const toSchema = (spec: FieldSpec): Record<string, unknown> => {
    const base: Record<string, unknown> = { description: spec.doc + (spec.unit ? ` (${spec.unit})` : '') };
    if (spec.default !== undefined) base.default = spec.default;
    switch (spec.type) {
      case 'string': case 'schedule': return { ...base, type: 'string', minLength: 1 };
      case 'non-negative-integer': return { ...base, type: 'integer', minimum: 0 };
      case 'non-negative-number': return { ...base, type: 'number', minimum: 0 };
      case 'boolean': return { ...base, type: 'boolean' };
      case 'dependencies': return {
        ...base, type: 'array',
        items: {
          oneOf: [
            { type: 'string', pattern: NAME_PATTERN.source },
            { type: 'object', required: ['name'], properties: { name: { type: 'string', pattern: NAME_PATTERN.source }, restart: { type: 'boolean' } }, additionalProperties: false },
          ],
        },
      };
      case 'env': return { ...base, type: 'object', additionalProperties: { type: 'string' } };
      case 'signal': return { ...base, enum: [...SIGNALS] };
      case 'backoff': return { ...base, enum: ['fixed', 'exponential'] };
      case 'url': return { ...base, type: 'string', pattern: '^https?://' };
      case 'account': return { ...base, oneOf: [{ type: 'string', pattern: ACCOUNT_PATTERN.source }, { type: 'integer', minimum: 0, maximum: MAX_ACCOUNT_ID }] };
      case 'exit-codes': return { ...base, type: 'array', items: { type: 'integer', minimum: 0, maximum: 255 } };
      case 'channels': return {
        ...base, type: 'array',
        items: {
          type: 'object', required: ['type'],
          properties: {
            type: { enum: ['telegram', 'slack', 'discord', 'pagerduty', 'ntfy', 'email', 'webhook', 'command', 'desktop'] },
            name: { type: 'string', pattern: NAME_PATTERN.source }, min_severity: { enum: ['info', 'warning', 'critical'] },
            kinds: { type: 'array', items: { type: 'string' } }, processes: { type: 'array', items: { type: 'string' } },
            quiet_hours: { type: 'string', pattern: '^\\s*\\d{1,2}:\\d{2}\\s*-\\s*\\d{1,2}:\\d{2}\\s*$' },
            to: { oneOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
            chat_id: { oneOf: [{ type: 'string' }, { type: 'integer' }] },
          },
          additionalProperties: { type: 'string' },
        },
      };
      case 'probes': return {
        ...base, type: 'array',
        items: {
          type: 'object', required: ['type'],
          properties: {
            type: { enum: ['http', 'tcp', 'exec', 'heartbeat'] }, url: { type: 'string' }, expect_status: { type: 'integer' },
            host: { type: 'string' }, port: { type: 'integer', minimum: 1, maximum: 65535 }, command: { type: 'string' },
            max_age: { type: 'number' }, interval: { type: 'number' }, timeout: { type: 'number' },
            failure_threshold: { type: 'integer', minimum: 1 }, grace: { type: 'number', minimum: 0 },
          },
        },
      };
    }
  };
  const props = (specs: readonly FieldSpec[]) => Object.fromEntries(specs.map((s) => [s.key, toSchema(s)]));
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'pguard .process-registry.json',
    type: 'object',
    properties: {
      $schema: { type: 'string' },
      $settings: { type: 'object', properties: props(SETTINGS) },
    },
    patternProperties: {
      [NAME_PATTERN.source]: {
        type: 'object',
        required: FIELDS.filter((f) => f.required).map((f) => f.key),
        properties: props(FIELDS),
      },
    },
    additionalProperties: false,
  };
}
