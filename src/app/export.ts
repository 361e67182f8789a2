// `pguard export`: the registry's definitions as another engine's (systemd, Kubernetes, Compose),
// with a note for each thing the target cannot express. The mapping is pure (core/export-*.ts);
// this reads what it needs and writes the files.
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { exportCompose } from '../core/export-compose.js';
import type { Note } from '../core/export-common.js';
import { exportK8s } from '../core/export-k8s.js';
import { exportSystemd } from '../core/export-systemd.js';
import type { ProcessDef } from '../core/schema.js';
import { prepareOwnFolder, writeExportedFile } from '../effects/safe-write.js';
import { machineSystemdVersion } from '../effects/systemd-version.js';
import { UserError } from '../errors.js';
import { requireDef, supervisedDefs, type Context } from './context.js';

export type ExportFormat = 'systemd' | 'k8s' | 'compose';

export interface ExportOptions {
  readonly names: readonly string[];
  readonly out: string | undefined;
  readonly system: boolean;
  readonly systemdVersion: number | undefined;
  readonly image: string | undefined;
  readonly namespace: string | undefined;
  readonly redactEnv: boolean;
}

export interface ExportResult {
  /** Each file: its name and text (with --out, written there). */
  readonly files: { name: string; text: string }[];
  readonly notes: Note[];
  readonly written: string[];
}

const yamlOf = (doc: unknown) => stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false });

export function exportDefinitions(ctx: Context, format: ExportFormat, opts: ExportOptions): ExportResult {
  const defs: ProcessDef[] = opts.names.length > 0 ? [...new Set(opts.names)].map((n) => requireDef(ctx, n)) : supervisedDefs(ctx);
  if (defs.length === 0) throw new UserError('nothing to export: the registry has no (valid) processes.');
  const folder = dirname(ctx.registry.path);
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(folder, p));
  let files: { name: string; text: string }[];
  let notes: Note[];
  if (format === 'systemd') {
    ({ files, notes } = exportSystemd(defs, {
      mode: opts.system ? 'system' : 'user', version: opts.systemdVersion ?? machineSystemdVersion(),
      cwdOf: (d) => abs(d.cwd ?? '.'), envFileOf: (d) => (d.envFile ? abs(d.envFile) : undefined), redactEnv: opts.redactEnv,
    }));
  } else if (format === 'k8s') {
    if (!opts.image) throw new UserError('k8s needs --image IMAGE: the container image each process runs in.', 2);
    const res = exportK8s(defs, { image: opts.image, namespace: opts.namespace, redactEnv: opts.redactEnv });
    notes = res.notes;
    // One file per process (its workload and Service), or one multi-document stream.
    const byProcess = new Map<string, unknown[]>();
    for (const doc of res.docs) {
      const name = (doc.metadata as { name: string }).name;
      byProcess.set(name, [...(byProcess.get(name) ?? []), doc]);
    }
    files = [...byProcess].map(([name, docs]) => ({ name: `${name}.yaml`, text: docs.map(yamlOf).join('---\n') }));
  } else {
    const res = exportCompose(defs, { image: opts.image, redactEnv: opts.redactEnv });
    notes = res.notes;
    files = [{ name: 'compose.yaml', text: yamlOf(res.doc) }];
  }
  const written: string[] = [];
  if (opts.out) {
    // A folder of the user's that no one else can write; each file by a new name, renamed over the old.
    prepareOwnFolder(opts.out);
    for (const f of files) {
      const path = join(opts.out, f.name);
      writeExportedFile(path, f.text);
      written.push(path);
    }
  }
  return { files, notes, written };
}
