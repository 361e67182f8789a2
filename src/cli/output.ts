// Rendering: a table for people (colour only on a terminal, and never with NO_COLOR) or JSON.
import type { Status } from '../core/states.js';

const useColor = (): boolean => Boolean(process.stdout.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';

const CODES = { red: 31, green: 32, yellow: 33, blue: 34, magenta: 35, cyan: 36, gray: 90, bold: 1 } as const;
export type Color = keyof typeof CODES;

export function paint(text: string, color: Color): string {
  return useColor() ? `\u001b[${CODES[color]}m${text}\u001b[0m` : text;
}

export const STATUS_COLOR: Record<Status | 'invalid', Color> = {
  invalid: 'red',
  'never-started': 'gray',
  scheduled: 'cyan',
  running: 'green',
  unhealthy: 'magenta',
  stopping: 'yellow',
  stopped: 'gray',
  completed: 'blue',
  crashed: 'yellow',
  waiting: 'yellow',
  failed: 'red',
};

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
const width = (s: string) => s.replace(ANSI, '').length;

export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => string;
  readonly align?: 'left' | 'right';
  /** Truncate to this many characters (with an ellipsis). */
  readonly max?: number;
}

export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map((r) => columns.map((c) => {
    const v = c.value(r);
    return c.max && width(v) > c.max ? `${v.replace(ANSI, '').slice(0, c.max - 1)}…` : v;
  }));
  // A loop, not Math.max(...cells): a spread of 300,000 rows overflows the stack.
  const widths = columns.map((c, i) => cells.reduce((w, row) => Math.max(w, width(row[i]!)), c.header.length));
  const line = (vals: string[]) =>
    vals.map((v, i) => {
      const pad = ' '.repeat(widths[i]! - width(v));
      return columns[i]!.align === 'right' ? pad + v : v + pad;
    }).join('  ').trimEnd();
  const header = line(columns.map((c) => paint(c.header, 'bold')));
  return [header, ...cells.map(line)].join('\n');
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

export function printLine(line = ''): void {
  process.stdout.write(`${line}\n`);
}

export function formatUptime(s: number | null): string {
  if (s === null) return '-';
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${String(Math.floor((s % 86400) / 3600)).padStart(2, '0')}h`;
}
