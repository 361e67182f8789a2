// unknown JSON -> typed definitions plus every issue at once (changesets' parse.ts).
// The only place snake_case registry keys become camelCase properties. Never throws on user input.
import type { Issue } from '../errors.js';
import { validateChannels } from './channels.js';
import { orderByDependencies } from './deps.js';
import { finalExitCodes } from './exit.js';
import { validateProbes } from './probes.js';
import { validateSchedule } from './schedule.js';
import {
  ACCOUNT_PATTERN, ENV_NAME, FIELDS, isExitCode, MAX_ACCOUNT_ID, NAME_PATTERN, SETTINGS, SIGNALS, propertyOf,
  type FieldSpec, type ProcessDef, type Settings,
} from './schema.js';

export interface Validated {
  readonly defs: ReadonlyMap<string, ProcessDef>;
  readonly settings: Settings;
  readonly issues: readonly Issue[];
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `${JSON.stringify(value)} (array)`;
  if (typeof value === 'object') return 'an object';
  return `${JSON.stringify(value)} (${typeof value})`;
}

/**
 * A URL that may hold a secret (a password, a token in its path), as issues name it: its scheme
 * and length only. Issues travel to stderr, alerts, the ledger, the dashboard and MCP.
 */
function describeSecretValue(value: unknown): string {
  if (typeof value !== 'string') return describeValue(value);
  const scheme = /^[a-z][a-z0-9+.-]{0,15}:/i.exec(value)?.[0];
  return `${scheme ? `"${scheme}…" ` : ''}(a string of ${value.length} characters; ${scheme ? 'the rest is' : 'it is'} not shown, as a webhook URL may hold a secret)`;
}

/** One small rule per type: returns the problem, or undefined when the value fits. */
const RULES: Record<FieldSpec['type'], (v: unknown) => string | undefined> = {
  string: (v) => (typeof v === 'string' && v.trim() !== '' ? undefined : 'expected a non-empty string'),
  'non-negative-integer': (v) =>
    typeof v === 'number' && Number.isInteger(v) && v >= 0 ? undefined : 'expected a non-negative integer',
  'non-negative-number': (v) =>
    typeof v === 'number' && Number.isFinite(v) && v >= 0 ? undefined : 'expected a non-negative number',
  boolean: (v) => (typeof v === 'boolean' ? undefined : 'expected true or false'),
  dependencies: (v) =>
    Array.isArray(v) && v.every((n) => (typeof n === 'string' && NAME_PATTERN.test(n)) || isDependencyObject(n))
      ? undefined
      : 'expected an array of process names (or {"name": "db", "restart": false})',
  env: (v) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) &&
    Object.entries(v).every(([k, x]) => ENV_NAME.test(k) && typeof x === 'string')
      ? undefined
      : 'expected an object of NAME: "string value" pairs',
  signal: (v) =>
    typeof v === 'string' && (SIGNALS as readonly string[]).includes(normalizeSignal(v))
      ? undefined
      : `expected one of ${SIGNALS.join(', ')}`,
  backoff: (v) => (v === 'fixed' || v === 'exponential' ? undefined : 'expected "fixed" or "exponential"'),
  url: (v) => (typeof v === 'string' && /^https?:\/\/[^\s/]+/i.test(v) && URL.canParse(v) ? undefined : 'expected an http:// or https:// URL'),
  'exit-codes': (v) =>
    Array.isArray(v) && v.every(isExitCode)
      ? undefined
      : 'expected an array of exit codes (whole numbers from 0 to 255)',
  probes: () => undefined, // validated by validateProbes(), which names each probe's field
  channels: () => undefined, // validated by validateChannels(), which names each channel's field
  // Shape only: whether the account exists is known where it is used (effects/run-as.ts, at start).
  account: (v) =>
    (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_ACCOUNT_ID) ||
    (typeof v === 'string' && ACCOUNT_PATTERN.test(v) && (!/^\d+$/.test(v) || Number(v) <= MAX_ACCOUNT_ID))
      ? undefined
      : 'expected a user or group name (letters, digits, ".", "_", "-"; up to 32) or a numeric id',
  schedule: (v) => (typeof v === 'string' && v.trim() !== '' ? validateSchedule(v) : 'expected a schedule string such as "0 * * * *", "@daily" or "every 30m"'),
};

function isDependencyObject(v: unknown): boolean {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  return typeof o.name === 'string' && NAME_PATTERN.test(o.name) && (o.restart === undefined || typeof o.restart === 'boolean')
    && Object.keys(o).every((k) => k === 'name' || k === 'restart');
}

/** "term", "TERM" and "SIGTERM" all name SIGTERM. */
export function normalizeSignal(value: string): string {
  const up = value.trim().toUpperCase();
  return up.startsWith('SIG') ? up : `SIG${up}`;
}

function validateFields(
  specs: readonly FieldSpec[],
  entry: Record<string, unknown>,
  process: string,
  issues: Issue[],
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const spec of specs) {
    const value = entry[spec.key];
    if (value === undefined) {
      if (spec.required) issues.push({ process, field: spec.key, message: 'is required' });
      out[propertyOf(spec)] = spec.default;
      if (spec.type === 'dependencies') out.survivesRestartOf = [];
      continue;
    }
    if (spec.type === 'channels') {
      const res = validateChannels(value);
      for (const i of res.issues) issues.push({ process, field: i.field, message: i.message });
      out[propertyOf(spec)] = res.channels;
      continue;
    }
    if (spec.type === 'probes') {
      const res = validateProbes(value);
      for (const i of res.issues) issues.push({ process, field: i.field, message: i.message });
      out[propertyOf(spec)] = res.probes;
      continue;
    }
    const problem = RULES[spec.type](value);
    if (problem) {
      // A schedule's own message names the field part, what it expected and what it found.
      issues.push({ process, field: spec.key, message: spec.type === 'schedule' && typeof value === 'string' && value.trim() !== '' ? problem : `${problem}, got ${spec.type === 'url' ? describeSecretValue(value) : describeValue(value)}` });
      out[propertyOf(spec)] = spec.default;
      if (spec.type === 'dependencies') out.survivesRestartOf = [];
      continue;
    }
    if (spec.type === 'dependencies') {
      // Names for the order; the edges whose restart this process survives, apart.
      const deps = value as (string | { name: string; restart?: boolean })[];
      out.dependsOn = deps.map((d) => (typeof d === 'string' ? d : d.name));
      out.survivesRestartOf = deps.flatMap((d) => (typeof d !== 'string' && d.restart === false ? [d.name] : []));
      continue;
    }
    // A numeric id is kept as its digits: "33" and 33 name the same account.
    out[propertyOf(spec)] = spec.type === 'signal' ? normalizeSignal(value as string) : spec.type === 'account' ? String(value) : value;
  }
  // group is the primary group of the user the program runs as: without user there is none to switch to.
  if (entry.group !== undefined && entry.user === undefined && specs === FIELDS) {
    issues.push({ process, field: 'group', message: 'needs user (the group is that of the user the program runs as); add user, or remove group' });
  }
  return out;
}

/**
 * The definition of an entry that is not an object at all (`"bot": 5`), with every default: enough
 * to stop what may still run under that name, show its state and its log.
 */
export function placeholderDef(name: string): ProcessDef {
  return { name, ...validateFields(FIELDS, {}, name, []), command: '' } as unknown as ProcessDef;
}

export function validateRegistry(raw: unknown): Validated {
  const issues: Issue[] = [];
  const defs = new Map<string, ProcessDef>();
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    issues.push({ process: '', field: '', message: `expected an object of process definitions, got ${describeValue(raw)}` });
    return { defs, settings: validateSettings({}, []), issues };
  }
  const top = raw as Record<string, unknown>;
  const settingsRaw = top.$settings ?? {};
  let settings: Settings;
  if (settingsRaw === null || typeof settingsRaw !== 'object' || Array.isArray(settingsRaw)) {
    issues.push({ process: '$settings', field: '', message: `expected an object, got ${describeValue(settingsRaw)}` });
    settings = validateSettings({}, issues);
  } else {
    settings = validateSettings(settingsRaw as Record<string, unknown>, issues);
  }
  for (const [name, entry] of Object.entries(top)) {
    if (name.startsWith('$')) {
      if (name !== '$schema' && name !== '$settings') {
        issues.push({ process: name, field: '', message: 'keys starting with "$" are reserved ($schema, $settings)' });
      }
      continue;
    }
    const problem = validateName(name);
    if (problem) {
      issues.push({ process: name, field: '', message: problem });
      continue;
    }
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      issues.push({ process: name, field: '', message: `expected an object with at least "command", got ${describeValue(entry)}` });
      continue;
    }
    const fields = validateFields(FIELDS, entry as Record<string, unknown>, name, issues);
    // A missing or broken command (its issue is named) reads as '': status and stop still work by name.
    defs.set(name, { name, ...fields, command: typeof fields.command === 'string' ? fields.command : '' } as unknown as ProcessDef);
  }
  for (const def of defs.values()) {
    const both = def.successExitCodes.filter((c) => finalExitCodes(def).includes(c));
    if (both.length > 0) issues.push({ process: def.name, field: 'success_exit_codes', message: `${both.join(', ')} cannot mean both done and "do not restart me" (no_restart_exit_codes; 126 and 127 always do)` });
    if (def.schedule !== undefined && def.restartSchedule !== undefined) {
      issues.push({ process: def.name, field: 'restart_schedule', message: 'a process has a schedule (a job run to completion) or a restart_schedule (a long-running one restarted), not both' });
    }
    for (const dep of def.dependsOn) {
      if (dep === def.name) issues.push({ process: def.name, field: 'depends_on', message: 'a process cannot depend on itself' });
      else if (!defs.has(dep) && !issues.some((i) => i.process === dep)) {
        issues.push({ process: def.name, field: 'depends_on', message: `names "${dep}", which is not in the registry` });
      }
    }
  }
  const cycle = orderByDependencies(defs, [...defs.keys()]);
  if (!cycle.ok) {
    issues.push({ process: cycle.cycle[0]!, field: 'depends_on', message: `forms a cycle: ${cycle.cycle.join(' -> ')}` });
  }
  return { defs, settings, issues };
}

function validateSettings(raw: Record<string, unknown>, issues: Issue[]): Settings {
  return validateFields(SETTINGS, raw, '$settings', issues) as unknown as Settings;
}

/** Names become file names in the state directory: refuse anything that could escape it. */
export function validateName(name: string): string | undefined {
  if (NAME_PATTERN.test(name)) return undefined;
  return `invalid process name ${JSON.stringify(name)}: use 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit`;
}

/** Check one written entry (as `register` would write it) without the rest of the registry. */
export function validateEntry(name: string, entry: Record<string, unknown>): Issue[] {
  const issues: Issue[] = [];
  const problem = validateName(name);
  if (problem) return [{ process: name, field: '', message: problem }];
  validateFields(FIELDS, entry, name, issues);
  return issues;
}
