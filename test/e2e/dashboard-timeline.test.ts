// GET /api/timeline against a real dashboard and a real process killed with SIGKILL: the segments
// say what runs.log and the ledger say, to the runner's 10 ms clock.
import { describe, expect, it } from 'vitest';
import { startDashboard } from '../helpers/dashboard.js';
import { tmpRegistry } from '../helpers/tmp-registry.js';
import { waitFor } from '../helpers/wait-for.js';

interface SegmentJson { from: string; to: string; state: string; run?: string; failure?: string }
interface ProcessJson { name: string; segments: SegmentJson[]; failures: Record<string, unknown>[]; median_recovery_ms: number | null; worst_recovery_ms: number | null; uptime_percent: number | null }
interface TimelineJson { from: string; to: string; window: string; processes: ProcessJson[] }

describe('GET /api/timeline', () => {
  it('shows a SIGKILLed process running, down at the kill for as long as the runner took, then running again', async () => {
    const t = tmpRegistry({ api: { command: 'exec sleep 1000', restart_cooldown: 0 }, idle: { command: 'exec sleep 1000' } });
    await t.cli(['start', 'api', '--no-wait']);
    const pid = await waitFor(() => t.runs('api').latest?.identity.pid);
    const d = await startDashboard(t);
    const before = Date.now();
    process.kill(pid, 'SIGKILL');
    const after = Date.now();
    await waitFor(() => t.runs('api').starts.get('1.2'), { what: 'the runner\'s restart' });
    // The failure is in the timeline once the runner's report is in the ledger.
    const timeline = await waitFor(async () => {
      const body = (await (await d.api('/api/timeline?window=1h')).json()) as TimelineJson;
      return body.processes.find((p) => p.name === 'api')!.failures.length === 1 ? body : null;
    }, { what: 'the failure in the timeline' });

    expect(Object.keys(timeline)).toEqual(['from', 'to', 'window', 'processes']);
    expect(timeline.window).toBe('1h');
    expect(Date.parse(timeline.to) - Date.parse(timeline.from)).toBe(3_600_000);
    expect(timeline.processes.map((p) => p.name)).toEqual(['api', 'idle']);
    const api = timeline.processes[0]!;
    expect(Object.keys(api)).toEqual(['name', 'segments', 'failures', 'median_recovery_ms', 'worst_recovery_ms', 'uptime_percent']);

    const runs = t.runs('api');
    const started = runs.starts.get('1.1')!.startedAt;
    const died = runs.exits.get('1.1')!.endedAt;
    const restarted = runs.starts.get('1.2')!.startedAt;
    expect(api.segments).toEqual([
      { from: timeline.from, to: new Date(started).toISOString(), state: 'none' },
      { from: new Date(started).toISOString(), to: new Date(died).toISOString(), state: 'running', run: '1.1' },
      // Zero-length where the runner restarted it within its clock's step: still there.
      { from: new Date(died).toISOString(), to: new Date(restarted).toISOString(), state: 'down', failure: '1.1' },
      { from: new Date(restarted).toISOString(), to: timeline.to, state: 'running', run: '1.2' },
    ]);
    // The runner's exit time is our kill, on its 10 ms clock (a step either side, and its wake-up).
    expect(died).toBeGreaterThanOrEqual(before - 20);
    expect(died).toBeLessThanOrEqual(after + 50);
    expect(restarted - died).toBeLessThan(1000);

    expect(api.failures).toHaveLength(1);
    const f = api.failures[0]!;
    expect(Object.keys(f)).toEqual(['at', 'run', 'cause', 'action', 'detection_ms', 'recovery_ms', 'healthy_ms']);
    expect(f).toMatchObject({ run: '1.1', cause: 'killed by SIGKILL', action: 'restarted', healthy_ms: null });
    expect(f.recovery_ms).toBe(Math.max(0, (Number(runs.starts.get('1.2')!.identity.startTime) - runs.exits.get('1.1')!.endedUptimeCs!) * 10));
    expect(api.median_recovery_ms).toBe(f.recovery_ms);
    expect(api.worst_recovery_ms).toBe(f.recovery_ms);
    expect(api.uptime_percent).toBeGreaterThan(50);
    expect(api.uptime_percent).toBeLessThanOrEqual(100);
    // Never started: nothing known, no uptime.
    expect(timeline.processes[1]).toMatchObject({ name: 'idle', segments: [{ from: timeline.from, to: timeline.to, state: 'none' }], failures: [], uptime_percent: null });

    // The same failure as `history --json` gives (history's rows, without the process: it is the row's).
    const history = JSON.parse((await t.cli(['history', 'api', '--since', '1h', '--json'])).stdout);
    const { process: _p, ...row } = history.failures[0];
    expect(f).toEqual(row);
  });

  it('defaults to 24 h, refuses any other window with 400, and answers nothing without the token', async () => {
    const t = tmpRegistry({ api: { command: 'exec sleep 1000' } });
    const d = await startDashboard(t);
    const day = (await (await d.api('/api/timeline')).json()) as TimelineJson;
    expect(day.window).toBe('24h');
    expect(Date.parse(day.to) - Date.parse(day.from)).toBe(86_400_000);
    const week = (await (await d.api('/api/timeline?window=7d')).json()) as TimelineJson;
    expect(Date.parse(week.to) - Date.parse(week.from)).toBe(7 * 86_400_000);
    for (const bad of ['2h', '', '1H', 'constructor']) {
      const res = await d.api(`/api/timeline?window=${bad}`);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ error: 'window: expected 1h, 24h or 7d' });
    }
    const anon = await d.api('/api/timeline', { auth: false });
    expect(anon.status).toBe(401);
    expect(await anon.text()).not.toContain('api');
  });
});
