// `pguard export compose`: one service per process in a compose.yaml (as an object; the caller
// writes it as YAML). Pure.
import type { ProbeDef } from './probes.js';
import type { ProcessDef } from './schema.js';
import { dnsLabel, PROBE_URL_VAR, probeUrlIsSecret, whole, type Note } from './export-common.js';
import { refuseNul } from './export-systemd.js';
import { shellQuote } from './crontab-plan.js';

/** Compose interpolates $VAR and ${VAR} in every string of the file from the host's environment: every $ doubled. */
const composeString = (s: string) => s.replace(/\$/g, '$$$$');

export interface ComposeOptions {
  readonly image: string | undefined;
  readonly redactEnv: boolean;
}

/**
 * A healthcheck's shell command (the probe's URL and host as shell words), as Compose reads it. A
 * URL with a secret in it is read from $PGUARD_PROBE_URL where values are redacted.
 */
function healthTest(p: ProbeDef, urlFromEnv: boolean): string[] {
  const cmd = (() => {
    switch (p.type) {
      case 'http': {
        const url = urlFromEnv ? `"$${PROBE_URL_VAR}"` : shellQuote(p.url);
        return `curl -fsS ${url} >/dev/null || wget -q -O /dev/null ${url}`;
      }
      case 'tcp': return `nc -z ${shellQuote(p.host)} ${p.port}`;
      case 'exec': return p.command;
      case 'heartbeat': return `test $(( $(date +%s) - $(stat -c %Y /tmp/pguard-heartbeat) )) -lt ${whole(p.maxAgeS)}`;
    }
  })();
  return ['CMD-SHELL', composeString(cmd)];
}

export function exportCompose(defs: readonly ProcessDef[], opts: ComposeOptions): { doc: Record<string, unknown>; notes: Note[] } {
  const notes: Note[] = [];
  const note = (def: ProcessDef, field: string, message: string) => notes.push({ process: def.name, field, message });
  const services: Record<string, unknown> = {};
  const byName = new Map(defs.map((d) => [d.name, d]));
  for (const def of defs) {
    const name = dnsLabel(def.name);
    if (name !== def.name) note(def, '', `named ${name} in Compose (service names are lowercase letters, digits and -)`);
    const s: Record<string, unknown> = {};
    // NUL cannot be in a command, a path or an environment value; every other character YAML escapes.
    refuseNul(def.name, 'command', def.command);
    if (def.cwd) refuseNul(def.name, 'cwd', def.cwd);
    if (def.envFile) refuseNul(def.name, 'env_file', def.envFile);
    for (const p of def.health) if (p.type === 'exec') refuseNul(def.name, 'health', p.command);
    if (opts.image) s.image = composeString(opts.image);
    s.command = ['/bin/sh', '-c', composeString(def.command)];
    if (def.cwd) s.working_dir = composeString(def.cwd);
    const keys = Object.keys(def.env);
    // --redact-env: `${KEY}` references (the one interpolation meant), filled from the shell or an .env file next to compose.yaml.
    if (!opts.redactEnv) for (const k of keys) refuseNul(def.name, `env.${k}`, def.env[k]!);
    if (keys.length > 0) s.environment = Object.fromEntries(keys.map((k) => [k, opts.redactEnv ? `\${${k}}` : composeString(def.env[k]!)]));
    if (keys.length > 0 && opts.redactEnv) note(def, 'env', `values not exported (they may be secrets): \${${keys[0]}}-style references, set them in the shell or an .env file beside compose.yaml (or export with --env-values)`);
    if (def.health.some((p) => p.type === 'heartbeat')) s.environment = { ...(s.environment as object ?? {}), PGUARD_HEARTBEAT_FILE: '/tmp/pguard-heartbeat' };
    if (def.envFile) s.env_file = [composeString(def.envFile)];
    // Compose's user: "user[:group]", names or ids, resolved in the container's image.
    if (def.user !== undefined) s.user = composeString(def.group !== undefined ? `${def.user}:${def.group}` : def.user);
    s.restart = def.autoRestart && def.schedule === undefined ? `on-failure:${def.maxRestarts}` : 'no';
    if (def.schedule !== undefined) note(def, 'schedule', `Compose has no scheduling: exported as a service that runs once at \`up\` (restart "no"); run it on "${def.schedule}" from the host's cron (docker compose run --rm ${name}) or a scheduler container`);
    if (def.restartSchedule !== undefined) note(def, 'restart_schedule', `Compose has no scheduled restart: run \`docker compose restart ${name}\` on "${def.restartSchedule}" from the host's cron`);
    if (def.successExitCodes.some((c) => c !== 0)) note(def, 'success_exit_codes', `Compose takes only exit 0 as success: exit ${def.successExitCodes.filter((c) => c !== 0).join(', ')} is restarted (on-failure)`);
    const [first, ...more] = def.health;
    // A probe URL with a password or a token in it is a secret, as env values are.
    const urlSecret = probeUrlIsSecret(def, opts.redactEnv);
    if (urlSecret) {
      const hostVar = `${PROBE_URL_VAR}_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
      s.environment = { ...(s.environment as object ?? {}), [PROBE_URL_VAR]: `\${${hostVar}}` };
      note(def, 'health', `the probe's URL holds a secret: not exported; set ${hostVar} to it in the shell or an .env file beside compose.yaml (or export with --env-values)`);
    }
    if (first) {
      s.healthcheck = { test: healthTest(first, urlSecret), interval: `${whole(first.intervalS)}s`, timeout: `${whole(first.timeoutS)}s`, retries: first.failureThreshold, start_period: `${whole(first.graceS)}s` };
      if (more.length > 0) note(def, 'health', `a service has one healthcheck: only the first (${first.type}) is exported`);
    }
    if (def.dependsOn.length > 0) {
      s.depends_on = Object.fromEntries(def.dependsOn.map((d) => [dnsLabel(d), { condition: (byName.get(d)?.health.length ?? 0) > 0 ? 'service_healthy' : 'service_started' }]));
    }
    if (def.maxMemoryMb !== undefined) s.mem_limit = `${Math.round(def.maxMemoryMb)}m`;
    s.stop_signal = def.stopSignal;
    s.stop_grace_period = `${whole(def.killTimeoutS)}s`;
    if (def.durationMin > 0) note(def, 'duration_min', 'Compose has no expected run time: an early exit 0 is not restarted, and an overrun is not noticed');
    if (def.restartCooldownS !== 30 || def.backoff !== 'fixed') note(def, 'restart_cooldown', 'Compose spaces restarts itself (from 100 ms, doubling)');
    if (def.maxCpuPercent !== undefined) note(def, 'max_cpu_percent', 'a CPU limit throttles, it does not restart: not exported');
    if (!opts.image) note(def, 'image', 'no --image given: set the image each service runs in (the command runs as written, in that image)');
    services[name] = s;
  }
  return { doc: { services }, notes };
}
