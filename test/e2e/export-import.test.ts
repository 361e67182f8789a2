// export and import as a user runs them, each output checked by the target's own validator:
// systemd-analyze verify (with the programs the units run present), the Kubernetes API schema
// (kubernetes-models), the compose-spec JSON Schema (ajv). Secrets never in the output.
import { execa } from 'execa';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { Service } from 'kubernetes-models/v1/Service';
import { FIXTURES, runCli } from '../helpers/run-cli.js';
import { tmpRegistry, type TmpRegistry } from '../helpers/tmp-registry.js';
import { composeValidator } from '../helpers/validators.js';

const hasAnalyze = (await execa('sh', ['-c', 'command -v systemd-analyze'], { reject: false })).exitCode === 0;
const IMPORTS = join(FIXTURES, 'import');
/** A fixture copied into the registry's folder, as a user imports a file of the project they are in. */
function here(t: TmpRegistry, name: string): string {
  const file = join(t.dir, name);
  copyFileSync(join(IMPORTS, name), file);
  return file;
}
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
    const validate = composeValidator();
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
  // PM2's own defaults (lib/API/schema.json, lib/God.js), written into each entry that does not set them.
  const PM2 = { max_restarts: 16, min_uptime: 1, restart_cooldown: 0, kill_timeout: 1.6 };
  it('pm2: an ecosystem.config.js read without running it, every mapping and every line it could not take over', async () => {
    const t = tmpRegistry({});
    const res = await t.cli(['import', 'pm2', here(t, 'ecosystem.config.js')]);
    expect(res.code).toBe(0);
    expect(JSON.parse(readFileSync(t.registry, 'utf8'))).toEqual({
      api: { command: 'node ./server.js --port 8080', cwd: '/srv/api', env: { NODE_ENV: 'development', API_TOKEN: 'tok-123' }, max_restarts: 10, min_uptime: 10, backoff: 'exponential', restart_cooldown: 0.1, max_memory_mb: 300, kill_timeout: 3 },
      // PM2 sets PYTHONUNBUFFERED=1 for a python interpreter.
      // autorestart false: an exit 0 is the app stopped, not errored, as PM2 shows it.
      worker: { ...PM2, command: 'python3 worker.py', env: { PYTHONUNBUFFERED: '1' }, auto_restart: false, success_exit_codes: [0], restart_cooldown: 5 },
    });
    expect(res.stdout).not.toContain('tok-123'); // env shown by its keys
    expect(lines(res.stderr)).toEqual([
      "pguard import: api.env_production: PM2's per-environment block is not imported (pguard has one env; --env production chose it in PM2)",
      'pguard import: api.exp_backoff_restart_delay: PM2 waits 0.1 s, then 1.5 x longer each time up to 15 s; pguard doubles it up to 1.6 s (16 x)',
      'pguard import: api.instances: 2: pguard runs one instance of each process: register one per instance (and ports) by hand',
      "pguard import: api.exec_mode: PM2's cluster mode (one port shared by workers) has no equivalent: the app runs once, in fork mode",
      'pguard import: worker.out_file: pguard keeps one log per process in its state directory (`pguard logs`), without timestamps',
      `pguard: warning: ${t.registry} now holds env values: written private (mode 600, was 644).`,
    ]);
    // The same file again: unchanged, not a clash. A changed one: refused until --replace.
    const again = await t.cli(['import', 'pm2', here(t, 'ecosystem.config.js')]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^unchanged api: /m);
    const file = here(t, 'ecosystem.config.js');
    writeFileSync(file, readFileSync(file, 'utf8').replace("'python3 worker.py'", "'python3 worker2.py'").replace('worker.py', 'worker2.py'));
    expect(await t.cli(['import', 'pm2', file])).toMatchObject({ code: 1, stderr: `pguard: already in the registry, different: worker. Pass --replace to overwrite them, or rename them in ${file} (--dry-run shows the plan).` });
    const plan = await t.cli(['import', 'pm2', file, '--dry-run']);
    expect(plan.stdout).toMatch(/^unchanged api: /m);
    expect(plan.stdout).toMatch(/^would not replace worker: "python3 worker2.py" .*\[already in the registry, different: needs --replace\]$/m);
    const replaced = await t.cli(['import', 'pm2', file, '--replace']);
    expect(replaced.code).toBe(0);
    expect(replaced.stdout).toContain('(a running instance keeps its old definition until `pguard restart worker`)');
  });

  it('pm2: a YAML process file (process.yml, as PM2 takes) is read as one; three real ones (test/fixtures/real/pm2, ORIGINS.json)', async () => {
    const real = new URL('../fixtures/real/pm2/', import.meta.url).pathname;
    const cases: [string, Record<string, unknown>][] = [
      ['BrockReece__heatmap-collector__process.yml', { 'heatmap-collector': { ...PM2, command: 'node index.js' } }],
      ['68publishers__crawler__.docker__pm2__process.all.yml', { app: { ...PM2, command: 'node ./src/app.mjs' }, worker: { ...PM2, command: 'node ./src/worker.mjs' }, scheduler: { ...PM2, command: 'node ./src/scheduler.mjs' } }],
      ['10ABeautySpot__auto-rabbit-mq-notify__process.yml', { 'mq-notify': { ...PM2, command: 'node /opt/app/src/app.js', env: { NODE_ENV: 'development' } } }],
    ];
    for (const [file, want] of cases) {
      const t = tmpRegistry({});
      copyFileSync(join(real, file), join(t.dir, file));
      const res = await t.cli(['import', 'pm2', join(t.dir, file)]);
      expect(res.code, res.stderr).toBe(0);
      expect(JSON.parse(readFileSync(t.registry, 'utf8'))).toEqual(want);
    }
  });

  it('pm2: a file that is code is refused until --allow-eval, which runs it and says so; JSON and `pm2 jlist` output are read as data', async () => {
    const t = tmpRegistry({});
    const code = here(t, 'ecosystem.env.config.js');
    expect(await t.cli(['import', 'pm2', code])).toMatchObject({
      code: 2, stderr: `pguard: ${code}: cannot be read without running it (\`String(port)\` (line 3, column 56) is code, not a literal). Pass --allow-eval to run it with Node (it can do anything the file's code does), or save \`pm2 jlist\` output and import that.`,
    });
    const evaluated = await t.cli(['import', 'pm2', code, '--allow-eval'], { env: { PORT: '4000' } });
    // The registry (0644, empty) gets its first env values: written private, and said.
    expect(lines(evaluated.stderr)).toEqual([`pguard import: ran ${code} with Node to read it (--allow-eval)`, `pguard: warning: ${t.registry} now holds env values: written private (mode 600, was 644).`]);
    expect(JSON.parse(readFileSync(t.registry, 'utf8')).web).toEqual({ ...PM2, command: 'node web.js', env: { PORT: '4000' } });
    await t.cli(['import', 'pm2', here(t, 'ecosystem.json')]);
    const jl = await t.cli(['import', 'pm2', here(t, 'pm2-jlist.json')]);
    expect(lines(jl.stderr)).toEqual(["pguard import: scraper.env: pm2 jlist shows the daemon's whole environment: not imported; set the variables this app needs with register --env"]);
    const reg = JSON.parse(readFileSync(t.registry, 'utf8'));
    expect(reg.bot).toEqual({ ...PM2, command: 'node --max-old-space-size=256 bot.js', max_memory_mb: 1024, restart_schedule: '0 3 * * *' });
    expect(reg.scraper).toEqual({ ...PM2, command: 'node /home/me/scraper/scrape.js --interval 60', cwd: '/home/me/scraper', restart_cooldown: 2, max_memory_mb: 200 });
  });

  it('process-compose and supervisord: mapped entries and every line they could not take over; --dry-run writes nothing', async () => {
    const t = tmpRegistry({});
    const before = readFileSync(t.registry, 'utf8');
    const dry = await t.cli(['import', 'process-compose', here(t, 'process-compose.yaml'), '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout.split('\n').at(-1)).toBe(`dry run: nothing written to ${t.registry}`);
    expect(readFileSync(t.registry, 'utf8')).toBe(before);
    const pc = await t.cli(['import', 'process-compose', here(t, 'process-compose.yaml')]);
    expect(pc.stdout).not.toContain('hunter2');
    expect(lines(pc.stderr)).toEqual([
      'pguard import: db.readiness_probe: pguard has one list of probes: a failing readiness probe restarts the process here, where process-compose only marks it not ready',
      'pguard import: api.depends_on: "migrate" with process_completed_successfully: pguard starts a process once its dependency is ready, not once it has completed; not imported',
      'pguard import: api.availability.max_restarts: unlimited in process-compose: pguard gives up after max_restarts (5 here) unstable restarts (runs shorter than min_uptime), and retries a failed process 1, 2, 4 ... min later',
      'pguard import: api.log_location: pguard keeps one log per process in its state directory',
      `pguard: warning: ${t.registry} now holds env values: written private (mode 600, was 644).`,
    ]);
    const sv = await t.cli(['import', 'supervisord', here(t, 'supervisord.conf')]);
    expect(sv.code).toBe(0);
    const reg = JSON.parse(readFileSync(t.registry, 'utf8'));
    expect(Object.keys(reg)).toEqual(['db', 'migrate', 'api', 'web', 'worker']); // supervisord's priority 10 before 20
    expect(reg.db).toEqual({ command: 'postgres -D ./data', cwd: '/srv/db', env: { PGPORT: '5432', PGPASSWORD: 'hunter2' }, restart_cooldown: 2, max_restarts: 3, health: [{ type: 'exec', command: 'pg_isready -p 5432', interval: 10, timeout: 3, failure_threshold: 5, grace: 5 }], stop_signal: 'SIGINT', kill_timeout: 20 });
    // availability on_failure: exit 0 is done (process-compose's success_exit_codes, [0] unless set).
    expect(reg.api).toEqual({ command: 'uvicorn app:main --port 8000', depends_on: ['db'], success_exit_codes: [0], restart_cooldown: 1, health: [{ type: 'http', url: 'http://127.0.0.1:8000/health', interval: 5 }] });
    // No availability: never restarted by process-compose.
    expect(reg.migrate).toEqual({ command: './migrate.sh', depends_on: ['db'], auto_restart: false, success_exit_codes: [0] });
    expect(reg.worker).toEqual({ command: '/usr/bin/python3 worker.py --queue worker', cwd: '/srv/worker', env: { QUEUE_URL: 'amqp://guest:guest@localhost//', WORKERS: '4' }, autostart: true, min_uptime: 5, max_restarts: 4, restart_cooldown: 1, stop_signal: 'SIGINT', kill_timeout: 15 });
    // supervisord's defaults: autorestart=unexpected with exitcodes=0, startsecs 1, startretries 3, stopwaitsecs 10.
    expect(reg.web).toEqual({ command: '/usr/bin/node web.js', success_exit_codes: [0], autostart: true, min_uptime: 1, max_restarts: 3, restart_cooldown: 1, kill_timeout: 10 });
    expect(lines(sv.stderr)).toEqual([
      'pguard import: [supervisord]: configure supervisord itself (its socket, log, pid file, user): nothing to import',
      'pguard import: worker.priority: kept as the order of the registry (start order among processes with no depends_on between them); add depends_on where one needs another',
      'pguard import: web.stdout_logfile: pguard keeps one log per process (stdout and stderr) in its state directory: `pguard logs`',
      'pguard import: web.priority: kept as the order of the registry (start order among processes with no depends_on between them); add depends_on where one needs another',
    ]);
  });

  it('round trip: what both sides express survives import then export', async () => {
    const t = tmpRegistry({});
    await t.cli(['import', 'supervisord', here(t, 'supervisord.conf')]);
    const unit = (await t.cli(['export', 'systemd', 'worker', '--env-values'])).stdout;
    for (const line of ['ExecStart=/usr/bin/python3 worker.py --queue worker', 'WorkingDirectory=/srv/worker', 'Environment=QUEUE_URL=amqp://guest:guest@localhost//', 'Environment=WORKERS=4', 'KillSignal=SIGINT', 'TimeoutStopSec=15', 'Restart=on-failure', 'StartLimitBurst=5']) {
      expect(unit).toContain(line);
    }
    const u = tmpRegistry({});
    await u.cli(['import', 'pm2', here(u, 'ecosystem.config.js')]);
    const compose = parse((await u.cli(['export', 'compose', 'api', '--env-values'])).stdout) as { services: Record<string, Record<string, unknown>> };
    expect(compose.services.api).toMatchObject({ command: ['/bin/sh', '-c', 'node ./server.js --port 8080'], working_dir: '/srv/api', environment: { NODE_ENV: 'development', API_TOKEN: 'tok-123' }, restart: 'on-failure:10', mem_limit: '300m', stop_grace_period: '3s' });
    const v = tmpRegistry({});
    await v.cli(['import', 'process-compose', here(v, 'process-compose.yaml')]);
    const k8s = parseAllDocuments((await v.cli(['export', 'k8s', 'db', '--image', 'postgres:15'])).stdout).map((d) => d.toJS());
    expect(k8s[0].spec.template.spec.containers[0]).toMatchObject({ livenessProbe: { exec: { command: ['/bin/sh', '-c', 'pg_isready -p 5432'] }, periodSeconds: 10, timeoutSeconds: 3, failureThreshold: 5 }, startupProbe: { failureThreshold: 5 } });
  });

  // What a new user met (issue 24's trial): each was so before.
  it('as a newcomer tries it: a failed import leaves no registry, a file from another folder runs from its folder, PM2 JSON with comments', async () => {
    const t = tmpRegistry({});
    // Folders with no registry above them (t.dir has one, which discovery would find).
    const top = mkdtempSync(join(tmpdir(), 'pguard-newcomer-'));
    onTestFinished(() => rmSync(top, { recursive: true, force: true }));
    const project = join(top, 'project');
    const elsewhere = join(top, 'elsewhere');
    mkdirSync(project);
    mkdirSync(elsewhere);
    const env = { PGUARD_REGISTRY: '' };
    // A typo in the file name, or a file that is no ecosystem: one line, and no registry made.
    for (const args of [['import', 'pm2', 'nope.js'], ['import', 'supervisord', join(IMPORTS, 'ecosystem.json')]]) {
      const res = await runCli(args, { cwd: elsewhere, env: { ...t.env, ...env } });
      expect(res.code, res.stderr).toBe(2);
      expect(res.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      expect(existsSync(join(elsewhere, '.process-registry.json'))).toBe(false);
    }
    expect((await runCli(['import', 'pm2', 'nope.js'], { cwd: elsewhere, env: { ...t.env, ...env } })).stderr.trim()).toBe('pguard: nope.js: cannot read it (no such file).');
    // A format misspelt is named, with the one meant.
    expect((await runCli(['import', 'supervisor', 'x.conf'], { cwd: elsewhere, env: { ...t.env, ...env } })).stderr.trim())
      .toBe('pguard: import: format "supervisor" is not one of pm2, process-compose, supervisord. Did you mean supervisord? See `pguard import --help`.');
    // PM2 evaluates a .json process file as JavaScript: comments and trailing commas are fine.
    writeFileSync(join(project, 'ecosystem.json'), '{\n  // production apps\n  "apps": [{ "name": "web", "script": "server.js", "args": 300, },],\n}\n');
    const res = await runCli(['import', 'pm2', '../project/ecosystem.json'], { cwd: elsewhere, env: { ...t.env, ...env } });
    expect(res.code, res.stderr).toBe(0);
    // Relative paths meant the file's folder (where PM2 is run from): the entry runs there.
    expect(JSON.parse(readFileSync(join(elsewhere, '.process-registry.json'), 'utf8')).web).toMatchObject({ command: 'node server.js 300', cwd: '../project' });
    expect(res.stderr).toContain('pguard import: (file).cwd: web: run from the folder of ../project/ecosystem.json (../project from the registry\'s)');
  });
});
