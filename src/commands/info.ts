import { defineCommand } from '../cli/command.js';
import type { GlobalArgs } from '../cli/wiring.js';

export const infoCommand = defineCommand<GlobalArgs, Record<string, string | number | string[]>>({
  command: 'info',
  describe: 'Where things are: registry, state, logs, alert files, ledger',
  builder: (y) => y.example('$0 info --json', ''),
  run: async (_argv, ctx) => {
    const { RUNNER_PATH, CLI_PATH } = await import('../effects/spawn.js');
    const { detectSession, lingerEnabled } = await import('../effects/session-scope.js');
    const session = detectSession(ctx.env);
    const { lastNotifyFailure } = await import('../app/alerts.js');
    const { describeChannels } = await import('../app/notify.js');
    const linger = lingerEnabled();
    const { ledgerKeyPath } = await import('../effects/ledger-key.js');
    const { userAlertFlag, userIndexFile } = await import('../effects/user-index.js');
    return {
      registry: ctx.registry.path,
      state_dir: ctx.store.dir,
      log_dir: ctx.store.path('logs'),
      alert_flag: ctx.alertFlag,
      alert_text: ctx.alertText,
      // Exists while any registry of yours has an unacknowledged alert: the one file an agent checks.
      user_alert_flag: userAlertFlag(ctx.env),
      registry_index: userIndexFile(ctx.env),
      ledger: ctx.store.path('ledger'),
      // Signs the ledger; kept outside the state directory (back it up, never share it).
      ledger_key: ledgerKeyPath(ctx.env),
      processes: ctx.registry.defs.size,
      pguard: CLI_PATH,
      runner: RUNNER_PATH,
      node: process.execPath,
      // How started processes outlive the session that started them.
      session_mode: session.mode,
      // Each channel with where its secrets come from (never their values): `pguard notify test` tries them.
      notify_channels: describeChannels(ctx),
      last_notify_failure: lastNotifyFailure(ctx) ?? 'none',
      linger: linger === null ? 'no systemd' : linger ? 'enabled' : 'disabled (loginctl enable-linger keeps your processes after logout)',
    };
  },
  render: (info, out) => {
    const width = Math.max(...Object.keys(info).map((k) => k.length));
    for (const [k, v] of Object.entries(info)) {
      if (!Array.isArray(v)) { out.printLine(`${k.padEnd(width)}  ${v}`); continue; }
      out.printLine(`${k.padEnd(width)}  ${v.length === 0 ? 'none' : v[0]}`);
      for (const line of v.slice(1)) out.printLine(`${''.padEnd(width)}  ${line}`);
    }
  },
});
