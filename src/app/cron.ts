// Scheduling the healthcheck: marked crontab lines (install/uninstall/status), or, where Task
// Scheduler is the scheduler (Windows), a task per registry in \pguard\; the same filled into a
// systemd timer, a launchd agent or a scheduled task for --print.
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { cronArg, findControlCharacter, findOurLines, planCrontab, scheduleEvery, systemdArg, xmlText } from '../core/crontab-plan.js';
import {
  describeTask, isCurrentTask, isOurTask, parseTaskXml, planTaskArguments, planTaskXml, TASK_KINDS, taskName, validateTaskPaths,
  type TaskKind, type TaskSpec,
} from '../core/schtasks-plan.js';
import { readCrontab, writeCrontab } from '../effects/crontab.js';
import { platformTaskScheduler, type TaskScheduler } from '../effects/schtasks.js';
import { cronDaemonRunning, describeNoDaemon } from '../effects/cron-daemon.js';
import { sha256 } from '../effects/hash.js';
import { CLI_PATH, PACKAGE_ROOT } from '../effects/spawn.js';
import { updateRegistry } from '../effects/registry-file.js';
import { startWatchDaemon } from './watch.js';
import { UserError } from '../errors.js';
import { supervisedDefs, type Context } from './context.js';
import { cronLineSchedules, writeCronPlan } from './schedules.js';

export type TemplateFormat = 'crontab' | 'systemd' | 'launchd' | 'schtasks';

export function cronId(registryPath: string): string {
  return sha256(registryPath).slice(0, 12);
}

/** Every path that reaches a scheduler entry, refused with a control character in it (a newline would write a line of its own). */
function checkedPaths(ctx: Context): { script: string; node: string; pguard: string; registry: string; stateDir: string; log: string } {
  const paths = {
    script: join(PACKAGE_ROOT, 'cron', 'healthcheck.sh'), node: process.execPath, pguard: CLI_PATH,
    registry: ctx.registry.path, stateDir: ctx.store.dir, log: ctx.store.path('cronLog'),
  };
  for (const [what, path] of Object.entries(paths)) {
    const bad = findControlCharacter(path);
    if (bad !== null) {
      throw new UserError(`the ${what === 'stateDir' ? 'state directory' : what} path ${JSON.stringify(path)} holds a control character (${JSON.stringify(bad)}): it cannot go into a scheduler entry safely. Move it to a folder whose name has none.`, 2);
    }
  }
  return paths;
}

function scriptLine(ctx: Context, sub: string, ...args: string[]): string {
  const p = checkedPaths(ctx);
  return [p.script, p.node, p.pguard, p.registry, p.stateDir, p.log, sub, ...args].map(cronArg).join(' ');
}

export function plannedLines(ctx: Context, opts: { every: number; boot: boolean }): string[] {
  const schedule = scheduleEvery(opts.every);
  if (!schedule) throw new UserError(`--every expects whole minutes from 1 to 60, got ${JSON.stringify(opts.every)}.`, 2);
  const lines = [`${schedule} ${scriptLine(ctx, 'healthcheck')}`];
  if (opts.boot) lines.push(`@reboot ${scriptLine(ctx, 'boot')}`);
  // A 5-field schedule gets a line of its own, at its own minutes: `pguard fire NAME`. Its fields
  // are the validated ones (digits, names, * , - /), re-joined; the name is quoted as any argument.
  for (const s of cronLineSchedules(supervisedDefs(ctx))) lines.push(`${s.crontab} ${scriptLine(ctx, 'fire', s.name)}`);
  return lines;
}

/** The scheduler's port: Task Scheduler on Windows, else null (the crontab). Tests pass a fake. */
export interface CronPorts { readonly tasks: TaskScheduler | null }
const platformPorts = (ctx: Context): CronPorts => ({ tasks: platformTaskScheduler(ctx.store.dir) });

/** A task in `cron install` and `cron status` answers (Windows). */
export interface TaskView {
  readonly name: string;
  readonly kind: TaskKind;
  /** A task of that name exists. */
  readonly exists: boolean;
  /** It runs pguard `kind` for this registry. */
  readonly ours: boolean;
  /** Minutes between healthchecks (null: the boot task, or none). */
  readonly every: number | null;
  readonly command: string | null;
  readonly arguments: string | null;
  readonly registry: string | null;
}

export type InstallResult = { lines: string[]; changed: boolean; daemon_running: boolean | null; warning?: string; scheduler?: 'schtasks'; tasks?: TaskView[] };

export async function installCron(ctx: Context, opts: { every: number; boot: boolean; watch?: boolean }, ports: CronPorts = platformPorts(ctx)): Promise<InstallResult> {
  if (ports.tasks) return installTasks(ctx, opts, ports.tasks);
  const lines = plannedLines(ctx, opts);
  const id = cronId(ctx.registry.path);
  const current = await readCrontab();
  const next = planCrontab(current, id, lines);
  if (next !== current) await writeCrontab(next);
  // What fires each schedule, for status (and the healthcheck's lateness): kept beside the state.
  writeCronPlan(ctx, { every: opts.every, lines: cronLineSchedules(supervisedDefs(ctx)).map((s) => s.name) });
  const daemon = cronDaemonRunning();
  return { lines: findOurLines(next, id), changed: next !== current, daemon_running: daemon, ...(daemon === false ? { warning: describeNoDaemon(opts.boot) } : {}) };
}

export async function uninstallCron(ctx: Context, ports: CronPorts = platformPorts(ctx)): Promise<{ removed: string[]; scheduler?: 'schtasks' }> {
  if (ports.tasks) return uninstallTasks(ctx, ports.tasks);
  const id = cronId(ctx.registry.path);
  const current = await readCrontab();
  const removed = findOurLines(current, id);
  if (removed.length > 0) await writeCrontab(planCrontab(current, id, []));
  writeCronPlan(ctx, null);
  return { removed };
}

export type CronStatus = { installed: boolean; lines: string[]; log: string | null; daemon_running: boolean | null; warning?: string; scheduler?: 'schtasks'; tasks?: TaskView[] };

export async function cronStatus(ctx: Context, ports: CronPorts = platformPorts(ctx)): Promise<CronStatus> {
  if (ports.tasks) return taskStatus(ctx, ports.tasks);
  const lines = findOurLines(await readCrontab(), cronId(ctx.registry.path));
  const daemon = cronDaemonRunning();
  const boot = lines.some((l) => l.startsWith('@reboot'));
  return { installed: lines.length > 0, lines, log: ctx.store.path('cronLog'), daemon_running: daemon, ...(daemon === false && lines.length > 0 ? { warning: describeNoDaemon(boot) } : {}) };
}

/** The files of each format; with --boot, also what starts the autostart processes at boot or logon. */
function templateFiles(format: 'systemd' | 'launchd', boot: boolean): string[] {
  switch (format) {
    case 'systemd': return ['systemd/pguard-healthcheck.service', 'systemd/pguard-healthcheck.timer', ...(boot ? ['systemd/pguard-boot.service'] : [])];
    case 'launchd': return ['launchd/com.pguard.healthcheck.plist']; // --boot: RunAtLoad
  }
}

/** The scheduler files for --print, filled in: {{node}} {{pguard}} {{registry}} {{every}}. */
export function renderSchedule(ctx: Context, format: TemplateFormat, opts: { every: number; boot: boolean }): string {
  if (format === 'crontab') return `${plannedLines(ctx, opts).map((l) => `${l} # pguard:${cronId(ctx.registry.path)}`).join('\n')}\n`;
  if (format === 'schtasks') {
    // The very XML `cron install` registers on Windows (declared UTF-8 here: this is text on stdout).
    const specs = plannedTasks(ctx, opts);
    return specs.map((spec) => `${specs.length > 1 ? `### pguard-${spec.kind}.xml\n` : ''}${planTaskXml(spec, 'UTF-8')}`).join('\n');
  }
  if (!scheduleEvery(opts.every)) throw new UserError(`--every expects whole minutes from 1 to 60, got ${JSON.stringify(opts.every)}.`, 2);
  const p = checkedPaths(ctx);
  // Each format quotes in its own way: systemd's specifiers take `%`, XML takes `&` and `<`.
  const escape = format === 'systemd' ? systemdArg : xmlText;
  const values: Record<string, string> = {
    node: escape(p.node), pguard: escape(p.pguard), registry: escape(p.registry),
    every: String(opts.every), every_seconds: String(opts.every * 60),
    run_at_load: opts.boot ? '  <key>RunAtLoad</key>\n  <true/>\n' : '',
  };
  const files = templateFiles(format, opts.boot);
  return files.map((rel) => {
    const text = readFileSync(join(PACKAGE_ROOT, 'templates', rel), 'utf8').replace(/\{\{(\w+)\}\}/g, (m, k: string) => values[k] ?? m);
    return files.length > 1 ? `### ${rel.split('/').pop()}\n${text}` : text;
  }).join('\n');
}

// ---- Task Scheduler (Windows) ----------------------------------------------------------------

/** DOMAIN\user of whoever installs: the task runs as them, and their logon starts the boot task. */
function taskUser(env: NodeJS.ProcessEnv): string {
  const name = env.USERNAME;
  if (!name) return userInfo().username;
  return env.USERDOMAIN ? `${env.USERDOMAIN}\\${name}` : name;
}

/** The tasks `cron install` registers: the healthcheck every N minutes, and with --boot the logon task. */
function plannedTasks(ctx: Context, opts: { every: number; boot: boolean }): TaskSpec[] {
  if (!scheduleEvery(opts.every)) throw new UserError(`--every expects whole minutes from 1 to 60, got ${JSON.stringify(opts.every)}.`, 2);
  const p = checkedPaths(ctx);
  const paths = { node: p.node, cli: p.pguard, registry: p.registry };
  const issues = validateTaskPaths(paths);
  if (issues.length > 0) throw new UserError(issues.join(' '), 2);
  const user = taskUser(ctx.env);
  return (opts.boot ? TASK_KINDS : TASK_KINDS.filter((k) => k !== 'boot')).map((kind) => ({ kind, every: opts.every, paths, user }));
}

async function readTasks(ctx: Context, tasks: TaskScheduler): Promise<TaskView[]> {
  const id = cronId(ctx.registry.path);
  const views: TaskView[] = [];
  for (const kind of TASK_KINDS) {
    const name = taskName(kind, id);
    const t = parseTaskXml(await tasks.readTask(name));
    views.push({ name, kind, exists: t.installed, ours: isOurTask(t, kind, ctx.registry.path), every: kind === 'healthcheck' ? t.interval : null, command: t.command, arguments: t.arguments, registry: t.registry });
  }
  return views;
}

/**
 * A scheduled task does not inherit this shell's PGUARD_STATE_DIR: without $settings.state_dir
 * its runs would keep their state somewhere else.
 */
function describeStateDirWarning(ctx: Context): string | undefined {
  if (!ctx.env.PGUARD_STATE_DIR || ctx.registry.settings.stateDir) return undefined;
  return `PGUARD_STATE_DIR is set here but a scheduled task does not inherit it, so its runs would use another state directory. Set it for your user (setx PGUARD_STATE_DIR "${ctx.store.dir}"), or put "state_dir" in the registry's $settings.`;
}

async function installTasks(ctx: Context, opts: { every: number; boot: boolean; watch?: boolean }, tasks: TaskScheduler): Promise<InstallResult> {
  if (opts.watch) {
    throw new UserError('cron install --watch is not supported with Task Scheduler yet (the watcher is not verified on Windows). Install without --watch: the healthcheck task is the backstop.', 2);
  }
  const specs = plannedTasks(ctx, opts);
  const id = cronId(ctx.registry.path);
  let changed = false;
  const views: TaskView[] = [];
  for (const kind of TASK_KINDS) {
    const name = taskName(kind, id);
    const current = parseTaskXml(await tasks.readTask(name));
    const spec = specs.find((s) => s.kind === kind);
    if (spec) {
      // Already this very task: left alone (its run history kept). Else created, or replaced (/F).
      if (!isCurrentTask(current, spec)) {
        await tasks.writeTask(name, planTaskXml(spec, 'UTF-16'));
        changed = true;
      }
      views.push({ name, kind, exists: true, ours: true, every: kind === 'healthcheck' ? spec.every : null, command: spec.paths.node, arguments: planTaskArguments(kind, spec.paths), registry: spec.paths.registry });
    } else if (current.installed) {
      // Installed before with --boot, not now: removed, as the crontab's @reboot line would be.
      await tasks.deleteTask(name);
      changed = true;
    }
  }
  // Task Scheduler: the healthcheck task fires every schedule (status says so).
  writeCronPlan(ctx, { every: opts.every, lines: [] });
  const warning = describeStateDirWarning(ctx);
  return { scheduler: 'schtasks', lines: views.map((v) => describeTask(v.name, { ...v, interval: v.every })), tasks: views, changed, daemon_running: null, ...(warning ? { warning } : {}) };
}

async function uninstallTasks(ctx: Context, tasks: TaskScheduler): Promise<{ removed: string[]; scheduler: 'schtasks' }> {
  const removed: string[] = [];
  // Only the names made from this registry's hash: other registries' tasks stay.
  for (const t of await readTasks(ctx, tasks)) {
    if (!t.exists) continue;
    await tasks.deleteTask(t.name);
    removed.push(t.name);
  }
  writeCronPlan(ctx, null);
  return { scheduler: 'schtasks', removed };
}

async function taskStatus(ctx: Context, tasks: TaskScheduler): Promise<CronStatus> {
  const views = await readTasks(ctx, tasks);
  const present = views.filter((v) => v.exists);
  const strangers = present.filter((v) => !v.ours);
  const warnings = [
    ...strangers.map((v) => `the task ${v.name} does not run pguard ${v.kind} for ${ctx.registry.path}; \`pguard cron install${v.kind === 'boot' ? ' --boot' : ''}\` replaces it.`),
    ...(present.length > 0 ? [describeStateDirWarning(ctx)].filter((w): w is string => w !== undefined) : []),
  ];
  return {
    scheduler: 'schtasks',
    installed: views.some((v) => v.kind === 'healthcheck' && v.ours),
    lines: present.map((v) => describeTask(v.name, { ...v, interval: v.every })),
    tasks: views,
    // Task Scheduler runs node.exe itself: no shell appends the output to a log.
    log: null,
    daemon_running: null,
    ...(warnings.length > 0 ? { warning: warnings.join(' ') } : {}),
  };
}

/** `cron install --watch`: turn on $settings.watch in the registry (formatting kept) and start the watcher. */
export async function enableWatch(ctx: Context): Promise<{ pid: number; already: boolean }> {
  await updateRegistry(ctx.registry.path, (data) => {
    const settings = data.$settings && typeof data.$settings === 'object' && !Array.isArray(data.$settings) ? (data.$settings as Record<string, unknown>) : {};
    data.$settings = { ...settings, watch: true };
  }, { lockDir: ctx.store.path('locks') });
  return startWatchDaemon(ctx);
}
