// What the three importers share: the result's shape, names, units, and shell words. Pure.
import type { Note } from '../export-common.js';
import { shellQuote } from '../crontab-plan.js';
import { validateName } from '../validate.js';

export interface ImportedEntry { name: string; entry: Record<string, unknown> }

export interface Imported {
  readonly entries: ImportedEntry[];
  /** One line for each thing of the source pguard does not take over as written. */
  readonly notes: Note[];
  /** Why the whole file is refused, as its own tool refuses it (nothing is imported). */
  readonly refused?: string;
}

/** What a source file may refer to outside itself, read by app/import.ts and handed in. */
export interface SourceContext {
  /** The folder of the file (supervisord's %(here)s, where relative paths start). */
  readonly here: string;
  /** The environment `pguard import` runs in (supervisord's %(ENV_X)s where it is read once). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** This machine's name (supervisord's %(host_node_name)s). */
  readonly hostname: string;
}

export type Obj = Record<string, unknown>;
/** A string with something in it (the registry takes no empty path or command). */
export const filled = (v: unknown): v is string => typeof v === 'string' && v.trim() !== '';
export const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

/** argv as one /bin/sh command that runs exactly those words (no expansion, no splitting). */
export const shellCommand = (argv: readonly string[]): string => argv.map(shellQuote).join(' ');

/** A name pguard takes (letters, digits, . _ -), and a note when it had to change. */
export function takeName(raw: string, notes: Note[], fallback: string): string {
  const name = (raw || fallback).replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64) || fallback;
  if (name !== raw) notes.push({ process: name, field: 'name', message: `named ${JSON.stringify(name)} (was ${JSON.stringify(raw)}: pguard names are letters, digits, . _ -)` });
  if (validateName(name)) notes.push({ process: name, field: 'name', message: validateName(name)! });
  return name;
}

/** 1000 (ms) or "10s" / "2m" / "1h" / "500ms" -> seconds. */
export function seconds(v: unknown, unitless: 'ms' | 's'): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? (unitless === 'ms' ? v / 1000 : v) : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? unitless).toLowerCase();
  return unit === 'ms' ? n / 1000 : unit === 'm' ? n * 60 : unit === 'h' ? n * 3600 : n;
}

/** "200M", "1G", "512K", "50MB", or bytes -> MB. */
export function megabytes(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v >= 0 ? Math.round(v / 1024 / 1024) : undefined;
  if (typeof v !== 'string') return undefined;
  const m = /^(\d+(?:\.\d+)?)\s*([KMG])?B?$/i.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toUpperCase();
  return unit === 'G' ? n * 1024 : unit === 'M' ? n : unit === 'K' ? Math.max(1, Math.round(n / 1024)) : Math.round(n / 1024 / 1024);
}

/** Environment values as strings, as a process sees them. */
export const stringEnv = (env: Obj): Record<string, string> =>
  Object.fromEntries(Object.entries(env).map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));

/** A note-taker for one process. */
export const noter = (notes: Note[], process: string) => (field: string, message: string) => { notes.push({ process, field, message }); };
export const SIGNALS_BY_NUMBER: Record<number, string> = { 1: 'SIGHUP', 2: 'SIGINT', 3: 'SIGQUIT', 9: 'SIGKILL', 10: 'SIGUSR1', 12: 'SIGUSR2', 15: 'SIGTERM' };
