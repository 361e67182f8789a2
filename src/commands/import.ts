import { defineCommand } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';
import type { ImportResult } from '../app/import.js';

interface Args extends GlobalArgs { format: string; file: string; 'dry-run'?: boolean; replace?: boolean; 'allow-eval'?: boolean }

export const importCommand = defineCommand<Args, ImportResult>({
  command: 'import <format> <file>',
  describe: "Add PM2's, process-compose's or supervisord's processes to the registry found (or a new .process-registry.json here), as those tools run them; what cannot be taken over is said on stderr",
  registry: 'create', // into the registry found, or a new one here
  builder: (y) =>
    y
      .positional('format', { type: 'string', choices: ['pm2', 'process-compose', 'supervisord'], demandOption: true })
      .positional('file', { type: 'string', demandOption: true, describe: 'pm2: ecosystem.config.js/.cjs/.mjs/.json, process.yml, or `pm2 jlist` output; process-compose.yaml; supervisord.conf (and the files its [include] names)' })
      .option('dry-run', { type: 'boolean', describe: 'Show what would be added; write nothing' })
      .option('replace', { type: 'boolean', describe: 'Overwrite processes of the same name' })
      .option('allow-eval', { type: 'boolean', describe: 'pm2: run an ecosystem .js file with Node when it is more than a literal' })
      .example('$0 import pm2 ecosystem.config.js --dry-run', '')
      .example('$0 import supervisord /etc/supervisor/conf.d/app.conf', ''),
  run: async (argv, ctx) => {
    const { importDefinitions } = await import('../app/import.js');
    const { describeNote } = await import('../core/export-common.js');
    const res = await importDefinitions(ctx, argv.format as 'pm2', argv.file, { dryRun: argv['dry-run'] ?? false, replace: argv.replace ?? false, allowEval: argv['allow-eval'] ?? false });
    if (res.read === 'evaluated') process.stderr.write(`pguard import: ran ${argv.file} with Node to read it (--allow-eval)\n`);
    for (const n of res.notes) process.stderr.write(`pguard import: ${describeNote(n)}\n`);
    for (const w of res.warnings ?? []) process.stderr.write(`pguard: warning: ${w}\n`);
    // Accepted (the registry may be shared with root), and said once for all of them.
    const { describeForeignUsers } = await import('../effects/run-as.js');
    const foreign = describeForeignUsers(res.processes.map((p) => ({ name: p.name, user: p.entry.user })));
    if (foreign) process.stderr.write(`pguard import: note: ${foreign}\n`);
    return res;
  },
  render: (res, out) => {
    const verb = { added: ['would add', 'added'], replaced: ['would replace', 'replaced'], unchanged: ['unchanged', 'unchanged'], conflict: ['would not replace', 'not replaced'] } as const;
    for (const p of res.processes) {
      const { command, ...rest } = p.entry;
      const more = Object.entries(rest).map(([k, v]) => `${k} ${Array.isArray(v) && k === 'env' ? v.join(',') : JSON.stringify(v)}`);
      const why = p.status === 'conflict' ? ' [already in the registry, different: needs --replace]' : '';
      out.printLine(`${verb[p.status][res.dry_run ? 0 : 1]} ${p.name}: ${JSON.stringify(command)}${more.length ? ` (${more.join(', ')})` : ''}${why}`);
    }
    const replaced = res.processes.filter((p) => p.status === 'replaced').map((p) => p.name);
    if (res.dry_run) out.printLine(`dry run: nothing written to ${res.registry}`);
    else out.printLine(`${res.processes.length} process${res.processes.length === 1 ? '' : 'es'} in ${res.registry}; start them with \`pguard start --all\``);
    if (!res.dry_run && replaced.length > 0) out.printLine(`(a running instance keeps its old definition until \`pguard restart ${replaced.join(' ')}\`)`);
  },
});
