import type { CommandModule } from 'yargs';
import { defineGroup } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';

interface Args extends GlobalArgs { dir: string }

const installCommand: CommandModule<GlobalArgs, Args> = {
  command: 'install <dir>',
  describe: 'Copy the agent skill (SKILL.md) into DIR/pguard/',
  builder: (y) => y.positional('dir', { type: 'string', demandOption: true }).example('$0 skill install ~/.claude/skills', ''),
  handler: async (argv) => {
    const { copyFileSync, mkdirSync } = await import('node:fs');
    const { join, resolve } = await import('node:path');
    const { PACKAGE_ROOT } = await import('../effects/spawn.js');
    const { printJson, printLine } = await import('../cli/output.js');
    const target = join(resolve(argv.dir), 'pguard');
    mkdirSync(target, { recursive: true });
    const file = join(target, 'SKILL.md');
    copyFileSync(join(PACKAGE_ROOT, 'templates', 'agent', 'SKILL.md'), file);
    if (argv.json) return printJson({ installed: file });
    printLine(`installed ${file}`);
  },
};

export const skillCommand = defineGroup('skill <action>', 'The agent skill that teaches an AI agent to use pguard: install <dir>', [installCommand]);
