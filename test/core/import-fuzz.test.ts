// No input ends in exit 70 (issue 24): each importer, given random files of its format (keys it
// knows, with values of any type, and keys it does not), returns entries and notes without
// throwing, and every entry it returns is one the registry takes, or the import would be refused
// whole for one bad value.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { importPm2 } from '../../src/core/import/pm2.js';
import { importProcessCompose } from '../../src/core/import/process-compose.js';
import { importSupervisord } from '../../src/core/import/supervisord.js';
import { validateEntry } from '../../src/core/validate.js';

const PM2_KEYS = ['name', 'script', 'exec', 'command', 'args', 'interpreter', 'exec_interpreter', 'node_args', 'interpreter_args', 'cwd', 'env',
  'env_production', 'env_file', 'port', 'autorestart', 'max_restarts', 'min_uptime', 'restart_delay', 'exp_backoff_restart_delay', 'max_memory_restart',
  'kill_timeout', 'stop_exit_codes', 'instances', 'exec_mode', 'watch', 'cron_restart', 'cron', 'out_file', 'uid', 'user', 'gid', 'wait_ready', 'zzz'];
const PC_KEYS = ['command', 'entrypoint', 'working_dir', 'environment', 'env_file', 'depends_on', 'availability', 'readiness_probe', 'liveness_probe',
  'shutdown', 'disabled', 'vars', 'replicas', 'success_exit_codes', 'schedule', 'is_daemon', 'description', 'zzz'];
const SV_KEYS = ['command', 'process_name', 'numprocs', 'numprocs_start', 'priority', 'autostart', 'startsecs', 'startretries', 'autorestart', 'exitcodes',
  'stopsignal', 'stopwaitsecs', 'stopasgroup', 'user', 'environment', 'directory', 'stdout_logfile_maxbytes', 'stdout_logfile_backups', 'zzz'];

/** A value of any JSON type, leaning to the shapes these fields take (numbers, units, lists). */
const value = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom('10s', '500M', '-1', 'max', '1.5', 'a b', 'npm run start', '%(program_name)s', '0,2', 'no', 'always', 'on_failure', '*/5 * * * *'),
  fc.integer({ min: -3, max: 300 }),
);
const app = (keys: string[]) => fc.dictionary(fc.constantFrom(...keys), value, { maxKeys: 10 });

function entriesValid(imported: { entries: { name: string; entry: Record<string, unknown> }[] }): void {
  for (const { name, entry } of imported.entries) expect(validateEntry(name, entry), JSON.stringify(entry)).toEqual([]);
}

describe('importers on random files', () => {
  it('pm2: no throw; every entry valid', () => {
    fc.assert(fc.property(fc.oneof(fc.array(app(PM2_KEYS), { maxLength: 4 }).map((apps) => ({ apps })), app(PM2_KEYS), fc.anything()), (input) => {
      entriesValid(importPm2(input));
    }), { numRuns: 2000 });
  });

  it('process-compose: no throw; every entry valid', () => {
    const doc = fc.record({
      processes: fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.oneof(app(PC_KEYS), value), { maxKeys: 4 }),
      environment: value, vars: value, disable_env_expansion: fc.boolean(),
    }, { requiredKeys: ['processes'] });
    fc.assert(fc.property(fc.oneof(doc, fc.anything()), (input) => {
      entriesValid(importProcessCompose(input));
    }), { numRuns: 2000 });
  });

  it('supervisord: no throw on any text; every entry valid', () => {
    const line = fc.oneof(
      fc.constantFrom('[program:a]', '[program:b c]', '[group:g]', '[include]', '[supervisord]', '[eventlistener:e]', '[program:%(x)s]', 'programs=a,b', '  continued', ''),
      fc.tuple(fc.constantFrom(...SV_KEYS), value).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`),
      fc.string({ maxLength: 20 }),
    );
    fc.assert(fc.property(fc.array(line, { maxLength: 12 }), (lines) => {
      const text = lines.join('\n');
      entriesValid(importSupervisord([{ path: 'x.conf', text, here: '/etc/supervisor' }], { here: '/etc/supervisor', env: { HOME: '/root' }, hostname: 'h' }));
    }), { numRuns: 3000 });
  });
});
