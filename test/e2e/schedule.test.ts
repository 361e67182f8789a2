// Schedules on real processes through the built CLI: a job armed by start and fired by `watch`
// within a second, never overlapping itself (a run longer than its interval makes the next skip,
// said), a failing run alerted; without watch, a healthcheck after the due time fires it, and a
// long gap (the machine off, forged in the record) is reported once as missed, then run once;
// restart_schedule restarts a live process as `restart` does. Each registry is its own temp
// folder and state; every process it started is killed by PID (tmp-registry's cleanup), and the
// watcher, started in the foreground here, is ended by its PID.
import { execa } from 'execa';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI } from '../helpers/run-cli.js';
import { tmpRegistry, type TmpRegistry } from '../helpers/tmp-registry.js';
import { waitFor } from '../helpers/wait-for.js';

async function alertsOf(t: TmpRegistry): Promise<Record<string, any>[]> {
  return JSON.parse((await t.cli(['alerts', '--all', '--json'])).stdout) as Record<string, any>[];
}
const scheduleEntries = (t: TmpRegistry, name: string) => t.ledger().filter((e) => e.event === 'schedule' && e.process === name);

/** The runs of a process as [start, end] intervals (ms), from its runs.log, across runners. */
function intervalsOf(t: TmpRegistry, name: string): [number, number | null][] {
  const runs = t.runs(name);
  return [...runs.starts.values()].map((s) => {
    const exit = runs.exits.get(s.id);
    return [s.startedAt, exit ? exit.endedAt : null] as [number, number | null];
  }).sort((a, b) => a[0] - b[0]);
}

function watchOf(t: TmpRegistry) {
  const w = execa(process.execPath, [CLI, 'watch', '--foreground'], { env: t.env, reject: false });
  return {
    async stop() {
      if (w.pid) { try { process.kill(w.pid, 'SIGTERM'); } catch { /* gone */ } }
      await w;
    },
  };
}

describe('schedule with watch running', () => {
  it('runs a job at its times within a second, never two at once (skipped and said), alerts a failing run, status shows next and last', async () => {
    const t = tmpRegistry({
      tick: { command: `date +%s%3N >> ${JSON.stringify(join('ticks.txt'))}`, schedule: 'every 2s' },
      slow: { command: 'sleep 5', schedule: 'every 2s' },
      bad: { command: 'echo broken; exit 3', schedule: '*/3 * * * * *' },
    });
    const w = watchOf(t);
    try {
      const started = await t.cli(['start', '--all', '--json']);
      expect(started.code).toBe(0);
      expect(JSON.parse(started.stdout).map((r: any) => r.outcome)).toEqual(['scheduled', 'scheduled', 'scheduled']);
      const armed = await t.status('tick');
      expect(armed.status).toBe('scheduled');
      expect(armed.schedule).toMatchObject({ field: 'schedule', expression: 'every 2s', armed: true, last_run: null });
      expect(Date.parse(armed.schedule.next_run_at)).toBeGreaterThan(Date.now() - 1000);

      // tick: three runs, each within a second of its due time.
      await waitFor(() => scheduleEntries(t, 'tick').filter((e) => e.details.action === 'run').length >= 3, { timeoutMs: 20_000, what: 'three runs of tick' });
      for (const e of scheduleEntries(t, 'tick').filter((x) => x.details.action === 'run')) {
        expect(Date.parse(e.at) - Date.parse(e.details.due_at)).toBeLessThan(1000);
      }
      await waitFor(() => readFileSync(join(t.dir, 'ticks.txt'), 'utf8').trim().split('\n').length >= 3, { what: 'tick\'s output' });
      const tick = await waitFor(async () => { const s = await t.status('tick'); return s.schedule.last_run?.outcome === 'completed' ? s : null; }, { what: 'a completed run of tick' });
      expect(tick.schedule).toMatchObject({ fired_by: 'watch', last_run: { outcome: 'completed', code: 0 } });
      expect(Date.parse(tick.schedule.next_run_at)).toBeGreaterThan(Date.parse(tick.schedule.last_run.due_at));

      // slow (5 s, every 2 s): the times while it runs are skipped, with a warning; runs never overlap.
      await waitFor(() => intervalsOf(t, 'slow').filter(([, end]) => end !== null).length >= 2, { timeoutMs: 30_000, what: 'two whole runs of slow' });
      const runs = intervalsOf(t, 'slow');
      for (let i = 1; i < runs.length; i++) expect(runs[i]![0]).toBeGreaterThanOrEqual(runs[i - 1]![1]!);
      const skipped = (await alertsOf(t)).find((a) => a.process === 'slow' && a.kind === 'skipped');
      expect(skipped).toMatchObject({ severity: 'warning' });
      expect(skipped!.message).toMatch(/was skipped: the previous run \(started \d+ s ago, pid \d+\) is still running \(runs never overlap\)$/);
      expect(scheduleEntries(t, 'slow').some((e) => e.details.action === 'skipped')).toBe(true);
      expect((await t.status('slow')).schedule.skipped).toBeGreaterThanOrEqual(1);

      // bad: each run fails; one failed alert (folded), not restarted until its next time.
      const failed = await waitFor(async () => (await alertsOf(t)).find((a) => a.process === 'bad' && a.kind === 'failed'), { timeoutMs: 15_000, what: 'the failed alert' });
      expect(failed).toMatchObject({ severity: 'critical', evidence: { code: 3, action: 'next-run' } });
      expect(failed.evidence.log_tail).toContain('broken');
      const bad = await waitFor(async () => { const s = await t.status('bad'); return s.status === 'failed' ? s : null; }, { what: 'bad failed' });
      expect(bad.next_restart_at).toBeNull();
      expect(bad.schedule.last_run).toMatchObject({ outcome: 'failed', code: 3 });
      expect(bad.reason).toMatch(/^scheduled run failed \(exited with code 3 after .*\); not restarted: next run at /);
      // Each run of bad is its own runner: the runner never restarted it alone.
      for (const r of t.runs('bad').starts.values()) expect(r.id.endsWith('.1')).toBe(true);
    } finally {
      await w.stop();
      await t.cleanup();
    }
  });

  it('restart_schedule restarts a live process as `restart` does: not a crash, no alert, no budget; stopped, it stays stopped', async () => {
    const t = tmpRegistry({ srv: { command: 'exec sleep 1000', restart_schedule: '*/2 * * * * *' } });
    const w = watchOf(t);
    try {
      expect((await t.cli(['start', 'srv'])).code).toBe(0);
      const first = (await t.status('srv')).pid as number;
      const second = await waitFor(async () => { const s = await t.status('srv'); return s.pid && s.pid !== first ? s : null; }, { timeoutMs: 15_000, what: 'a scheduled restart' });
      expect(second).toMatchObject({ status: 'running', restarts: 0, budget_used: 0 });
      expect(await alertsOf(t)).toEqual([]);
      expect(t.ledger().some((e) => e.event === 'start' && e.details.reason === 'started by restart_schedule')).toBe(true);
      expect(t.ledger().some((e) => e.event === 'exit' && e.details.outcome === 'crashed')).toBe(false);
      expect(second.schedule.last_run).toMatchObject({ outcome: 'restarted' });
      await t.cli(['stop', 'srv']);
      const at = scheduleEntries(t, 'srv').length;
      // A due time passes (every even second) and watch looks after it: its beat, touched at each
      // tick's start, is a whole tick past that time. Nothing may happen.
      const due = Math.ceil((Date.now() + 1) / 2000) * 2000;
      await waitFor(() => statSync(join(t.stateDir, 'watch.beat')).mtimeMs > due + 1100, { what: 'a watch tick after the due time' });
      expect((await t.status('srv')).status).toBe('stopped');
      expect(scheduleEntries(t, 'srv').length).toBe(at);
    } finally {
      await w.stop();
      await t.cleanup();
    }
  });
});

describe('schedule without watch', () => {
  it('a healthcheck after the due time fires it; a long gap is reported once as missed, then it runs once', async () => {
    const t = tmpRegistry({
      job: { command: 'echo ran', schedule: 'every 2s' },
      hourly: { command: 'echo hourly', schedule: 'every 30m' },
    });
    try {
      await t.cli(['start', '--all']);
      // Before its time nothing fires it; after, the healthcheck does.
      const s0 = await t.status('job');
      expect(s0.schedule.fired_by).toMatch(/^nothing: neither watch nor `pguard cron install` runs/);
      await waitFor(() => Date.now() > Date.parse(s0.schedule.next_run_at), { what: 'the due time' });
      const hc = await t.cli(['healthcheck', '--json']);
      expect(JSON.parse(hc.stdout).actions).toContainEqual(expect.objectContaining({ name: 'job', action: 'scheduled-run' }));
      await waitFor(async () => (await t.status('job')).schedule.last_run?.outcome === 'completed', { what: 'the run to complete' });

      // The machine was off for the last three hours and ten minutes (the record armed then): its 6
      // times are all older than the healthcheck's lateness (5 + 1 min), so all 6 were missed.
      const file = join(t.stateDir, 'procs', 'hourly', 'state.json');
      const rec = JSON.parse(readFileSync(file, 'utf8'));
      const then = Date.now() - 3 * 3_600_000 - 10 * 60_000;
      writeFileSync(file, JSON.stringify({ ...rec, schedule: { ...rec.schedule, armedAt: then, handledUpTo: then } }));
      const after = JSON.parse((await t.cli(['healthcheck', '--json'])).stdout);
      expect(after.actions).toContainEqual(expect.objectContaining({ name: 'hourly', action: 'scheduled-run' }));
      const missed = (await alertsOf(t)).filter((a) => a.process === 'hourly' && a.kind === 'missed');
      expect(missed).toHaveLength(1);
      expect(missed[0]).toMatchObject({ severity: 'warning', count: 1, evidence: { missed: 6, since: new Date(then + 30 * 60_000).toISOString(), action: 'catch-up' } });
      expect(missed[0]!.message).toMatch(/^missed 6 scheduled runs since \S+ \(nothing looked at its schedule then: .*\); running it once now$/);
      await waitFor(async () => (await t.status('hourly')).schedule.last_run?.outcome === 'completed', { what: 'the catch-up run' });
      expect(scheduleEntries(t, 'hourly').filter((e) => e.details.action === 'run')).toHaveLength(1);
      // Said once: another pass reports nothing more, and runs nothing more.
      await t.cli(['healthcheck']);
      expect((await alertsOf(t)).filter((a) => a.kind === 'missed')[0]!.count).toBe(1);
      expect(scheduleEntries(t, 'hourly').filter((e) => e.details.action === 'run')).toHaveLength(1);
      expect((await t.status('hourly')).schedule).toMatchObject({ missed: 6 });
    } finally {
      await t.cleanup();
    }
  });

  it('a bad schedule is one line naming the field, what was expected and what was found (JSON with --json)', async () => {
    const t = tmpRegistry({ job: { command: 'true', schedule: '61 * * * *' } });
    try {
      const res = await t.cli(['start', 'job']);
      expect(res.code).toBe(2);
      expect(res.stderr.trim().split('\n')).toHaveLength(1);
      expect(res.stderr).toContain('"job".schedule: minute field 61 is out of 0-59');
      expect(res.stderr).not.toMatch(/\n\s+at /);
      const json = await t.cli(['start', 'job', '--json']);
      expect(JSON.parse(json.stderr)).toMatchObject({ code: 'registry-invalid', issues: [{ process: 'job', field: 'schedule', message: 'minute field 61 is out of 0-59' }] });
    } finally {
      await t.cleanup();
    }
  });
});
