// Exporting schedules: systemd timers beside Type=oneshot services (systemd-analyze verify, and
// each OnCalendar= read back by `systemd-analyze calendar` to the very times pguard computes), a
// Kubernetes CronJob with concurrencyPolicy Forbid (the API schema, kubernetes-models), and the
// notes for what a target cannot express (restart_schedule, intervals a cron cannot say, compose).
import { execa } from 'execa';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CronJob } from 'kubernetes-models/batch/v1/CronJob';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { nextFireAfter, parseSchedule, toSystemdCalendars, type Schedule } from '../../src/core/schedule.js';
import { tmpRegistry } from '../helpers/tmp-registry.js';

const hasAnalyze = (await execa('sh', ['-c', 'command -v systemd-analyze'], { reject: false })).exitCode === 0;
const lines = (stderr: string) => stderr.split('\n').filter(Boolean);

const entries = {
  scraper: { command: 'true', schedule: '*/15 9-17 * * mon-fri', duration_min: 10 },
  fri13: { command: 'true', schedule: '0 0 13 * 5' },
  pulse: { command: 'true', schedule: 'every 30m' },
  odd: { command: 'true', schedule: 'every 45s' },
  srv: { command: 'true', restart_schedule: '0 4 * * *' },
};

describe('exporting schedules', () => {
  it.skipIf(!hasAnalyze)('systemd: a timer beside a Type=oneshot service per job, passing systemd-analyze verify; restart_schedule a note', async () => {
    const t = tmpRegistry(entries);
    const out = join(t.dir, 'units');
    const res = await t.cli(['export', 'systemd', '--out', out]);
    expect(res.code).toBe(0);
    expect(readdirSync(out).filter((f) => f.endsWith('.timer')).sort()).toEqual(['pguard-fri13.timer', 'pguard-odd.timer', 'pguard-pulse.timer', 'pguard-scraper.timer']);
    const verify = await execa('systemd-analyze', ['verify', ...readdirSync(out).map((f) => join(out, f))], { reject: false, cwd: t.dir });
    expect(verify.stderr).toBe('');
    expect(verify.exitCode).toBe(0);
    const read = (f: string) => readFileSync(join(out, f), 'utf8');
    expect(read('pguard-scraper.service')).toContain('Type=oneshot\n');
    expect(read('pguard-scraper.service')).toContain('Restart=no\n');
    expect(read('pguard-scraper.service')).not.toContain('[Install]');
    expect(read('pguard-fri13.timer')).toContain('OnCalendar=*-*-13 00:00:00\nOnCalendar=Fri *-*-* 00:00:00\nPersistent=true\n');
    expect(read('pguard-pulse.timer')).toContain('OnActiveSec=1800s\nOnUnitActiveSec=1800s\n');
    expect(read('pguard.target')).toMatch(/^Wants=pguard-scraper\.timer pguard-fri13\.timer pguard-pulse\.timer pguard-odd\.timer pguard-srv\.service$/m);
    expect(lines(res.stderr)).toContain('pguard export: srv.restart_schedule: systemd has no scheduled restart: add a timer whose service runs `systemctl restart pguard-srv.service` (OnCalendar= for "0 4 * * *")');
  });

  it.skipIf(!hasAnalyze)('systemd: each OnCalendar= elapses at the very times pguard fires (systemd-analyze calendar, UTC)', async () => {
    const savedTz = process.env.TZ;
    // pguard's next times from the process's zone; systemd's from TZ=UTC: both in UTC here.
    process.env.TZ = 'UTC';
    try {
      for (const text of ['*/15 9-17 * * mon-fri', '0 0 13 * 5', '30 2 1 jan,jul *', '*/10 * * * * *', '0 0 29 2 *', '5 4 * * sun']) {
        const s = (parseSchedule(text) as { schedule: Schedule }).schedule;
        const before = Date.now();
        const theirs = new Set<number>();
        for (const cal of toSystemdCalendars(s)!) {
          const r = await execa('systemd-analyze', ['calendar', '--iterations=5', cal], { env: { TZ: 'UTC' }, reject: false });
          expect(r.exitCode, r.stderr).toBe(0);
          for (const m of r.stdout.matchAll(/(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC/g)) theirs.add(Date.parse(`${m[1]!.replace(' ', 'T')}Z`));
        }
        const times = [...theirs].sort((a, b) => a - b).slice(0, 5);
        // From just before systemd's first time (systemd-analyze reads its own clock: a 10 s
        // schedule can pass a boundary between the two reads), pguard must name the same five.
        const ours: number[] = [];
        for (let t = times[0]! - 1, i = 0; i < 5; i++) ours.push(t = nextFireAfter(s, t, 0)!);
        expect(times, text).toEqual(ours);
        // And systemd's first is pguard's next from before the call (or, across a boundary, the one after).
        const next = nextFireAfter(s, before, 0)!;
        expect([next, nextFireAfter(s, next, 0)], text).toContain(times[0]);
      }
    } finally {
      process.env.TZ = savedTz;
    }
  });

  it('k8s: a CronJob with concurrencyPolicy Forbid per job (API schema); what a cron cannot say, noted', async () => {
    const t = tmpRegistry(entries);
    const res = await t.cli(['export', 'k8s', '--image', 'python:3.12']);
    expect(res.code).toBe(0);
    const docs = parseAllDocuments(res.stdout).map((d) => d.toJS() as Record<string, any>);
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual(['CronJob/scraper', 'CronJob/fri13', 'CronJob/pulse', 'Deployment/srv']);
    for (const doc of docs) {
      const Model = doc.kind === 'CronJob' ? CronJob : Deployment;
      expect(() => new Model(doc as never).validate()).not.toThrow();
    }
    expect(docs[0]!.spec).toMatchObject({ schedule: '*/15 9-17 * * mon-fri', concurrencyPolicy: 'Forbid', jobTemplate: { spec: { backoffLimit: 0, template: { spec: { restartPolicy: 'Never' } } } } });
    expect(docs[2]!.spec.schedule).toBe('*/30 * * * *');
    expect(lines(res.stderr)).toEqual(expect.arrayContaining([
      'pguard export: odd.schedule: "every 45s" is not a whole number of minutes dividing an hour (or hours dividing a day), which a cron schedule needs: not exported',
      'pguard export: srv.restart_schedule: Kubernetes has no scheduled restart: a CronJob running `kubectl rollout restart deployment/srv` ("0 4 * * *") would do it, with a ServiceAccount allowed to',
    ]));
  });

  it('compose: no scheduling, said; a job runs once (restart "no")', async () => {
    const t = tmpRegistry(entries);
    const res = await t.cli(['export', 'compose', '--image', 'debian:12']);
    expect(res.code).toBe(0);
    const doc = parse(res.stdout) as { services: Record<string, Record<string, unknown>> };
    expect(doc.services.scraper!.restart).toBe('no');
    expect(lines(res.stderr)).toContain('pguard export: scraper.schedule: Compose has no scheduling: exported as a service that runs once at `up` (restart "no"); run it on "*/15 9-17 * * mon-fri" from the host\'s cron (docker compose run --rm scraper) or a scheduler container');
  });
});
