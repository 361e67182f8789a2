// Schedules, parsed and computed purely: `schedule` (a job run to completion at each time) and
// `restart_schedule` (a long-running process restarted at each time, PM2's cron_restart).
//
// Accepted (local time, as cron):
//   5 fields  minute hour day-of-month month day-of-week: `*`, lists `1,5`, ranges `1-5`, steps
//             `*/15`, `1-30/5`, `5/15` (from 5 to the top, every 15), month names jan-dec, day names
//             sun-sat, Sunday as 0 or 7; when both day fields are restricted (neither begins with
//             `*`) either may match (Vixie cron's rule).
//   6 fields  seconds first (PM2's cron_restart: "59 23 * * * *"); only `watch` fires on the second.
//   @yearly @annually @monthly @weekly @daily @midnight @hourly
//   every 30m / every 1h30m / every 45s / @every 30m (Go's duration units h, m, s; at least 1 s):
//             fire times are armedAt + k x interval, k >= 1 (systemd's OnUnitActiveSec= from the start).
//
// Daylight saving time (cron's rule, as Vixie cron documents it): a schedule at fixed times (its
// minute and hour fields do not begin with `*`) runs once a day as written: a time in the hour that
// is skipped runs when the clock jumps (at the end of the gap), a time in the hour that repeats runs
// at its first occurrence only. A wildcard schedule (`*/5 * * * *`) runs by the clock: nothing in
// the skipped hour, and again in the repeated hour.

export type Schedule =
  | {
      readonly kind: 'cron';
      readonly text: string;
      /** Seconds (a 6-field schedule) or [0]. */
      readonly seconds: readonly number[];
      readonly minutes: readonly number[];
      readonly hours: readonly number[];
      readonly doms: readonly number[];
      readonly months: readonly number[]; // 1-12
      readonly dows: readonly number[]; // 0-6, Sunday 0
      readonly domStar: boolean;
      readonly dowStar: boolean;
      /** The minute or hour field begins with `*`: runs by the clock across DST changes. */
      readonly wild: boolean;
      readonly hasSeconds: boolean;
      /** The 5-field form a crontab line takes (null with a seconds field other than 0). */
      readonly crontab: string | null;
    }
  | { readonly kind: 'interval'; readonly text: string; readonly everyMs: number };

export type Parsed = { readonly ok: true; readonly schedule: Schedule } | { readonly ok: false; readonly message: string };

const SHORTHANDS: Record<string, string> = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
};

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface FieldDef { readonly name: string; readonly min: number; readonly max: number; readonly names?: readonly string[]; readonly namesFrom?: number }
const SECOND: FieldDef = { name: 'second', min: 0, max: 59 };
const MINUTE: FieldDef = { name: 'minute', min: 0, max: 59 };
const HOUR: FieldDef = { name: 'hour', min: 0, max: 23 };
const DOM: FieldDef = { name: 'day-of-month', min: 1, max: 31 };
const MONTH: FieldDef = { name: 'month', min: 1, max: 12, names: MONTHS, namesFrom: 1 };
const DOW: FieldDef = { name: 'day-of-week', min: 0, max: 7, names: DAYS, namesFrom: 0 };

const EXPECTED = 'expected 5 cron fields (minute hour day-of-month month day-of-week), 6 with seconds first, @hourly/@daily/@weekly/@monthly/@yearly, or an interval such as "every 30m"';

const memo = new Map<string, Parsed>();

/** Parse a schedule; the message names the field, what was expected and what was found. */
export function parseSchedule(text: string): Parsed {
  const hit = memo.get(text);
  if (hit) return hit;
  const parsed = parseUncached(text);
  if (memo.size > 500) memo.clear();
  memo.set(text, parsed);
  return parsed;
}

function parseUncached(raw: string): Parsed {
  const text = raw.trim().replace(/\s+/g, ' ');
  if (text === '') return { ok: false, message: `${EXPECTED}; found an empty string` };
  const lower = text.toLowerCase();
  const every = /^(?:every|@every) (.*)$/.exec(lower);
  if (every) return parseInterval(raw, every[1]!);
  if (lower.startsWith('@')) {
    if (lower === '@reboot') return { ok: false, message: '@reboot is not a schedule here: set "autostart": true (started by `pguard boot`)' };
    const expanded = SHORTHANDS[lower];
    if (!expanded) return { ok: false, message: `unknown shorthand ${JSON.stringify(text)}: expected one of ${Object.keys(SHORTHANDS).join(', ')}` };
    return parseCron(raw, expanded.split(' '));
  }
  const fields = text.split(' ');
  if (fields.length !== 5 && fields.length !== 6) return { ok: false, message: `${EXPECTED}; found ${fields.length} field${fields.length === 1 ? '' : 's'} in ${JSON.stringify(raw)}` };
  return parseCron(raw, fields);
}

const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000 };

function parseInterval(raw: string, spec: string): Parsed {
  const s = spec.replace(/ /g, '');
  if (!/^(\d+(\.\d+)?[hms])+$/.test(s)) {
    return { ok: false, message: `interval: expected a duration such as 30m, 1h30m or 45s (units h, m, s) after "every", found ${JSON.stringify(spec)}` };
  }
  let ms = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)([hms])/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  ms = Math.round(ms);
  if (ms < 1000) return { ok: false, message: `interval: expected at least 1 s, found ${JSON.stringify(spec)}` };
  return { ok: true, schedule: { kind: 'interval', text: raw.trim(), everyMs: ms } };
}

type FieldResult = { values: number[]; star: boolean } | { error: string };

function parseField(f: FieldDef, text: string): FieldResult {
  const set = new Set<number>();
  const value = (tok: string): number | string => {
    const lower = tok.toLowerCase();
    if (f.names) {
      const i = f.names.indexOf(lower);
      if (i >= 0) return i + (f.namesFrom ?? 0);
    }
    if (!/^\d+$/.test(tok)) return `${f.name} field: expected a number${f.names ? ` or a name (${f.names[0]}-${f.names.at(-1)})` : ''}, found ${JSON.stringify(tok)}`;
    const n = Number(tok);
    if (n < f.min || n > f.max) return `${f.name} field ${tok} is out of ${f.min}-${f.max}`;
    return n;
  };
  for (const item of text.split(',')) {
    if (item === '') return { error: `${f.name} field: an empty item in the list ${JSON.stringify(text)}` };
    const [range, stepText, extra] = item.split('/');
    if (extra !== undefined) return { error: `${f.name} field: expected one "/" in ${JSON.stringify(item)}` };
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) < 1) return { error: `${f.name} field: expected a step of 1 or more after "/", found ${JSON.stringify(stepText)}` };
      step = Number(stepText);
    }
    let lo: number;
    let hi: number;
    if (range === '*') {
      lo = f.min;
      hi = f === DOW ? 6 : f.max;
    } else {
      const [a, b, more] = range!.split('-');
      if (more !== undefined || a === '' || b === '') return { error: `${f.name} field: expected a number, a range a-b or *, found ${JSON.stringify(range)}` };
      const x = value(a!);
      if (typeof x === 'string') return { error: x };
      lo = x;
      if (b === undefined) {
        hi = stepText !== undefined ? (f === DOW ? 6 : f.max) : x; // "5/15": from 5 to the top
      } else {
        const y = value(b);
        if (typeof y === 'string') return { error: y };
        hi = y;
        if (hi < lo) return { error: `${f.name} field: the range ${range} runs backwards (${lo} > ${hi})` };
      }
    }
    for (let v = lo; v <= hi; v += step) set.add(f === DOW && v === 7 ? 0 : v);
  }
  return { values: [...set].sort((a, b) => a - b), star: text.startsWith('*') };
}

const MAX_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function parseCron(raw: string, fields: readonly string[]): Parsed {
  const hasSeconds = fields.length === 6;
  const defs = hasSeconds ? [SECOND, MINUTE, HOUR, DOM, MONTH, DOW] : [MINUTE, HOUR, DOM, MONTH, DOW];
  const out: { values: number[]; star: boolean }[] = [];
  for (let i = 0; i < defs.length; i++) {
    const r = parseField(defs[i]!, fields[i]!);
    if ('error' in r) return { ok: false, message: r.error };
    out.push(r);
  }
  const [sec, min, hour, dom, month, dow] = hasSeconds ? out : [{ values: [0], star: false }, ...out];
  // A date that never comes (Feb 30, Apr 31) fires never: refused here, never searched for.
  if (!dom!.star && dow!.star && !month!.values.some((m) => dom!.values.some((d) => d <= MAX_DAYS[m - 1]!))) {
    const names = month!.values.map((m) => MONTHS[m - 1]).join(', ');
    return { ok: false, message: `never fires: day-of-month ${fields[hasSeconds ? 3 : 2]} does not occur in ${names} (${JSON.stringify(raw.trim())})` };
  }
  const five = hasSeconds ? fields.slice(1) : fields;
  return {
    ok: true,
    schedule: {
      kind: 'cron', text: raw.trim(), seconds: sec!.values, minutes: min!.values, hours: hour!.values, doms: dom!.values,
      months: month!.values, dows: dow!.values, domStar: dom!.star, dowStar: dow!.star, wild: min!.star || hour!.star, hasSeconds,
      crontab: hasSeconds && !(sec!.values.length === 1 && sec!.values[0] === 0) ? null : five.join(' '),
    },
  };
}

/** Why a schedule string is not one, or undefined (the validator's rule). */
export function validateSchedule(value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined; // the type rule has said it
  const p = parseSchedule(value);
  return p.ok ? undefined : p.message;
}

// ---- next fire --------------------------------------------------------------------------------

/**
 * How far the search looks: every date a valid schedule names comes within it. Feb 29 comes every
 * 8 years at most; a weekday on a given date (both day fields, one beginning with `*`: both must
 * match) within the 28-year cycle, longer across a century that is not a leap year: 40 years.
 */
const SEARCH_DAYS = 366 * 40;

/**
 * The first fire time strictly after `after` (ms since epoch), or null when none comes within
 * 40 years (validation refuses schedules that never fire). `anchor`: an interval's start.
 */
export function nextFireAfter(s: Schedule, after: number, anchor: number): number | null {
  if (s.kind === 'interval') {
    if (after < anchor) return anchor + s.everyMs;
    return anchor + (Math.floor((after - anchor) / s.everyMs) + 1) * s.everyMs;
  }
  return nextCron(s, after);
}

type Cron = Extract<Schedule, { kind: 'cron' }>;

function dayMatches(c: Cron, y: number, m: number, d: number): boolean {
  if (!c.months.includes(m + 1)) return false;
  const domOk = c.doms.includes(d);
  const dowOk = c.dows.includes(new Date(Date.UTC(y, m, d)).getUTCDay());
  // Vixie cron: a field beginning with `*` leaves the day to the other; both restricted: either.
  if (c.domStar || c.dowStar) return domOk && dowOk;
  return domOk || dowOk;
}

function daysIn(y: number, m: number): number {
  return new Date(Date.UTC(y, m + 1, 0)).getUTCDate();
}

function offsetMin(ms: number): number {
  return new Date(ms).getTimezoneOffset();
}

function wallIs(t: number, y: number, mo: number, d: number, h: number, mi: number, s: number): boolean {
  const x = new Date(t);
  return x.getFullYear() === y && x.getMonth() === mo && x.getDate() === d && x.getHours() === h && x.getMinutes() === mi && x.getSeconds() === s;
}

/** The instants a local wall time names under this schedule's DST rule (see the top of the file). */
function instantsOf(c: Cron, y: number, mo: number, d: number, h: number, mi: number, s: number): number[] {
  const t1 = new Date(y, mo, d, h, mi, s).getTime();
  if (wallIs(t1, y, mo, d, h, mi, s)) {
    if (!c.wild) return [t1];
    // A repeated hour: the same wall time again, once the offset has grown.
    const delta = (offsetMin(t1 + 3 * 3_600_000) - offsetMin(t1)) * 60_000;
    return delta > 0 && wallIs(t1 + delta, y, mo, d, h, mi, s) ? [t1, t1 + delta] : [t1];
  }
  // In a skipped hour (JS reads it with the offset before the jump, so t1 is past the jump).
  if (c.wild) return [];
  return [gapEnd(t1)];
}

/** The instant the clock jumped forward, just before t (a whole minute; within 3 hours). */
function gapEnd(t: number): number {
  const after = offsetMin(t);
  let lo = Math.floor((t - 3 * 3_600_000) / 60_000); // minutes; offset differs at lo
  let hi = Math.floor(t / 60_000); // offset is `after` at hi
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetMin(mid * 60_000) === after) hi = mid;
    else lo = mid;
  }
  return hi * 60_000;
}

function nextCron(c: Cron, after: number): number | null {
  // Near a DST change the wall clock is not monotonic: start the walk 4 hours back.
  const from = offsetMin(after - 4 * 3_600_000) === offsetMin(after) && offsetMin(after + 4 * 3_600_000) === offsetMin(after) ? after : after - 4 * 3_600_000;
  const start = new Date(from);
  let y = start.getFullYear();
  let mo = start.getMonth();
  let d = start.getDate();
  let first = true;
  let best = Infinity;
  for (let i = 0; i < SEARCH_DAYS; i++) {
    if (dayMatches(c, y, mo, d)) {
      const h0 = first ? start.getHours() : 0;
      outer: for (const h of c.hours) {
        if (h < h0) continue;
        for (const mi of c.minutes) {
          if (first && h === h0 && mi < start.getMinutes()) continue;
          for (const s of c.seconds) {
            if (first && h === h0 && mi === start.getMinutes() && s < start.getSeconds()) continue;
            const ts = instantsOf(c, y, mo, d, h, mi, s);
            if (ts.length === 0) continue;
            if (ts[0]! > best) break outer; // wall order is instant order, but for the repeated hour
            for (const t of ts) if (t > after && t < best) best = t;
          }
        }
      }
    }
    if (best !== Infinity && new Date(y, mo, d + 1).getTime() > best) return best;
    first = false;
    d += 1;
    if (d > daysIn(y, mo)) {
      d = 1;
      mo += 1;
      if (mo === 12) { mo = 0; y += 1; }
      // A month not in the schedule is skipped whole.
      while (!c.months.includes(mo + 1) && i < SEARCH_DAYS) {
        i += daysIn(y, mo);
        mo += 1;
        if (mo === 12) { mo = 0; y += 1; }
      }
    }
  }
  return best === Infinity ? null : best;
}

/**
 * The fire times in (from, to], at most `cap` of them (the count says when there were more).
 * For "what was due while nothing looked".
 */
export function firesBetween(s: Schedule, from: number, to: number, anchor: number, cap = 1000): { count: number; first: number | null; last: number | null; capped: boolean } {
  if (s.kind === 'interval') {
    const first = nextFireAfter(s, from, anchor)!; // an interval always has a next
    if (first > to) return { count: 0, first: null, last: null, capped: false };
    const count = Math.floor((to - first) / s.everyMs) + 1;
    return { count, first, last: first + (count - 1) * s.everyMs, capped: false };
  }
  let count = 0;
  let first: number | null = null;
  let last: number | null = null;
  let t = from;
  for (;;) {
    const n = nextCron(s, t);
    if (n === null || n > to) return { count, first, last, capped: false };
    count += 1;
    first ??= n;
    last = n;
    t = n;
    if (count >= cap) {
      // The last one still matters (it decides whether the latest was on time): found from `to` back.
      const tail = lastFireAtOrBefore(s, to, n);
      return { count, first, last: tail ?? last, capped: true };
    }
  }
}

/** The latest fire time in (floor, to], or null. */
function lastFireAtOrBefore(s: Cron, to: number, floor: number): number | null {
  for (let back = 3_600_000; back <= 400 * 86_400_000; back *= 4) {
    let t = Math.max(floor, to - back);
    let last: number | null = null;
    for (;;) {
      const n = nextCron(s, t);
      if (n === null || n > to) break;
      last = n;
      t = n;
    }
    if (last !== null || t === floor) return last;
  }
  return null;
}

/** "every 30 min", "cron 0 * * * *" (as written): for status and messages. */
export function describeSchedule(s: Schedule): string {
  return s.kind === 'interval' ? `every ${describeEvery(s.everyMs)}` : s.text;
}

function describeEvery(ms: number): string {
  const parts: string[] = [];
  let s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (h) parts.push(`${h}h`);
  if (m) parts.push(`${m}m`);
  if (s || parts.length === 0) parts.push(`${s}s`);
  return parts.join('');
}

/** Seconds of an interval, for a systemd timer's OnUnitActiveSec= (null for cron). */
export function intervalSeconds(s: Schedule): number | null {
  return s.kind === 'interval' ? Math.round(s.everyMs / 1000) : null;
}

/**
 * systemd's OnCalendar= for a cron schedule: DOW YYYY-MM-DD HH:MM:SS, each a list. Vixie's day OR
 * (both day fields restricted) has no single OnCalendar= form: two are returned (a timer takes
 * several OnCalendar= lines and fires on any).
 */
export function toSystemdCalendars(s: Schedule): string[] | null {
  if (s.kind !== 'cron') return null;
  const list = (xs: readonly number[], all: number, pad = 2) => (xs.length === all ? '*' : xs.map((x) => String(x).padStart(pad, '0')).join(','));
  const dowNames = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const dows = s.dows.length === 7 ? '' : `${s.dows.map((d) => dowNames[d]).join(',')} `;
  const time = `${list(s.hours, 24)}:${list(s.minutes, 60)}:${list(s.seconds, 60)}`;
  const months = list(s.months, 12);
  const doms = list(s.doms, 31);
  if (!s.domStar && !s.dowStar) return [`*-${months}-${doms} ${time}`, `${dows}*-${months}-* ${time}`];
  return [`${dows}*-${months}-${doms} ${time}`];
}
