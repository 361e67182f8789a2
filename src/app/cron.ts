// Scheduling the healthcheck: marked crontab lines (install/uninstall/status), or the same filled
// into a systemd timer, a launchd agent or a Windows scheduled task for --print.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cronArg, findControlCharacter, findOurLines, planCrontab, scheduleEvery, systemdArg, xmlText } from '../core/crontab-plan.js';
import { readCrontab, writeCrontab } from '../effects/crontab.js';
import { cronDaemonRunning, describeNoDaemon } from '../effects/cron-daemon.js';
import { sha256 } from '../effects/hash.js';
import { CLI_PATH, PACKAGE_ROOT } from '../effects/spawn.js';
import { updateRegistry } from '../effects/registry-file.js';
import { startWatchDaemon } from './watch.js';
import { UserError } from '../errors.js';
import type { Context } from './context.js';

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

function scriptLine(ctx: Context, sub: string): string {
  const p = checkedPaths(ctx);
  return [p.script, p.node, p.pguard, p.registry, p.stateDir, p.log, sub].map(cronArg).join(' ');
}

export function plannedLines(ctx: Context, opts: { every: number; boot: boolean }): string[] {
  const schedule = scheduleEvery(opts.every);
  if (!schedule) throw new UserError(`--every expects whole minutes from 1 to 60, got ${JSON.stringify(opts.every)}.`, 2);
  const lines = [`${schedule} ${scriptLine(ctx, 'healthcheck')}`];
  if (opts.boot) lines.push(`@reboot ${scriptLine(ctx, 'boot')}`);
  return lines;
}

export async function installCron(ctx: Context, opts: { every: number; boot: boolean }): Promise<{ lines: string[]; changed: boolean; daemon_running: boolean | null; warning?: string }> {
  const lines = plannedLines(ctx, opts);
  const id = cronId(ctx.registry.path);
  const current = await readCrontab();
  const next = planCrontab(current, id, lines);
  if (next !== current) await writeCrontab(next);
  const daemon = cronDaemonRunning();
  return { lines: findOurLines(next, id), changed: next !== current, daemon_running: daemon, ...(daemon === false ? { warning: describeNoDaemon(opts.boot) } : {}) };
}

export async function uninstallCron(ctx: Context): Promise<{ removed: string[] }> {
  const id = cronId(ctx.registry.path);
  const current = await readCrontab();
  const removed = findOurLines(current, id);
  if (removed.length > 0) await writeCrontab(planCrontab(current, id, []));
  return { removed };
}

export async function cronStatus(ctx: Context): Promise<{ installed: boolean; lines: string[]; log: string; daemon_running: boolean | null; warning?: string }> {
  const lines = findOurLines(await readCrontab(), cronId(ctx.registry.path));
  const daemon = cronDaemonRunning();
  const boot = lines.some((l) => l.startsWith('@reboot'));
  return { installed: lines.length > 0, lines, log: ctx.store.path('cronLog'), daemon_running: daemon, ...(daemon === false && lines.length > 0 ? { warning: describeNoDaemon(boot) } : {}) };
}

/** The files of each format; with --boot, also what starts the autostart processes at boot or logon. */
function templateFiles(format: Exclude<TemplateFormat, 'crontab'>, boot: boolean): string[] {
  switch (format) {
    case 'systemd': return ['systemd/pguard-healthcheck.service', 'systemd/pguard-healthcheck.timer', ...(boot ? ['systemd/pguard-boot.service'] : [])];
    case 'launchd': return ['launchd/com.pguard.healthcheck.plist']; // --boot: RunAtLoad
    case 'schtasks': return ['schtasks/pguard-healthcheck.xml', ...(boot ? ['schtasks/pguard-boot.xml'] : [])];
  }
}

/** The scheduler files for --print, filled in: {{node}} {{pguard}} {{registry}} {{every}}. */
export function renderSchedule(ctx: Context, format: TemplateFormat, opts: { every: number; boot: boolean }): string {
  if (format === 'crontab') return `${plannedLines(ctx, opts).map((l) => `${l} # pguard:${cronId(ctx.registry.path)}`).join('\n')}\n`;
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

/** `cron install --watch`: turn on $settings.watch in the registry (formatting kept) and start the watcher. */
export async function enableWatch(ctx: Context): Promise<{ pid: number; already: boolean }> {
  await updateRegistry(ctx.registry.path, (data) => {
    const settings = data.$settings && typeof data.$settings === 'object' && !Array.isArray(data.$settings) ? (data.$settings as Record<string, unknown>) : {};
    data.$settings = { ...settings, watch: true };
  }, { lockDir: ctx.store.path('locks') });
  return startWatchDaemon(ctx);
}
