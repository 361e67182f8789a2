import { defineCommand } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';
import type { ExportResult } from '../app/export.js';

interface Args extends GlobalArgs {
  format: string; names: string[]; out?: string; system?: boolean; user?: boolean; 'systemd-version'?: number;
  image?: string; namespace?: string; 'redact-env'?: boolean; 'env-values'?: boolean;
}

export const exportCommand = defineCommand<Args, ExportResult>({
  command: 'export <format> [names..]',
  describe: 'Write the processes as systemd units, Kubernetes manifests or a compose.yaml (and say what the target cannot express)',
  registry: 'tolerant',
  builder: (y) =>
    y
      .positional('format', { type: 'string', choices: ['systemd', 'k8s', 'compose'], demandOption: true })
      .positional('names', { type: 'string', array: true, default: [] as string[], describe: 'Only these (default: every process)' })
      .option('out', { type: 'string', describe: 'A folder: one file per unit (default: stdout)' })
      .option('user', { type: 'boolean', describe: 'systemd: user units (the default)' })
      .option('system', { type: 'boolean', describe: 'systemd: system units' })
      .option('systemd-version', { type: 'number', describe: "systemd: the target's version (default: this machine's, else 252)" })
      .option('image', { type: 'string', describe: 'k8s (required), compose: the container image the processes run in' })
      .option('namespace', { type: 'string', describe: 'k8s: the namespace' })
      .option('redact-env', { type: 'boolean', describe: 'env values become references (a Secret, ${VAR}, an EnvironmentFile): the default' })
      .option('env-values', { type: 'boolean', describe: 'write env values as they are instead (they may be secrets)' })
      .example('$0 export systemd --out ~/.config/systemd/user', '')
      .example('$0 export k8s --image python:3.12 --namespace bots > bots.yaml', '')
      .example('$0 export compose --image node:22 > compose.yaml', 'env values as ${VAR} references'),
  run: async (argv, ctx) => {
    const { exportDefinitions } = await import('../app/export.js');
    const { UserError } = await import('../errors.js');
    if (argv['env-values'] && argv['redact-env']) throw new UserError('--redact-env and --env-values contradict each other: choose one.', 2);
    const { describeNote } = await import('../core/export-common.js');
    const res = exportDefinitions(ctx, argv.format as 'systemd', {
      names: argv.names, out: argv.out, system: argv.system ?? false, systemdVersion: argv['systemd-version'],
      // Env values may be secrets: references unless asked for the values (never both).
      image: argv.image, namespace: argv.namespace, redactEnv: !(argv['env-values'] ?? false),
    });
    for (const n of res.notes) process.stderr.write(`pguard export: ${describeNote(n)}\n`);
    return res;
  },
  render: (res, out, argv) => {
    if (res.written.length > 0) {
      for (const f of res.written) out.printLine(`wrote ${f}`);
      return;
    }
    if (argv.format === 'systemd') {
      for (const f of res.files) process.stdout.write(`### ${f.name}\n${f.text}\n`);
    } else {
      process.stdout.write(res.files.map((f) => f.text).join('---\n'));
    }
  },
});
