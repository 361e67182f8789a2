// The schedule syntax and next fire time (core/schedule.ts), on fixed dates in fixed time zones.
// process.env.TZ is read by Node at each Date call: each block sets the zone it is about.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firesBetween, nextFireAfter, parseSchedule, toSystemdCalendars, type Schedule } from '../../src/core/schedule.js';
import { validateRegistry } from '../../src/core/validate.js';

const savedTz = process.env.TZ;
afterAll(() => { process.env.TZ = savedTz; });

function parse(text: string): Schedule {
  const p = parseSchedule(text);
  if (!p.ok) throw new Error(p.message);
  return p.schedule;
}
/** The next fire after a local wall time, as a local wall time "YYYY-MM-DD HH:MM:SS". */
function next(text: string, afterLocal: string, anchor = 0): string {
  const t = nextFireAfter(parse(text), localMs(afterLocal), anchor);
  return t === null ? 'never' : local(t);
}
function localMs(s: string): number {
  const [d, t = '00:00:00'] = s.split(' ');
  const [y, mo, da] = d!.split('-').map(Number);
  const [h, mi, se = 0] = t.split(':').map(Number);
  return new Date(y!, mo! - 1, da!, h!, mi!, se).getTime();
}
function local(ms: number): string {
  const x = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${x.getFullYear()}-${p(x.getMonth() + 1)}-${p(x.getDate())} ${p(x.getHours())}:${p(x.getMinutes())}:${p(x.getSeconds())}`;
}

describe('cron syntax, next fire (UTC)', () => {
  beforeAll(() => { process.env.TZ = 'UTC'; });
  it.each([
    // [schedule, after, next]
    ['0 * * * *', '2026-01-01 10:00:00', '2026-01-01 11:00:00'], // strictly after
    ['0 * * * *', '2026-01-01 10:00:01', '2026-01-01 11:00:00'],
    ['*/15 * * * *', '2026-01-01 10:07:00', '2026-01-01 10:15:00'],
    ['5/20 * * * *', '2026-01-01 10:26:00', '2026-01-01 10:45:00'], // 5, 25, 45
    ['1-10/3 * * * *', '2026-01-01 10:04:00', '2026-01-01 10:07:00'],
    ['0 9 * * mon-fri', '2026-01-02 10:00:00', '2026-01-05 09:00:00'], // Friday 10:00 -> Monday
    ['0 0 * * 7', '2026-01-01 00:00:00', '2026-01-04 00:00:00'], // Sunday as 7
    ['0 0 * * 0', '2026-01-01 00:00:00', '2026-01-04 00:00:00'], // Sunday as 0
    ['0 0 1 jan,JUL *', '2026-02-01 00:00:00', '2026-07-01 00:00:00'],
    ['30 23 31 * *', '2026-04-01 00:00:00', '2026-05-31 23:30:00'], // April has no 31st
    ['0 0 29 2 *', '2026-01-01 00:00:00', '2028-02-29 00:00:00'], // the next leap day
    ['0 0 29 2 *', '2096-03-01 00:00:00', '2104-02-29 00:00:00'], // 2100 is no leap year
    ['0 0 */30 2 3', '2026-01-01 00:00:00', '2034-02-01 00:00:00'], // Feb 1 on a Wednesday: 8 years on (found by the property test)
    ['@hourly', '2026-01-01 10:30:00', '2026-01-01 11:00:00'],
    ['@daily', '2026-01-01 10:30:00', '2026-01-02 00:00:00'],
    ['@midnight', '2026-01-01 10:30:00', '2026-01-02 00:00:00'],
    ['@weekly', '2026-01-01 10:30:00', '2026-01-04 00:00:00'],
    ['@monthly', '2026-01-01 10:30:00', '2026-02-01 00:00:00'],
    ['@yearly', '2026-01-01 10:30:00', '2027-01-01 00:00:00'],
    ['@annually', '2026-01-01 10:30:00', '2027-01-01 00:00:00'],
    // Vixie's day rule: both restricted -> either; one starting with * -> both.
    ['0 0 13 * 5', '2026-01-01 00:00:00', '2026-01-02 00:00:00'], // Friday the 2nd (a Friday), not waiting for the 13th
    ['0 0 13 * 5', '2026-01-03 00:00:00', '2026-01-09 00:00:00'],
    ['0 0 13 * 2', '2026-01-10 00:00:00', '2026-01-13 00:00:00'], // the 13th (a Tuesday anyway)
    ['0 0 */10 * 5', '2026-01-01 00:00:00', '2026-05-01 00:00:00'], // */10 starts with *: both must match, a Friday the 1st/11th/21st/31st
    // 6 fields: seconds first.
    ['*/10 * * * * *', '2026-01-01 10:00:05', '2026-01-01 10:00:10'],
    ['59 23 * * * *', '2026-01-01 10:00:00', '2026-01-01 10:23:59'],
    ['30 0 12 * * *', '2026-01-01 12:00:30', '2026-01-02 12:00:30'],
  ])('%s after %s -> %s', (text, after, expected) => {
    expect(next(text, after)).toBe(expected);
  });

  it('keeps to both day fields when one begins with * (*/10 and Friday), fire after fire', () => {
    const s = parse('0 0 */10 * 5');
    let t = localMs('2026-01-01 00:00:00');
    for (let i = 0; i < 3; i++) {
      const n = nextFireAfter(s, t, 0)!;
      const d = new Date(n);
      expect([1, 11, 21, 31]).toContain(d.getDate());
      expect(d.getDay()).toBe(5);
      t = n;
    }
  });

  it('finds a date more than 9 years away (Jan 1 or 29 on a Monday; the property test found the 9-year search short)', () => {
    const t = nextFireAfter(parse('* */1 */28 1 1'), 2053727940000, 0);
    expect(t).not.toBeNull();
    const d = new Date(t!);
    expect([d.getUTCMonth(), d.getUTCDay(), [1, 29].includes(d.getUTCDate())]).toEqual([0, 1, true]);
    expect(t! - 2053727940000).toBeGreaterThan(9 * 365 * 86_400_000);
  });

  it('intervals fire at armedAt + k x interval, strictly after', () => {
    const s = parse('every 1h30m');
    const anchor = localMs('2026-01-01 10:00:00');
    expect(local(nextFireAfter(s, anchor, anchor)!)).toBe('2026-01-01 11:30:00');
    expect(local(nextFireAfter(s, localMs('2026-01-01 11:30:00'), anchor)!)).toBe('2026-01-01 13:00:00');
    expect(local(nextFireAfter(s, localMs('2026-01-01 09:00:00'), anchor)!)).toBe('2026-01-01 11:30:00');
    expect(parse('@every 45s')).toMatchObject({ kind: 'interval', everyMs: 45_000 });
    expect(parse('every 2s')).toMatchObject({ kind: 'interval', everyMs: 2000 });
    expect(parse('EVERY 1.5h')).toMatchObject({ kind: 'interval', everyMs: 5_400_000 });
  });

  it('counts the fire times between two instants, and caps a long count', () => {
    const from = localMs('2026-01-01 00:00:00');
    expect(firesBetween(parse('0 * * * *'), from, localMs('2026-01-01 05:30:00'), 0)).toMatchObject({ count: 5, capped: false });
    const every = firesBetween(parse('every 10m'), from, localMs('2026-01-01 01:00:00'), from);
    expect(every).toMatchObject({ count: 6, first: localMs('2026-01-01 00:10:00'), last: localMs('2026-01-01 01:00:00') });
    const secs = firesBetween(parse('* * * * * *'), from, localMs('2026-01-02 00:00:00'), 0, 100);
    expect(secs).toMatchObject({ count: 100, capped: true, last: localMs('2026-01-02 00:00:00') });
  });

  it('translates to systemd OnCalendar=, two lines for the day OR rule', () => {
    expect(toSystemdCalendars(parse('*/15 9-17 * * mon-fri'))).toEqual(['Mon,Tue,Wed,Thu,Fri *-*-* 09,10,11,12,13,14,15,16,17:00,15,30,45:00']);
    expect(toSystemdCalendars(parse('0 0 13 * 5'))).toEqual(['*-*-13 00:00:00', 'Fri *-*-* 00:00:00']);
    expect(toSystemdCalendars(parse('every 5m'))).toBeNull();
  });
});

describe('daylight saving time (America/New_York)', () => {
  beforeAll(() => { process.env.TZ = 'America/New_York'; });
  // 2026-03-08: 02:00 EST jumps to 03:00 EDT. 2026-11-01: 02:00 EDT falls back to 01:00 EST.
  it('a fixed time in the skipped hour runs when the clock jumps, once', () => {
    const t = nextFireAfter(parse('30 2 * * *'), localMs('2026-03-08 00:00:00'), 0)!;
    expect(new Date(t).toISOString()).toBe('2026-03-08T07:00:00.000Z'); // 03:00 EDT, the jump
    expect(local(nextFireAfter(parse('30 2 * * *'), t, 0)!)).toBe('2026-03-09 02:30:00');
  });
  it('a wildcard schedule runs by the clock: nothing in the skipped hour', () => {
    expect(local(nextFireAfter(parse('*/30 * * * *'), localMs('2026-03-08 01:45:00'), 0)!)).toBe('2026-03-08 03:00:00');
    expect(nextFireAfter(parse('*/30 * * * *'), Date.parse('2026-03-08T06:30:00Z'), 0)).toBe(Date.parse('2026-03-08T07:00:00Z'));
  });
  it('a fixed time in the repeated hour runs at its first occurrence only', () => {
    const first = nextFireAfter(parse('30 1 * * *'), Date.parse('2026-11-01T04:00:00Z'), 0)!;
    expect(new Date(first).toISOString()).toBe('2026-11-01T05:30:00.000Z'); // 01:30 EDT
    expect(new Date(nextFireAfter(parse('30 1 * * *'), first, 0)!).toISOString()).toBe('2026-11-02T06:30:00.000Z'); // tomorrow 01:30 EST
  });
  it('a wildcard schedule runs again in the repeated hour', () => {
    const s = parse('*/30 * * * *');
    const seen: string[] = [];
    let t = Date.parse('2026-11-01T04:45:00Z'); // 00:45 EDT
    for (let i = 0; i < 6; i++) { t = nextFireAfter(s, t, 0)!; seen.push(new Date(t).toISOString()); }
    expect(seen).toEqual([
      '2026-11-01T05:00:00.000Z', '2026-11-01T05:30:00.000Z', // 01:00, 01:30 EDT
      '2026-11-01T06:00:00.000Z', '2026-11-01T06:30:00.000Z', // 01:00, 01:30 EST
      '2026-11-01T07:00:00.000Z', '2026-11-01T07:30:00.000Z', // 02:00, 02:30 EST
    ]);
  });
  it('intervals count elapsed time, whatever the clock on the wall says', () => {
    const anchor = Date.parse('2026-11-01T05:00:00Z');
    expect(nextFireAfter(parse('every 1h'), anchor, anchor)).toBe(anchor + 3_600_000);
  });
});

describe('daylight saving time (Europe/London)', () => {
  beforeAll(() => { process.env.TZ = 'Europe/London'; });
  it('01:30 on the spring-forward day runs at 02:00 BST; on the fall-back day once', () => {
    expect(new Date(nextFireAfter(parse('30 1 * * *'), Date.parse('2026-03-29T00:00:00Z'), 0)!).toISOString()).toBe('2026-03-29T01:00:00.000Z');
    const fall = nextFireAfter(parse('30 1 * * *'), Date.parse('2026-10-25T00:00:00Z'), 0)!;
    expect(new Date(fall).toISOString()).toBe('2026-10-25T00:30:00.000Z'); // 01:30 BST
    expect(new Date(nextFireAfter(parse('30 1 * * *'), fall, 0)!).toISOString()).toBe('2026-10-26T01:30:00.000Z');
  });
});

describe('invalid schedules, each named', () => {
  it.each([
    ['61 * * * *', 'minute field 61 is out of 0-59'],
    ['* 24 * * *', 'hour field 24 is out of 0-23'],
    ['* * 0 * *', 'day-of-month field 0 is out of 1-31'],
    ['* * * 13 *', 'month field 13 is out of 1-12'],
    ['* * * * 8', 'day-of-week field 8 is out of 0-7'],
    ['60 * * * * *', 'second field 60 is out of 0-59'],
    ['* * * foo *', 'month field: expected a number or a name (jan-dec), found "foo"'],
    ['5-2 * * * *', 'minute field: the range 5-2 runs backwards (5 > 2)'],
    ['*/0 * * * *', 'minute field: expected a step of 1 or more after "/", found "0"'],
    ['1,,2 * * * *', 'minute field: an empty item in the list "1,,2"'],
    ['* * *', 'found 3 fields in "* * *"'],
    ['* * * * * * *', 'found 7 fields'],
    ['0 0 30 2 *', 'never fires: day-of-month 30 does not occur in feb'],
    ['0 0 31 4,6,9,11 *', 'never fires: day-of-month 31 does not occur in apr, jun, sep, nov'],
    ['@reboot', '@reboot is not a schedule here: set "autostart": true'],
    ['@often', 'unknown shorthand "@often"'],
    ['every 0s', 'interval: expected at least 1 s'],
    ['every 500ms', 'interval: expected a duration such as 30m, 1h30m or 45s'],
    ['every soon', 'interval: expected a duration such as 30m, 1h30m or 45s (units h, m, s) after "every", found "soon"'],
  ])('%s', (text, message) => {
    const p = parseSchedule(text);
    expect(p.ok).toBe(false);
    expect(p.ok ? '' : p.message).toContain(message);
  });

  it('a Feb 30 with a day of week restricted is not refused: that day of week fires (Vixie OR)', () => {
    expect(parseSchedule('0 0 30 2 1').ok).toBe(true);
  });

  it('reach the registry as issues naming the process and field; both fields at once are refused', () => {
    const v = validateRegistry({
      a: { command: 'x', schedule: '61 * * * *' },
      b: { command: 'x', schedule: 5 },
      c: { command: 'x', schedule: '@daily', restart_schedule: '@daily' },
      d: { command: 'x', restart_schedule: 'every 30m' },
    });
    expect(v.issues).toEqual([
      { process: 'a', field: 'schedule', message: 'minute field 61 is out of 0-59' },
      { process: 'b', field: 'schedule', message: 'expected a schedule string such as "0 * * * *", "@daily" or "every 30m", got 5 (number)' },
      { process: 'c', field: 'restart_schedule', message: 'a process has a schedule (a job run to completion) or a restart_schedule (a long-running one restarted), not both' },
    ]);
    expect(v.defs.get('d')).toMatchObject({ restartSchedule: 'every 30m', schedule: undefined });
  });
});
