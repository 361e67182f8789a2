import type { CommandModule } from 'yargs';
import type { GlobalArgs } from '../cli/wiring.js';

interface Args extends GlobalArgs { 'allow-control'?: boolean; 'allow-register'?: boolean }

export const mcpCommand: CommandModule<GlobalArgs, Args> = {
  command: 'mcp',
  describe: 'Serve pguard to an AI agent as MCP tools on stdin/stdout (its client starts this); control and register only when allowed',
  builder: (y) =>
    y
      .option('allow-control', { type: 'boolean', describe: 'Offer start, stop, restart and rollback' })
      .option('allow-register', { type: 'boolean', describe: 'Offer register and deregister (they run arbitrary commands)' })
      .example('$0 mcp --registry /abs/path/.process-registry.json --allow-control', 'in the client\'s MCP configuration'),
  handler: async (argv) => {
    // The registry is found once; it is read afresh at each call, and a broken one is a tool error, never an exit.
    const { contextFor, reloader, resolveRegistryPath } = await import('../cli/wiring.js');
    const { readRegistry } = await import('../effects/registry-file.js');
    const { resolveStateDir } = await import('../effects/state-store.js');
    const { packageVersion } = await import('../cli/version.js');
    const { serveMcp } = await import('../mcp/server.js');
    // No registry found: serve all the same (an agent's client shows only "Connection closed" for a
    // server that exits), every tool answering the no-registry error and how to pass --registry.
    let path: string;
    try {
      path = resolveRegistryPath(argv);
    } catch (err) {
      const { UserError } = await import('../errors.js');
      if (!(err instanceof UserError) || err.code !== 'no-registry') throw err;
      const missing = new UserError(`${err.message} An MCP server starts in the client's folder, not yours: give it the registry in the client's MCP configuration, \`pguard mcp --registry /abs/path/.process-registry.json\`.`, 2, 'no-registry');
      process.stderr.write(`pguard mcp: ${missing.message}\n`);
      await serveMcp({
        allowControl: argv['allow-control'] ?? false, allowRegister: argv['allow-register'] ?? false,
        load: () => { throw missing; }, version: packageVersion(), log: (line) => process.stderr.write(`${line}\n`),
      });
      return;
    }
    let stateDir: string;
    try {
      stateDir = contextFor(readRegistry(path, { allowIssues: true })).store.dir;
    } catch {
      stateDir = resolveStateDir(path, undefined, process.env);
    }
    await serveMcp({
      allowControl: argv['allow-control'] ?? false,
      allowRegister: argv['allow-register'] ?? false,
      load: reloader(path, stateDir),
      version: packageVersion(),
      log: (line) => process.stderr.write(`${line}\n`),
    });
  },
};
