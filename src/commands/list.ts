// Every command, in help order. Each module imports its use case lazily in its handler, so
// `pguard status` does not load what `pguard cron` needs (cron starts the CLI every few minutes).
import type { AnyCommand } from '../cli/command.js';
import { registerCommand } from './register.js';
import { deregisterCommand } from './deregister.js';
import { startCommand } from './start.js';
import { stopCommand } from './stop.js';
import { restartCommand } from './restart.js';
import { statusCommand } from './status.js';
import { logsCommand } from './logs.js';
import { infoCommand } from './info.js';
import { healthcheckCommand } from './healthcheck.js';
import { alertsCommand } from './alerts.js';
import { cronCommand } from './cron.js';
import { bootCommand } from './boot.js';
import { skillCommand } from './skill.js';
import { onExitCommand } from './on-exit.js';
import { notifyCommand } from './notify.js';
import { wakeCommand } from './wake.js';
import { heartbeatCommand } from './heartbeat.js';
import { watchCommand } from './watch.js';
import { historyCommand } from './history.js';
import { rollbackCommand } from './rollback.js';
import { auditCommand } from './audit.js';
import { waitCommand } from './wait.js';
import { dashboardCommand } from './dashboard.js';
import { mcpCommand } from './mcp.js';
import { exportCommand } from './export.js';
import { importCommand } from './import.js';
import { fireCommand } from './fire.js';

// Each module is generic in its argument types; the list holds modules of different ones.
export const COMMANDS: AnyCommand[] = [
  registerCommand, deregisterCommand, startCommand, stopCommand, restartCommand, statusCommand, waitCommand, logsCommand,
  infoCommand, heartbeatCommand, healthcheckCommand, watchCommand, historyCommand, rollbackCommand, auditCommand, alertsCommand, dashboardCommand, mcpCommand, exportCommand, importCommand, cronCommand, bootCommand, skillCommand, onExitCommand, notifyCommand, wakeCommand, fireCommand,
];
