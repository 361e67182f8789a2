// How results look to a person: what a command's render() is handed (output.ts and these views).
// JSON output bypasses them.
import type { StartResult } from '../app/start.js';
import type { StatusView } from '../app/status.js';
import { describeDuration } from '../core/exit.js';
import { isProblem } from '../core/states.js';
import { formatUptime, paint, printLine, renderTable, STATUS_COLOR } from './output.js';

export * from './output.js';

export function printStartResults(results: readonly StartResult[]): void {
  for (const r of results) {
    if (r.outcome === 'not-started') {
      printLine(paint(`✗ ${r.message}`, 'red'));
    } else if (r.outcome === 'died') {
      printLine(paint(`✗ ${r.message}`, 'red'));
      if (r.log_tail && r.log_tail.length > 0) {
        printLine('  last log lines:');
        for (const l of r.log_tail) printLine(`    ${l}`);
      }
    } else if (r.outcome === 'already-running' || r.outcome === 'scheduled') {
      printLine(`• ${r.message}`);
    } else {
      printLine(paint(`✓ ${r.message}`, 'green'));
    }
  }
}

function describeLastExit(v: StatusView): string {
  const e = v.last_exit;
  if (!e) return '-';
  const how = e.vanished ? 'vanished' : e.signal ? e.signal : `exit ${e.code}`;
  return `${how} after ${describeDuration(e.ran_s * 1000)}`;
}

export function printStatusTable(views: readonly StatusView[]): void {
  if (views.length === 0) {
    printLine('no processes registered: add one with `pguard register <name> <command>`');
    return;
  }
  printLine(renderTable(views, [
    { header: 'NAME', value: (v) => v.name },
    { header: 'STATUS', value: (v) => paint(v.status, STATUS_COLOR[v.status]) },
    { header: 'PID', value: (v) => (v.pid === null ? '-' : String(v.pid)), align: 'right' },
    { header: 'UPTIME', value: (v) => formatUptime(v.uptime_s), align: 'right' },
    { header: 'RESTARTS', value: (v) => String(v.restarts), align: 'right' },
    { header: 'MEM', value: (v) => (v.memory_mb === null ? '-' : `${v.memory_mb}M`), align: 'right' },
    { header: 'CPU', value: (v) => (v.cpu_percent === null ? '-' : `${v.cpu_percent}%`), align: 'right' },
    { header: 'LAST EXIT', value: describeLastExit },
    { header: 'COMMAND', value: (v) => v.command, max: 40 },
  ]));
  const notes = views.filter((v) => v.status === 'invalid' || isProblem(v.status));
  for (const v of notes) {
    const failing = v.health.filter((h) => h.failures > 0).map((h) => `${h.probe}: ${h.detail} (${h.failures} in a row)`);
    const why = v.status === 'unhealthy' ? failing.join('; ') : v.reason;
    // A failed process is not restarted but retried (1, 2, 4 ... min after it gave up): said once,
    // not "not restarted (next retry ...)".
    const line = !v.next_restart_at ? why
      : v.status === 'failed' ? `${why.replace(/; not restarted$/, '')}; retried at ${v.next_restart_at} (failed_retry)`
        : `${why} (next restart ${v.next_restart_at})`;
    printLine(paint(`  ${v.name}: ${line}`, STATUS_COLOR[v.status]));
  }
  // Scheduled processes: the next run, the last, and what fires it.
  for (const v of views) {
    const s = v.schedule;
    if (!s) continue;
    const last = s.last_run
      ? `last ${s.last_run.started_at} ${s.last_run.outcome}${s.last_run.ran_s !== null ? ` after ${describeDuration(s.last_run.ran_s * 1000)}` : ''}`
      : 'never run';
    const extra = [s.skipped ? `${s.skipped} skipped` : '', s.missed ? `${s.missed} missed` : ''].filter(Boolean).join(', ');
    printLine(`  ${v.name}: ${s.field} ${s.expression}: next ${s.next_run_at ?? (s.armed ? 'never' : '- (not armed)')}; ${last}${extra ? `; ${extra}` : ''}; fired by ${s.fired_by}`);
  }
}
