// `pguard cron install | uninstall | status` with Task Scheduler (Windows), run against a fake
// schtasks.exe: it keeps tasks in a map and reads the XML file pguard hands it as schtasks does
// (UTF-16 LE with a BOM), so the real effect module (file writing, arguments, clean-up) runs.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cronStatus, installCron, renderSchedule, uninstallCron, type CronPorts } from '../../src/app/cron.js';
import type { Context } from '../../src/app/context.js';
import { parseTaskXml, planTaskXml, splitWindowsArgs } from '../../src/core/schtasks-plan.js';
import { validateRegistry } from '../../src/core/validate.js';
import { decodeOutput, schtasksPath, schtasksScheduler, type SchtasksResult } from '../../src/effects/schtasks.js';
import { StateStore } from '../../src/effects/state-store.js';
import { sha256 } from '../../src/effects/hash.js';

const dirs: string[] = [];
afterEach(() => { while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true }); });

function fakeContext(env: NodeJS.ProcessEnv = { USERNAME: 'ana', USERDOMAIN: 'DESKTOP-1' }, registryName = '.process-registry.json'): Context {
  const dir = mkdtempSync(join(tmpdir(), 'pguard-sched-'));
  dirs.push(dir);
  const { defs, settings } = validateRegistry({});
  const store = new StateStore(join(dir, 'state'));
  store.init();
  return {
    registry: { path: join(dir, registryName), text: '{}', data: {}, defs, settings, issues: [] },
    store, clock: { now: () => 0 }, env, alertFlag: join(dir, 'flag'), alertText: join(dir, 'txt'), progress: () => {},
  };
}

const NOT_FOUND: SchtasksResult = { code: 1, stdout: '', stderr: 'ERROR: The system cannot find the file specified.\r\n' };

/** schtasks.exe as far as pguard uses it: /Create /TN N /XML F /F, /Query /TN N /XML, /Delete /TN N /F. */
function fakeSchtasks() {
  const tasks = new Map<string, string>();
  const calls: string[][] = [];
  const files: { path: string; mode: number; bytes: Buffer }[] = [];
  let refuseCreate: string | null = null;
  const run = async (args: readonly string[]): Promise<SchtasksResult> => {
    calls.push([...args]);
    const [verb, tn, name, ...rest] = args;
    expect(tn).toBe('/TN');
    const key = name!.toLowerCase(); // task names are case-insensitive
    switch (verb) {
      case '/Create': {
        expect(rest[0]).toBe('/XML');
        expect(rest[2]).toBe('/F');
        const bytes = readFileSync(rest[1]!);
        files.push({ path: rest[1]!, mode: statSync(rest[1]!).mode & 0o777, bytes });
        if (refuseCreate) return { code: 1, stdout: '', stderr: refuseCreate };
        // schtasks /XML reads UTF-16 LE after its BOM.
        expect([...bytes.subarray(0, 2)]).toEqual([0xff, 0xfe]);
        tasks.set(key, bytes.subarray(2).toString('utf16le'));
        return { code: 0, stdout: `SUCCESS: The scheduled task "${name}" has successfully been created.\r\n`, stderr: '' };
      }
      case '/Query':
        expect(rest).toEqual(['/XML']);
        return tasks.has(key) ? { code: 0, stdout: tasks.get(key)!, stderr: '' } : NOT_FOUND;
      case '/Delete':
        expect(rest).toEqual(['/F']);
        if (!tasks.delete(key)) return NOT_FOUND;
        return { code: 0, stdout: `SUCCESS: The scheduled task "${name}" was successfully deleted.\r\n`, stderr: '' };
      default:
        throw new Error(`unexpected schtasks ${args.join(' ')}`);
    }
  };
  return {
    tasks, calls, files, run,
    refuse: (message: string | null) => { refuseCreate = message; },
    ports: (ctx: Context): CronPorts => ({ tasks: schtasksScheduler({ run, tempDir: ctx.store.dir }) }),
    verbs: () => calls.map((c) => `${c[0]} ${c[2]}`),
  };
}

const idOf = (ctx: Context) => sha256(ctx.registry.path).slice(0, 12);

describe('cron with Task Scheduler', () => {
  it('install registers the healthcheck task every 5 minutes for this registry, from a private UTF-16 file it removes', async () => {
    const ctx = fakeContext();
    const s = fakeSchtasks();
    const res = await installCron(ctx, { every: 5, boot: false }, s.ports(ctx));
    const name = `\\pguard\\healthcheck-${idOf(ctx)}`;
    expect(s.verbs()).toEqual([`/Query ${name}`, `/Create ${name}`, `/Query \\pguard\\boot-${idOf(ctx)}`]);
    expect(res).toMatchObject({ scheduler: 'schtasks', changed: true, daemon_running: null });
    expect(res.lines).toEqual([`${name} (every 5 min): "${process.execPath}" "${join(process.cwd(), 'bin', 'pguard.js')}" healthcheck --registry "${ctx.registry.path}"`]);
    expect(res.tasks).toEqual([{
      name, kind: 'healthcheck', exists: true, ours: true, every: 5, command: process.execPath,
      arguments: `"${join(process.cwd(), 'bin', 'pguard.js')}" healthcheck --registry "${ctx.registry.path}"`, registry: ctx.registry.path,
    }]);
    // The file: in the state directory, 0600, gone afterwards.
    expect(s.files).toHaveLength(1);
    expect(s.files[0]!.path.startsWith(join(ctx.store.dir, 'schtasks-'))).toBe(true);
    expect(s.files[0]!.mode).toBe(0o600);
    expect(existsSync(s.files[0]!.path)).toBe(false);
    const xml = s.tasks.get(name.toLowerCase())!;
    expect(xml.split('\n')[0]).toBe('<?xml version="1.0" encoding="UTF-16"?>');
    const task = parseTaskXml(xml);
    expect(task).toMatchObject({ triggers: ['TimeTrigger'], interval: 5, command: process.execPath, kind: 'healthcheck', registry: ctx.registry.path });
    expect(splitWindowsArgs(task.arguments!)).toEqual([join(process.cwd(), 'bin', 'pguard.js'), 'healthcheck', '--registry', ctx.registry.path]);
    expect(xml).toContain('<UserId>DESKTOP-1\\ana</UserId>');
  });

  it('install twice is one task, and the second changes nothing', async () => {
    const ctx = fakeContext();
    const s = fakeSchtasks();
    await installCron(ctx, { every: 5, boot: false }, s.ports(ctx));
    const again = await installCron(ctx, { every: 5, boot: false }, s.ports(ctx));
    expect(again.changed).toBe(false);
    expect(s.tasks.size).toBe(1);
    expect(s.verbs().filter((v) => v.startsWith('/Create'))).toHaveLength(1);
  });

  it('install with another interval replaces the task (/F), still one', async () => {
    const ctx = fakeContext();
    const s = fakeSchtasks();
    await installCron(ctx, { every: 5, boot: false }, s.ports(ctx));
    const res = await installCron(ctx, { every: 10, boot: false }, s.ports(ctx));
    expect(res.changed).toBe(true);
    expect(s.tasks.size).toBe(1);
    expect(parseTaskXml([...s.tasks.values()][0]!).interval).toBe(10);
  });

  it('--boot adds the logon task running pguard boot; installing without it removes that task again', async () => {
    const ctx = fakeContext();
    const s = fakeSchtasks();
    const res = await installCron(ctx, { every: 5, boot: true }, s.ports(ctx));
    const boot = `\\pguard\\boot-${idOf(ctx)}`;
    expect(res.lines[1]).toBe(`${boot} (at logon): "${process.execPath}" "${join(process.cwd(), 'bin', 'pguard.js')}" boot --registry "${ctx.registry.path}"`);
    const task = parseTaskXml(s.tasks.get(boot.toLowerCase())!);
    expect(task).toMatchObject({ triggers: ['LogonTrigger'], interval: null, kind: 'boot', registry: ctx.registry.path });
    expect(s.tasks.get(boot.toLowerCase())).toContain('<LogonTrigger>\n      <Enabled>true</Enabled>\n      <UserId>DESKTOP-1\\ana</UserId>\n    </LogonTrigger>');
    const without = await installCron(ctx, { every: 5, boot: false }, s.ports(ctx));
    expect(without.changed).toBe(true);
    expect([...s.tasks.keys()]).toEqual([`\\pguard\\healthcheck-${idOf(ctx)}`.toLowerCase()]);
  });

  it('status reports installed, ours and the interval; --json has the crontab keys', async () => {
    const ctx = fakeContext();
    const s = fakeSchtasks();
    expect(await cronStatus(ctx, s.ports(ctx))).toEqual({
      scheduler: 'schtasks', installed: false, lines: [], log: null, daemon_running: null,
      tasks: [
        { name: `\\pguard\\healthcheck-${idOf(ctx)}`, kind: 'healthcheck', exists: false, ours: false, every: null, command: null, arguments: null, registry: null },
        { name: `\\pguard\\boot-${idOf(ctx)}`, kind: 'boot', exists: false, ours: false, every: null, command: null, arguments: null, registry: null },
      ],
    });
    await installCron(ctx, { every: 15, boot: true }, s.ports(ctx));
    const status = await cronStatus(ctx, s.ports(ctx));
    expect(status).toMatchObject({ installed: true, log: null, daemon_running: null });
    expect(status.lines).toHaveLength(2);
    expect(status.lines[0]).toMatch(/^\\pguard\\healthcheck-[0-9a-f]{12} \(every 15 min\): /);
    expect(status.tasks!.map((t) => [t.kind, t.exists, t.ours, t.every])).toEqual([['healthcheck', true, true, 15], ['boot', true, true, null]]);
    expect(status.warning).toBeUndefined();
  });

  it('status says a task of our name that runs something else exists and is not ours', async () => {
    const ctx = fakeContext();
    const s = fakeSchtasks();
    const name = `\\pguard\\healthcheck-${idOf(ctx)}`;
    s.tasks.set(name.toLowerCase(), planTaskXml({ kind: 'healthcheck', every: 5, user: 'x', paths: { node: 'C:\\node.exe', cli: 'C:\\pguard\\bin\\pguard.js', registry: 'C:\\elsewhere\\.process-registry.json' } }, 'UTF-16'));
    const status = await cronStatus(ctx, s.ports(ctx));
    expect(status.installed).toBe(false);
    expect(status.tasks![0]).toMatchObject({ exists: true, ours: false, registry: 'C:\\elsewhere\\.process-registry.json' });
    expect(status.warning).toBe(`the task ${name} does not run pguard healthcheck for ${ctx.registry.path}; \`pguard cron install\` replaces it.`);
    await installCron(ctx, { every: 5, boot: false }, s.ports(ctx));
    expect((await cronStatus(ctx, s.ports(ctx))).installed).toBe(true);
  });

  it("uninstall removes this registry's tasks and no other registry's", async () => {
    const ctx = fakeContext();
    const other = fakeContext();
    const s = fakeSchtasks();
    await installCron(ctx, { every: 5, boot: true }, s.ports(ctx));
    await installCron(other, { every: 5, boot: true }, s.ports(other));
    expect(s.tasks.size).toBe(4);
    const res = await uninstallCron(ctx, s.ports(ctx));
    expect(res).toEqual({ scheduler: 'schtasks', removed: [`\\pguard\\healthcheck-${idOf(ctx)}`, `\\pguard\\boot-${idOf(ctx)}`] });
    expect([...s.tasks.keys()].sort()).toEqual([`\\pguard\\boot-${idOf(other)}`, `\\pguard\\healthcheck-${idOf(other)}`].map((n) => n.toLowerCase()).sort());
    expect((await cronStatus(ctx, s.ports(ctx))).installed).toBe(false);
    expect(await uninstallCron(ctx, s.ports(ctx))).toEqual({ scheduler: 'schtasks', removed: [] });
  });

  it('--watch is refused with Task Scheduler, before anything is registered', async () => {
    const ctx = fakeContext();
    const s = fakeSchtasks();
    await expect(installCron(ctx, { every: 5, boot: false, watch: true }, s.ports(ctx))).rejects.toThrow(
      'cron install --watch is not supported with Task Scheduler yet (the watcher is not verified on Windows). Install without --watch: the healthcheck task is the backstop.',
    );
    expect(s.calls).toEqual([]);
  });

  it('a refused /Create is an error naming schtasks and what it said, and the file is removed all the same', async () => {
    const ctx = fakeContext();
    const s = fakeSchtasks();
    s.refuse('ERROR: Access is denied.\r\n');
    await expect(installCron(ctx, { every: 5, boot: false }, s.ports(ctx))).rejects.toThrow(
      `schtasks /Create /TN \\pguard\\healthcheck-${idOf(ctx)} failed (exit 1): ERROR: Access is denied. Run \`pguard cron install --print --format schtasks\` to see the task.`,
    );
    expect(existsSync(s.files[0]!.path)).toBe(false);
  });

  it('refuses --every outside 1-60 before asking Task Scheduler', async () => {
    const ctx = fakeContext();
    const s = fakeSchtasks();
    await expect(installCron(ctx, { every: 0, boot: false }, s.ports(ctx))).rejects.toThrow('--every expects whole minutes from 1 to 60, got 0.');
    expect(s.calls).toEqual([]);
  });

  it('warns that a task does not inherit PGUARD_STATE_DIR', async () => {
    const ctx = fakeContext({ USERNAME: 'ana', PGUARD_STATE_DIR: 'C:\\state' });
    const s = fakeSchtasks();
    const res = await installCron(ctx, { every: 5, boot: false }, s.ports(ctx));
    expect(res.warning).toBe(`PGUARD_STATE_DIR is set here but a scheduled task does not inherit it, so its runs would use another state directory. Set it for your user (setx PGUARD_STATE_DIR "${ctx.store.dir}"), or put "state_dir" in the registry's $settings.`);
    expect(s.tasks.get(`\\pguard\\healthcheck-${idOf(ctx)}`.toLowerCase())).toContain('<UserId>ana</UserId>');
  });

  it('--print --format schtasks prints the XML install registers (one generator), declared UTF-8', async () => {
    const ctx = fakeContext();
    const s = fakeSchtasks();
    await installCron(ctx, { every: 7, boot: true }, s.ports(ctx));
    const printed = renderSchedule(ctx, 'schtasks', { every: 7, boot: true });
    const installed = [`\\pguard\\healthcheck-${idOf(ctx)}`, `\\pguard\\boot-${idOf(ctx)}`].map((n) => s.tasks.get(n.toLowerCase())!);
    expect(printed).toBe(installed.map((x, i) => `### pguard-${i === 0 ? 'healthcheck' : 'boot'}.xml\n${x.replace('encoding="UTF-16"', 'encoding="UTF-8"')}`).join('\n'));
    expect(renderSchedule(ctx, 'schtasks', { every: 7, boot: false })).toBe(installed[0]!.replace('encoding="UTF-16"', 'encoding="UTF-8"'));
  });
});

describe('the schtasks effect', () => {
  it('runs schtasks.exe from %SystemRoot%\\System32, C:\\Windows when SystemRoot is unset or odd', () => {
    expect(schtasksPath({ SystemRoot: 'D:\\WINNT' })).toBe('D:\\WINNT\\System32\\schtasks.exe');
    expect(schtasksPath({})).toBe('C:\\Windows\\System32\\schtasks.exe');
    expect(schtasksPath({ SystemRoot: 'relative\\dir' })).toBe('C:\\Windows\\System32\\schtasks.exe');
    expect(schtasksPath({ SystemRoot: '\\\\server\\share' })).toBe('C:\\Windows\\System32\\schtasks.exe');
  });

  it('reads schtasks output in UTF-16 (with or without a BOM), UTF-8, or else Latin-1', () => {
    expect(decodeOutput(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('<Task>é</Task>', 'utf16le')]))).toBe('<Task>é</Task>');
    expect(decodeOutput(Buffer.from('<Task>é</Task>', 'utf16le'))).toBe('<Task>é</Task>');
    expect(decodeOutput(Buffer.from('<Task>é</Task>', 'utf8'))).toBe('<Task>é</Task>');
    expect(decodeOutput(Buffer.from([0x3c, 0xe9, 0x3e]))).toBe('<é>');
  });
});
