// `pguard export k8s`: a Deployment per service (duration_min 0) or a Job per timed process, with
// its probes, memory limit, env, dependencies (init containers that wait) and a Service per port
// it is probed on. Pure: the definitions in, the documents (plain objects) and the notes out.
import type { ProbeDef } from './probes.js';
import type { ProcessDef } from './schema.js';
import { dnsLabel, PROBE_URL_VAR, probeUrlIsSecret, whole, type Note } from './export-common.js';
import { refuseNul } from './export-systemd.js';
import { scheduleOf } from './on-schedule.js';
import type { Schedule } from './schedule.js';

/**
 * A schedule as a CronJob's 5-field `schedule`, or why it cannot be one: a seconds field, or an
 * interval that is not a whole number of minutes dividing the hour (or hours dividing the day).
 */
function cronJobSchedule(s: Schedule): { schedule: string } | { why: string } {
  if (s.kind === 'cron') return s.crontab !== null ? { schedule: s.crontab } : { why: 'a CronJob has no seconds field' };
  const min = s.everyMs / 60_000;
  if (Number.isInteger(min) && min >= 1 && min < 60 && 60 % min === 0) return { schedule: min === 1 ? '* * * * *' : `*/${min} * * * *` };
  const h = min / 60;
  if (Number.isInteger(h) && h >= 1 && h <= 24 && 24 % h === 0) return { schedule: h === 24 ? '0 0 * * *' : h === 1 ? '0 * * * *' : `0 */${h} * * *` };
  return { why: `"${s.text}" is not a whole number of minutes dividing an hour (or hours dividing a day), which a cron schedule needs` };
}

/** Kubernetes expands $(VAR) in command, args, env values and exec probes, and reads $$ as $: every $ doubled. */
const k8sString = (s: string) => s.replace(/\$/g, '$$$$');

export interface K8sOptions {
  readonly image: string;
  readonly namespace: string | undefined;
  readonly redactEnv: boolean;
}

type Doc = Record<string, unknown>;

const HEARTBEAT_FILE = '/tmp/pguard-heartbeat';
const LOCAL = new Set(['127.0.0.1', 'localhost', '::1', '0.0.0.0']);

/** The port a probe reaches, if it is this process's own (a local address). */
function probePort(p: ProbeDef): number | null {
  if (p.type === 'tcp') return LOCAL.has(p.host) ? p.port : null;
  if (p.type === 'http') {
    try {
      const u = new URL(p.url);
      if (!LOCAL.has(u.hostname.replace(/^\[|\]$/g, ''))) return null;
      return Number(u.port || (u.protocol === 'https:' ? 443 : 80));
    } catch { return null; }
  }
  return null;
}

function probeAction(p: ProbeDef, urlFromEnv = false): Doc {
  switch (p.type) {
    case 'http': {
      // A URL with a secret in it (a password, a token): read from the container's environment (a Secret).
      if (urlFromEnv) return { exec: { command: ['/bin/sh', '-c', k8sString(`curl -fsS "$${PROBE_URL_VAR}" >/dev/null || wget -q -O /dev/null "$${PROBE_URL_VAR}"`)] } };
      const u = new URL(p.url);
      return { httpGet: { path: `${u.pathname}${u.search}` || '/', port: probePort(p) ?? Number(u.port || 80), scheme: u.protocol === 'https:' ? 'HTTPS' : 'HTTP' } };
    }
    case 'tcp': return { tcpSocket: { port: p.port } };
    case 'exec': return { exec: { command: ['/bin/sh', '-c', k8sString(p.command)] } };
    // The file's age, as pguard's heartbeat probe judges it (a process that never beat fails).
    case 'heartbeat': return { exec: { command: ['/bin/sh', '-c', k8sString(`test -f ${HEARTBEAT_FILE} && test $(( $(date +%s) - $(stat -c %Y ${HEARTBEAT_FILE}) )) -lt ${whole(p.maxAgeS)}`)] } };
  }
}

export function exportK8s(defs: readonly ProcessDef[], opts: K8sOptions): { docs: Doc[]; notes: Note[] } {
  const notes: Note[] = [];
  const note = (def: ProcessDef, field: string, message: string) => notes.push({ process: def.name, field, message });
  const byName = new Map(defs.map((d) => [d.name, d]));
  const meta = (name: string) => ({ name, ...(opts.namespace ? { namespace: opts.namespace } : {}), labels: { 'app.kubernetes.io/name': name, 'app.kubernetes.io/managed-by': 'pguard-export' } });
  const docs: Doc[] = [];
  for (const def of defs) {
    const name = dnsLabel(def.name);
    if (name !== def.name) note(def, '', `named ${name} in Kubernetes (names there are lowercase letters, digits and -)`);
    // NUL cannot be in a command, a path or an environment value; every other character YAML escapes.
    refuseNul(def.name, 'command', def.command);
    if (def.cwd) refuseNul(def.name, 'cwd', def.cwd);
    for (const p of def.health) if (p.type === 'exec') refuseNul(def.name, 'health', p.command);
    const env: Doc[] = Object.entries(def.env).map(([k, v]) => {
      if (opts.redactEnv) return { name: k, valueFrom: { secretKeyRef: { name: `${name}-env`, key: k } } };
      refuseNul(def.name, `env.${k}`, v);
      return { name: k, value: k8sString(v) };
    });
    if (def.health.some((p) => p.type === 'heartbeat')) env.push({ name: 'PGUARD_HEARTBEAT_FILE', value: HEARTBEAT_FILE });
    const container: Doc = { name, image: opts.image, command: ['/bin/sh', '-c', k8sString(def.command)] };
    if (def.cwd) container.workingDir = def.cwd;
    if (env.length > 0) container.env = env;
    if (def.envFile) {
      // Never the file's contents: the user creates the Secret (kubectl create secret generic NAME-env-file --from-env-file=FILE).
      container.envFrom = [{ secretRef: { name: `${name}-env-file` } }];
      note(def, 'env_file', `read from the Secret ${name}-env-file, which you create: kubectl create secret generic ${name}-env-file --from-env-file=${def.envFile}`);
    }
    if (opts.redactEnv && Object.keys(def.env).length > 0) note(def, 'env', `values redacted: create the Secret ${name}-env with the keys ${Object.keys(def.env).join(', ')}`);
    // Kubernetes takes ids, not names (the image's /etc/passwd is not the registry's machine's).
    const numeric = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined);
    const runAsUser = numeric(def.user);
    const runAsGroup = runAsUser !== undefined ? numeric(def.group) : undefined;
    if (runAsUser !== undefined) container.securityContext = { runAsUser, ...(runAsGroup !== undefined ? { runAsGroup } : {}) };
    if (def.user !== undefined && runAsUser === undefined) note(def, 'user', `securityContext.runAsUser takes a numeric uid and ${def.user} is a name: not exported; set it to that user's uid in the image`);
    if (def.group !== undefined && runAsUser !== undefined && runAsGroup === undefined) note(def, 'group', `securityContext.runAsGroup takes a numeric gid and ${def.group} is a name: not exported; set it to that group's gid in the image`);
    if (def.maxMemoryMb !== undefined) container.resources = { limits: { memory: `${Math.round(def.maxMemoryMb)}Mi` } };
    const ports = [...new Set(def.health.map(probePort).filter((p): p is number => p !== null))];
    if (ports.length > 0) container.ports = ports.map((p) => ({ containerPort: p }));
    const [first, ...more] = def.health;
    const urlSecret = probeUrlIsSecret(def, opts.redactEnv);
    if (urlSecret) {
      container.env = [...(container.env as Doc[] | undefined ?? []), { name: PROBE_URL_VAR, valueFrom: { secretKeyRef: { name: `${name}-env`, key: PROBE_URL_VAR } } }];
      note(def, 'health', `the probe's URL holds a secret: not exported; put it in the Secret ${name}-env as ${PROBE_URL_VAR} (or export with --env-values)`);
    }
    if (first) {
      container.livenessProbe = { ...probeAction(first, urlSecret), periodSeconds: whole(first.intervalS), timeoutSeconds: whole(first.timeoutS), failureThreshold: first.failureThreshold };
      // pguard's grace: failures do not count for this long after a start.
      if (first.graceS > 0) container.startupProbe = { ...probeAction(first, urlSecret), periodSeconds: 1, timeoutSeconds: whole(first.timeoutS), failureThreshold: Math.max(1, whole(first.graceS)) };
      container.readinessProbe = { ...probeAction(first, urlSecret), periodSeconds: whole(first.intervalS), timeoutSeconds: whole(first.timeoutS) };
    }
    if (more.length > 0) note(def, 'health', `a container has one liveness probe: only the first (${first!.type}) is exported, not ${more.map((p) => p.type).join(', ')}`);
    // Dependencies: an init container per dependency that waits for its Service's port.
    const init: Doc[] = [];
    for (const dep of def.dependsOn) {
      const d = byName.get(dep);
      const port = d?.health.map(probePort).find((p) => p !== null);
      if (!d || port === undefined || port === null) {
        note(def, 'depends_on', `cannot wait for ${dep} in Kubernetes: it has no http or tcp probe on a port of its own (add one, and a Service comes with it)`);
        continue;
      }
      init.push({ name: `wait-for-${dnsLabel(dep)}`, image: 'busybox:1.36', command: ['/bin/sh', '-c', `until nc -z ${dnsLabel(dep)} ${port}; do sleep 1; done`] });
    }
    if (def.stopSignal !== 'SIGTERM') note(def, 'stop_signal', `Kubernetes stops a container with SIGTERM, not ${def.stopSignal} (unless the image sets STOPSIGNAL)`);
    if (def.maxCpuPercent !== undefined) note(def, 'max_cpu_percent', 'a CPU limit throttles, it does not restart: not exported');
    if (def.restartCooldownS !== 30 || def.backoff !== 'fixed') note(def, 'restart_cooldown', 'Kubernetes spaces restarts itself (10 s doubling up to 5 min)');
    const sched = scheduleOf(def);
    const job = sched?.field === 'schedule' ? sched.schedule : null;
    const pod: Doc = {
      metadata: { labels: { 'app.kubernetes.io/name': name } },
      spec: {
        ...(init.length > 0 ? { initContainers: init } : {}),
        containers: [container],
        terminationGracePeriodSeconds: whole(def.killTimeoutS),
        // A job's failed run is not retried: its next time runs it.
        ...(job ? { restartPolicy: 'Never' } : def.durationMin > 0 ? { restartPolicy: def.autoRestart ? 'OnFailure' : 'Never' } : {}),
      },
    };
    if (sched?.field === 'restart_schedule') note(def, 'restart_schedule', `Kubernetes has no scheduled restart: a CronJob running \`kubectl rollout restart deployment/${name}\` ("${sched.schedule.text}") would do it, with a ServiceAccount allowed to`);
    if (job) {
      const cron = cronJobSchedule(job);
      if ('why' in cron) {
        note(def, 'schedule', `${cron.why}: not exported`);
        continue;
      }
      note(def, 'schedule', 'a CronJob runs in the controller\'s time zone (often UTC), pguard in the machine\'s local time: set spec.timeZone to yours; concurrencyPolicy Forbid skips a run while the last one runs (without pguard\'s alert)');
      if (def.durationMin > 0) note(def, 'duration_min', 'a CronJob has no overrun alert (activeDeadlineSeconds would end the run): not exported');
      docs.push({
        apiVersion: 'batch/v1', kind: 'CronJob', metadata: meta(name),
        spec: {
          schedule: cron.schedule, concurrencyPolicy: 'Forbid',
          jobTemplate: { spec: { backoffLimit: 0, template: pod } },
        },
      });
    } else if (def.durationMin > 0) {
      note(def, 'duration_min', 'Kubernetes has no notion of a premature exit 0: a Job that exits 0 early is complete');
      docs.push({
        apiVersion: 'batch/v1', kind: 'Job', metadata: meta(name),
        spec: { backoffLimit: def.autoRestart ? def.maxRestarts : 0, activeDeadlineSeconds: Math.ceil(def.durationMin * 60 * 1.5), template: pod },
      });
    } else {
      if (!def.autoRestart) note(def, 'auto_restart', 'a Deployment always restarts its container; auto_restart false has no equivalent');
      if (def.successExitCodes.length > 0) note(def, 'success_exit_codes', `a Deployment restarts a container whatever its exit code: exit ${def.successExitCodes.join(', ')} (done, for pguard) is restarted`);
      note(def, 'max_restarts', 'a Deployment restarts without a budget (CrashLoopBackOff), it never gives up');
      docs.push({
        apiVersion: 'apps/v1', kind: 'Deployment', metadata: meta(name),
        spec: { replicas: 1, selector: { matchLabels: { 'app.kubernetes.io/name': name } }, template: pod },
      });
    }
    if (ports.length > 0) {
      docs.push({
        apiVersion: 'v1', kind: 'Service', metadata: meta(name),
        spec: { selector: { 'app.kubernetes.io/name': name }, ports: ports.map((p) => ({ name: `port-${p}`, port: p, targetPort: p })) },
      });
    }
  }
  return { docs, notes };
}
