// The floor for crash recovery: an in-process supervisor that respawns its child the moment it
// exits (child_process.spawn, nothing else), writing each child's PID to a file. What no external
// supervisor can beat on this machine.
import { spawn } from 'node:child_process';
import { writeFileSync, openSync } from 'node:fs';

const [pidFile, logFile, ...command] = process.argv.slice(2);
const out = openSync(logFile, 'a');
const start = () => {
  const child = spawn(command[0], command.slice(1), { stdio: ['ignore', out, out] });
  writeFileSync(pidFile, String(child.pid));
  child.on('exit', start);
};
start();
