import { describe, expect, it } from 'vitest';
import { describeNote, dnsLabel, splitSimpleCommand } from '../../src/core/export-common.js';
import { exportSystemd, systemdWord } from '../../src/core/export-systemd.js';
import { literalDepth, yamlDepth } from '../../src/core/import/depth.js';
import { importPm2 } from '../../src/core/import/pm2.js';
import { importProcessCompose } from '../../src/core/import/process-compose.js';
import { importSupervisord as importSupervisordFiles, parseIni } from '../../src/core/import/supervisord.js';

const importSupervisord = (text: string) => importSupervisordFiles([{ path: 'supervisord.conf', text, here: '/etc/supervisor' }], { here: '/etc/supervisor', env: {}, hostname: 'host' });
import { readExportedLiteral } from '../../src/core/js-literal.js';
import { describeProbe, shownUrl } from '../../src/core/probes.js';
import { exportCompose } from '../../src/core/export-compose.js';
import { exportK8s } from '../../src/core/export-k8s.js';
import { validateRegistry } from '../../src/core/validate.js';
import type { ProcessDef } from '../../src/core/schema.js';

const defsOf = (raw: Record<string, unknown>): ProcessDef[] => [...validateRegistry(raw).defs.values()];

describe('splitting a command as the runner does', () => {
  it.each([
    ['node server.js --port 8080', ['node', 'server.js', '--port', '8080']],
    ['/usr/bin/python3 -u bot.py', ['/usr/bin/python3', '-u', 'bot.py']],
    ['cd app && node x', null], ['echo "$HOME"', null], ['PORT=1 node x', null], ['exec node x', null], ['a | b', null], ['ls *.js', null],
  ])('%j -> %j', (cmd, words) => expect(splitSimpleCommand(cmd)).toEqual(words));

  it('makes DNS labels and quotes systemd words', () => {
    expect(dnsLabel('My_Bot.v2')).toBe('my-bot-v2');
    expect(systemdWord('plain')).toBe('plain');
    expect(systemdWord('100% $HOME "x"')).toBe('"100%% $$HOME \\"x\\""');
  });
});

describe('exportSystemd', () => {
  it('writes a unit with everything systemd can express, and a note for what it cannot', () => {
    const [db, api] = defsOf({
      db: { command: 'postgres -D /data', max_memory_mb: 512, stop_signal: 'SIGINT', kill_timeout: 20, max_restarts: 3, min_uptime: 30, restart_cooldown: 5, health: [{ type: 'tcp', port: 5432 }] },
      api: { command: 'cd app && exec node x', depends_on: ['db'], env: { TOKEN: 's3cret' }, backoff: 'exponential', duration_min: 10, auto_restart: false },
    });
    const res = exportSystemd([db!, api!], { mode: 'user', version: 252, cwdOf: () => '/srv', envFileOf: () => undefined, redactEnv: true });
    expect(res.files.map((f) => f.name)).toEqual(['pguard-db.service', 'pguard-api.service', 'pguard.target']);
    expect(res.files[0]!.text).toBe([
      '# pguard-db.service: exported by pguard', '[Unit]', 'Description=pguard: db', 'PartOf=pguard.target', 'StartLimitIntervalSec=120', 'StartLimitBurst=4', '',
      '[Service]', 'Type=simple', 'WorkingDirectory=/srv', 'ExecStart=postgres -D /data', 'Restart=on-failure', 'RestartSec=5', 'RestartPreventExitStatus=78',
      'KillSignal=SIGINT', 'TimeoutStopSec=20', 'KillMode=control-group', 'MemoryMax=512M', '', '[Install]', 'WantedBy=pguard.target', '',
    ].join('\n'));
    const apiText = res.files[1]!.text;
    expect(apiText).toContain('After=pguard-db.service\nRequires=pguard-db.service');
    expect(apiText).toContain('ExecStart=/bin/sh -c "cd app && exec node x"');
    expect(apiText).toContain('Restart=no');
    expect(apiText).toContain('RuntimeMaxSec=900');
    expect(apiText).not.toContain('s3cret');
    expect(res.notes.map(describeNote)).toEqual([
      'db.health: systemd has no health probes: run `pguard watch --foreground` beside these units (or keep pguard) for them',
      'api.env: values not exported (they may be secrets): put TOKEN in ~/.config/pguard/api.env (or export with --env-values)',
      'api.backoff: exponential backoff needs systemd 254 (RestartSteps=); for systemd 252 the delay stays 30 s',
      'api.duration_min: systemd ends a run at RuntimeMaxSec (1.5 x duration_min here), where pguard only alerts (overrun); and a clean exit 0 before 80% of it, which pguard restarts as premature, is not restarted by Restart=on-failure',
    ]);
    expect(res.files[2]!.text).toContain('Wants=pguard-db.service pguard-api.service\n\n[Install]\nWantedBy=default.target');
  });
});

describe('reading an ecosystem file without running it', () => {
  it('reads literals: quotes, comments, trailing commas, arrays, nesting', () => {
    expect(readExportedLiteral(`// hi\nmodule.exports = { apps: [ { name: 'a', 'x-y': "b\\n", n: -1.5e2, ok: true, no: null, t: \`plain\`, }, ], /* c */ }`)).toEqual({
      ok: true, value: { apps: [{ name: 'a', 'x-y': 'b\n', n: -150, ok: true, no: null, t: 'plain' }] },
    });
    expect(readExportedLiteral('export default { apps: [] }')).toEqual({ ok: true, value: { apps: [] } });
    // The value a top-level const holds, exported by its name (a common shape of real files).
    expect(readExportedLiteral("const config = { apps: [{ name: 'api', script: 'server.js' }] };\nmodule.exports = config;\n")).toEqual({
      ok: true, value: { apps: [{ name: 'api', script: 'server.js' }] },
    });
  });

  it('names a syntax error with its line and column (a missing comma is not "something other than a literal")', () => {
    expect(readExportedLiteral("module.exports = {\n  apps: [{\n    name: 'api'\n    script: 'server.js'\n  }]\n}\n")).toEqual({
      ok: false, syntax: true, why: 'a syntax error at line 4, column 5: Unexpected token',
    });
  });

  it.each([
    ["module.exports = { apps: [{ env: { PORT: process.env.PORT } }] }", '`process.env.PORT` (line 1, column 42) is code, not a literal'],
    ["const x = require('./x'); module.exports = x", "`require('./x')` (line 1, column 11) is code, not a literal"],
    ["let x = { apps: [] }; module.exports = x", '`x` (line 1, column 40) is code, not a literal'],
    ['module.exports = { apps: [{ name: `a-${n}` }] }', 'a template string with ${...} in it (line 1, column 35)'],
    ['module.exports = { run() { return 1 } }', '"run" is not followed by a value (a shorthand or a method)'],
    ['module.exports = { __proto__: { polluted: 1 } }', 'a __proto__ key'],
    ['console.log(1)', 'no `module.exports =` or `export default` in it'],
    ["// module.exports = { apps: [] }\nconst x = 'export default {}'; /* module.exports = {} */", 'no `module.exports =` or `export default` in it'],
    [`module.exports = ${'['.repeat(65)}${']'.repeat(65)}`, 'nested more than 64 levels deep'],
  ])('gives up on %j: %s', (src, why) => expect(readExportedLiteral(src)).toEqual({ ok: false, why }));
});

describe('bounding a file before it is parsed (issue 22, point 7)', () => {
  it('counts JSON and literal nesting, not brackets in strings or comments', () => {
    expect(literalDepth('{"a": [1, {"b": "[[[["}]} // [[[[\n/* {{{{ */')).toBe(3);
    expect(literalDepth('['.repeat(1000), 64)).toBe(65);
  });

  it('counts YAML nesting: block levels, sequence markers and flow brackets, not block scalars or quotes', () => {
    expect(yamlDepth('processes:\n  web:\n    command: |\n      [[[[ x\n        {{{{\n    environment: ["A=[", \'B\']\n')).toBe(4);
    expect(yamlDepth('- - - - x\n')).toBe(5);
    expect(yamlDepth(`a: ${'['.repeat(100)}`, 64)).toBe(65);
  });
});

describe('importers', () => {
  it('maps a PM2 app: interpreter, args, units (ms, "10s", "300M"), with a note for cluster mode and env blocks', () => {
    const res = importPm2({ apps: [{ name: 'api', script: './s.js', args: ['--port', '80 80'], min_uptime: '10s', restart_delay: 1500, max_memory_restart: '300M', kill_timeout: 3000, exec_mode: 'cluster', env_production: {} }] });
    expect(res.entries).toEqual([{ name: 'api', entry: { command: "node ./s.js --port '80 80'", max_restarts: 16, min_uptime: 10, restart_cooldown: 1.5, max_memory_mb: 300, kill_timeout: 3 } }]);
    expect(res.notes.map(describeNote)).toEqual([
      "api.env_production: PM2's per-environment block is not imported (pguard has one env; --env production chose it in PM2)",
      "api.exec_mode: PM2's cluster mode (one port shared by workers) has no equivalent: the app runs once, in fork mode",
    ]);
  });

  it('maps process-compose: probes, dependencies by condition, availability, shutdown signal by number', () => {
    const res = importProcessCompose({ processes: { 'my app': { command: 'x', depends_on: { db: { condition: 'process_healthy' } }, availability: { restart: 'no' }, shutdown: { signal: 15, timeout_seconds: 5 }, liveness_probe: { http_get: { host: 'localhost', port: 80, path: '/h' }, period_seconds: 2 } } } });
    expect(res.entries).toEqual([{ name: 'my-app', entry: { command: 'x', depends_on: ['db'], auto_restart: false, success_exit_codes: [0], health: [{ type: 'http', url: 'http://localhost:80/h', interval: 2 }], stop_signal: 'SIGTERM', kill_timeout: 5 } }]);
    expect(res.notes.map(describeNote)).toEqual(['my-app.name: named "my-app" (was "my app": pguard names are letters, digits, . _ -)']);
  });

  it('reads supervisord INI (continuations, inline comments) and orders programs by priority', () => {
    expect(parseIni('[program:a]\ncommand=x --y ; comment\n  --z\n;c\nkey: v')).toEqual([{ section: 'program:a', line: 1, values: { command: 'x --y\n--z', key: 'v' } }]);
    const res = importSupervisord('[program:b]\ncommand=b\npriority=20\nautorestart=false\n[program:a]\ncommand=a\npriority=10\nenvironment=K="v,1",L=2\nstopsignal=TERM\n');
    expect(res.entries.map((e) => e.name)).toEqual(['a', 'b']);
    // supervisord's defaults written out: autorestart=unexpected with exitcodes=0, startsecs=1, startretries=3, stopwaitsecs=10.
    const defaults = { autostart: true, min_uptime: 1, max_restarts: 3, restart_cooldown: 1, kill_timeout: 10 };
    expect(res.entries[0]!.entry).toEqual({ command: 'a', env: { K: 'v,1', L: '2' }, success_exit_codes: [0], stop_signal: 'SIGTERM', ...defaults });
    expect(res.entries[1]!.entry).toEqual({ command: 'b', auto_restart: false, success_exit_codes: [0], ...defaults });
  });

  it('maps schedules and users: process-compose schedule, PM2 cron_restart (a Quartz `?` refused by name), uid/gid, supervisord user=', () => {
    const pc = importProcessCompose({ processes: { backup: { command: './backup.sh', schedule: { interval: '30m', run_on_start: true } }, nightly: { command: 'x', schedule: { cron: '0 2 * * *', timezone: 'UTC' } } } });
    expect(pc.entries.map((e) => e.entry.schedule)).toEqual(['every 30m', '0 2 * * *']);
    expect(pc.notes.map(describeNote)).toEqual([
      'backup.schedule.run_on_start: not imported: `pguard start --now` runs it at once',
      'nightly.schedule.timezone: pguard fires schedules in local time',
    ]);
    // Written by people (a Quartz expression, seen in public ecosystem files): PM2's croner takes `?`, pguard does not.
    const pm2 = importPm2({ apps: [
      { name: 'exporter', script: 'src/index.ts', cron_restart: '0 0 */4 ? * *' },
      { name: 'daily', script: 'job.sh', cron_restart: '0 3 * * *', autorestart: false, uid: 'www-data', gid: 'www-data' },
      { name: 'grouponly', script: 'x.js', gid: 33 },
      { name: 'placeholder', script: 'x.js', uid: '#user#' },
    ] });
    expect(pm2.entries.map((e) => [e.name, e.entry.restart_schedule, e.entry.schedule, e.entry.user, e.entry.group])).toEqual([
      ['exporter', undefined, undefined, undefined, undefined],
      ['daily', undefined, '0 3 * * *', 'www-data', 'www-data'],
      ['grouponly', undefined, undefined, undefined, undefined],
    ]);
    expect(pm2.notes.map(describeNote).filter((n) => /cron_restart|uid|gid/.test(n))).toEqual([
      expect.stringMatching(/^exporter\.cron_restart: "0 0 \*\/4 \? \* \*": .+; not imported$/),
      'daily.cron_restart: with autorestart false this is a job: imported as schedule (PM2 also runs it once when it is started: pguard start --now)',
      'grouponly.gid: group 33 without a uid: pguard sets a group only with a user; set user too',
      'placeholder.uid: "#user#" is not a user or group: not imported (it would run as whoever runs pguard)',
    ]);
    const sv = importSupervisord('[program:w]\ncommand=php artisan queue:work\nuser=www-data\n[program:t]\ncommand=x\nuser=#user#\n');
    expect(sv.entries.map((e) => [e.name, e.entry.user])).toEqual([['w', 'www-data']]);
    expect(sv.notes.map(describeNote)).toContain('t.user: "#user#" is not a user name or id: supervisord refuses it; not imported (it would run as whoever runs pguard)');
  });

  // A probe URL may hold a password or a token (noticed in an earlier session, shown by status and
  // written into compose and Kubernetes files): shown as ***, and kept out of an export.
  it('a probe URL with a secret in it is shown redacted, and exported by reference', () => {
    expect(shownUrl('http://admin:s3cret@127.0.0.1:8080/health?token=abc&x=1')).toEqual({ shown: 'http://admin:***@127.0.0.1:8080/health?token=***&x=1', secret: true });
    expect(shownUrl('http://127.0.0.1:8080/health?verbose=1')).toEqual({ shown: 'http://127.0.0.1:8080/health?verbose=1', secret: false });
    const { defs } = validateRegistry({ web: { command: 'x', health: [{ type: 'http', url: 'https://u:s3cret@127.0.0.1:8443/h?api_key=abc' }] } });
    const web = defs.get('web')!;
    expect(describeProbe(web.health[0]!)).toBe('http https://u:***@127.0.0.1:8443/h?api_key=***');
    const compose = JSON.stringify(exportCompose([web], { image: 'debian:12', redactEnv: true }));
    const k8s = JSON.stringify(exportK8s([web], { image: 'debian:12', redactEnv: true, namespace: undefined }));
    for (const out of [compose, k8s]) {
      expect(out).not.toMatch(/s3cret|abc/);
      expect(out).toContain('PGUARD_PROBE_URL');
    }
    expect(JSON.stringify(exportCompose([web], { image: 'debian:12', redactEnv: false }))).toContain('s3cret'); // --env-values
  });

  it('a file supervisord refuses is refused with its line, and never with the line\'s text (an [include] may name any file)', () => {
    const files = [
      { path: 'supervisord.conf', text: '[program:a]\ncommand=x\n[include]\nfiles=/root/.ssh/id_rsa\n', here: '/etc/supervisor' },
      { path: '/root/.ssh/id_rsa', text: '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\n', here: '/root/.ssh' },
    ];
    const res = importSupervisordFiles(files, { here: '/etc/supervisor', env: {}, hostname: 'h' });
    expect(res.entries).toEqual([]);
    expect(res.refused).toBe('/root/.ssh/id_rsa: line 1: a setting before any [section]; supervisord refuses the file (Python\'s configparser)');
    const junk = importSupervisordFiles([{ path: 'x.conf', text: '[program:a]\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmU\n', here: '/' }], { here: '/', env: {}, hostname: 'h' });
    expect(junk.refused).toBe('x.conf: line 2: neither a [section] nor a key = value (the line is not shown: it may hold a secret); supervisord refuses the file (Python\'s configparser)');
  });
});
