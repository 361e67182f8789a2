// Health probes as the user writes them (`health: [...]`), normalised with their defaults, and the
// pure bookkeeping of their results: probes only report {ok, detail}; decide() acts on them.

export type ProbeType = 'http' | 'tcp' | 'exec' | 'heartbeat';

interface ProbeCommon {
  readonly type: ProbeType;
  /** Seconds between two runs of the probe. */
  readonly intervalS: number;
  /** Seconds a run may take before it counts as failed. */
  readonly timeoutS: number;
  /** Consecutive failures before pguard acts. */
  readonly failureThreshold: number;
  /** Seconds after a start during which failures do not count. */
  readonly graceS: number;
}

export type ProbeDef =
  | (ProbeCommon & { readonly type: 'http'; readonly url: string; readonly expectStatus: number | null })
  | (ProbeCommon & { readonly type: 'tcp'; readonly host: string; readonly port: number })
  | (ProbeCommon & { readonly type: 'exec'; readonly command: string })
  | (ProbeCommon & { readonly type: 'heartbeat'; readonly maxAgeS: number });

/** Defaults of every probe (documented in the README and the JSON Schema). */
export const PROBE_DEFAULTS = { intervalS: 10, timeoutS: 5, failureThreshold: 3, graceS: 10 } as const;

export interface ProbeResult {
  readonly ok: boolean;
  readonly detail: string;
  readonly ms: number;
}

/** What is remembered of one probe between runs (persisted in the record). */
export interface ProbeState {
  readonly failures: number;
  readonly lastAt: number | null;
  readonly lastOk: boolean | null;
  readonly detail: string;
}

/** Query parameters whose values are secrets by their name (?token=, ?api_key=, ?sig= ...). */
const SECRET_PARAM = /token|key|secret|pass|pwd|auth|sig|session|cred|code/i;

/**
 * A probe URL as it may be shown: a password in it, and the value of a query parameter named like
 * a secret, as ***. `secret` says whether there was any (an export then keeps the URL out of the file).
 */
export function shownUrl(url: string): { shown: string; secret: boolean } {
  let u: URL;
  try { u = new URL(url); } catch { return { shown: url, secret: false }; }
  let secret = false;
  if (u.password) { u.password = '***'; secret = true; }
  for (const [k] of [...u.searchParams]) if (SECRET_PARAM.test(k)) { u.searchParams.set(k, '***'); secret = true; }
  return { shown: secret ? u.toString().replace(/%2A%2A%2A/g, '***') : url, secret };
}

export function describeProbe(p: ProbeDef): string {
  switch (p.type) {
    case 'http': return `http ${shownUrl(p.url).shown}`;
    case 'tcp': return `tcp ${p.host}:${p.port}`;
    case 'exec': return `exec ${JSON.stringify(p.command)}`;
    case 'heartbeat': return `heartbeat (max_age ${p.maxAgeS} s)`;
  }
}

type Issue = { field: string; message: string };
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const show = (v: unknown) => (typeof v === 'object' && v !== null ? 'an object' : `${JSON.stringify(v)} (${typeof v})`);

/** Validate `health` (unknown JSON) into probe definitions, with every issue named `health[i].field`. */
export function validateProbes(raw: unknown): { probes: ProbeDef[]; issues: Issue[] } {
  const issues: Issue[] = [];
  const probes: ProbeDef[] = [];
  if (!Array.isArray(raw)) return { probes, issues: [{ field: 'health', message: `expected an array of probes, got ${show(raw)}` }] };
  raw.forEach((p: unknown, i) => {
    const at = `health[${i}]`;
    if (p === null || typeof p !== 'object' || Array.isArray(p)) {
      issues.push({ field: at, message: `expected a probe object, got ${show(p)}` });
      return;
    }
    const o = p as Record<string, unknown>;
    const num = (key: string, def: number, opts: { integer?: boolean; min?: number; max?: number } = {}): number => {
      const v = o[key];
      if (v === undefined) return def;
      const min = opts.min ?? 0;
      if (!isNum(v) || v < min || (opts.max !== undefined && v > opts.max) || (opts.integer && !Number.isInteger(v))) {
        const what = opts.integer ? 'an integer' : 'a number';
        issues.push({ field: `${at}.${key}`, message: `expected ${what} from ${min}${opts.max !== undefined ? ` to ${opts.max}` : ' up'}, got ${show(v)}` });
        return def;
      }
      return v;
    };
    const str = (key: string): string => {
      const v = o[key];
      if (typeof v !== 'string' || v.trim() === '') {
        issues.push({ field: `${at}.${key}`, message: v === undefined ? 'is required' : `expected a non-empty string, got ${show(v)}` });
        return '';
      }
      return v;
    };
    const common = {
      intervalS: num('interval', PROBE_DEFAULTS.intervalS, { min: 0.1 }),
      timeoutS: num('timeout', PROBE_DEFAULTS.timeoutS, { min: 0.1 }),
      failureThreshold: num('failure_threshold', PROBE_DEFAULTS.failureThreshold, { integer: true, min: 1 }),
      graceS: num('grace', PROBE_DEFAULTS.graceS),
    };
    switch (o.type) {
      case 'http': {
        const url = str('url');
        if (url && !/^https?:\/\//.test(url)) issues.push({ field: `${at}.url`, message: `expected an http:// or https:// URL, got ${JSON.stringify(url)}` });
        const expectStatus = o.expect_status === undefined ? null : num('expect_status', 200, { integer: true, min: 100, max: 599 });
        probes.push({ ...common, type: 'http', url, expectStatus });
        break;
      }
      case 'tcp': {
        const host = o.host === undefined ? '127.0.0.1' : str('host');
        if (o.port === undefined) issues.push({ field: `${at}.port`, message: 'is required' });
        probes.push({ ...common, type: 'tcp', host, port: num('port', 0, { integer: true, min: 1, max: 65535 }) });
        break;
      }
      case 'exec':
        probes.push({ ...common, type: 'exec', command: str('command') });
        break;
      case 'heartbeat':
        probes.push({ ...common, type: 'heartbeat', maxAgeS: num('max_age', 30, { min: 0.1 }) });
        break;
      default:
        issues.push({ field: `${at}.type`, message: `expected "http", "tcp", "exec" or "heartbeat", got ${show(o.type)}` });
    }
  });
  return { probes, issues };
}

/**
 * `register --probe SPEC` -> the probe as written in the registry, or what is wrong with SPEC:
 * `http://HOST:PORT/PATH` (or https), `tcp:HOST:PORT` (or `tcp:PORT`: 127.0.0.1), `exec:COMMAND`,
 * `heartbeat:MAX_AGE_S` (or `heartbeat`: 30 s). Numbers that are not numbers stay strings, so that
 * validation names them.
 */
export function parseProbeSpec(spec: string): { probe: Record<string, unknown> } | { error: string } {
  const num = (v: string): number | string => (/^\d+(\.\d+)?$/.test(v) ? Number(v) : v);
  if (/^https?:\/\//i.test(spec)) return { probe: { type: 'http', url: spec } };
  const colon = spec.indexOf(':');
  const kind = colon < 0 ? spec : spec.slice(0, colon);
  const rest = colon < 0 ? '' : spec.slice(colon + 1);
  switch (kind) {
    case 'tcp': {
      const at = rest.lastIndexOf(':');
      const host = at < 0 ? '127.0.0.1' : rest.slice(0, at).replace(/^\[(.*)\]$/, '$1');
      const port = at < 0 ? rest : rest.slice(at + 1);
      if (!port || !host) return { error: `--probe tcp expects tcp:HOST:PORT or tcp:PORT, got ${JSON.stringify(spec)}` };
      return { probe: { type: 'tcp', host, port: num(port) } };
    }
    case 'exec':
      if (!rest.trim()) return { error: `--probe exec expects exec:COMMAND, got ${JSON.stringify(spec)}` };
      return { probe: { type: 'exec', command: rest } };
    case 'heartbeat':
      return { probe: rest ? { type: 'heartbeat', max_age: num(rest) } : { type: 'heartbeat' } };
    default:
      return { error: `--probe expects http://HOST:PORT/PATH, tcp:HOST:PORT, exec:COMMAND or heartbeat:MAX_AGE_S (or none), got ${JSON.stringify(spec)}` };
  }
}

/** Is this probe due to run? */
export function isProbeDue(p: ProbeDef, state: ProbeState | undefined, now: number): boolean {
  return !state || state.lastAt === null || now - state.lastAt >= p.intervalS * 1000;
}

/** Count a result: consecutive failures, reset by a success; failures inside grace do not count. */
export function countProbeResult(state: ProbeState | undefined, result: ProbeResult, inGrace: boolean, now: number): ProbeState {
  const failures = result.ok ? 0 : inGrace ? (state?.failures ?? 0) : (state?.failures ?? 0) + 1;
  return { failures, lastAt: now, lastOk: result.ok, detail: result.detail };
}
