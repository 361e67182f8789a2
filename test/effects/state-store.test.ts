import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensurePrivateDir, StateStore, resolveStateDir } from '../../src/effects/state-store.js';

const dirs: string[] = [];
afterEach(() => { while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true }); });

describe('state store', () => {
  it('creates its directories 0700 and tightens a loose one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pguard-state-'));
    dirs.push(dir);
    const store = new StateStore(join(dir, 'state'));
    store.init();
    for (const d of ['', 'procs', 'logs']) expect(statSync(join(dir, 'state', d)).mode & 0o777).toBe(0o700);
  });

  it('keeps runs.log short, and still finds the current run after a rotation', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pguard-state-'));
    dirs.push(dir);
    const store = new StateStore(dir);
    store.init();
    store.ensureProc('bot');
    const file = store.runsFile('bot');
    let lines = '';
    for (let i = 1; i <= 6000; i++) lines += `start 1.${i} ${1000 + i} ${i} boot ${i}\nexit 1.${i} 1 ${i + 1}\n`;
    appendFileSync(file, lines);
    store.rotateRuns('bot');
    expect(existsSync(`${file}.1`)).toBe(true);
    appendFileSync(file, 'start 1.6001 5000 9 boot 99999\n');
    const runs = store.readRuns('bot');
    expect(runs.latest).toMatchObject({ id: '1.6001', identity: { pid: 5000 } });
    expect(runs.exits.get('1.6000')).toEqual({ status: 1, endedAt: 6001 });
  });

  it('puts state under XDG_STATE_HOME, one folder per registry', () => {
    const a = resolveStateDir('/p/one/.process-registry.json', undefined, { XDG_STATE_HOME: '/xdg' });
    const b = resolveStateDir('/p/two/.process-registry.json', undefined, { XDG_STATE_HOME: '/xdg' });
    expect(a).toMatch(/^\/xdg\/pguard\/one-[0-9a-f]{12}$/);
    expect(b).not.toBe(a);
    expect(resolveStateDir('/p/one/.process-registry.json', 'st', {})).toBe('/p/one/st');
  });

  it('refuses a state directory below a folder its group can write without the sticky bit, and makes nothing there', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pguard-state-'));
    dirs.push(dir);
    const loose = join(dir, 'loose');
    mkdirSync(loose);
    chmodSync(loose, 0o770);
    expect(() => ensurePrivateDir(join(loose, 'a', 'state'))).toThrow(`${join(loose, 'a', 'state')}: the state directory is not safe: ${loose} is writable by its group (mode 770) without the sticky bit: others could put their own folder in its place. Keep state under folders only you or root own and can write (set PGUARD_STATE_DIR, $settings.state_dir or XDG_STATE_HOME), or chmod go-w ${loose}.`);
    expect(existsSync(join(loose, 'a'))).toBe(false);
    // Sticky, like /tmp: only an entry's owner may rename it there.
    chmodSync(loose, 0o1777);
    ensurePrivateDir(join(loose, 'b', 'state'));
    expect(statSync(join(loose, 'b', 'state')).mode & 0o777).toBe(0o700);
  });

  it('follows a link of the user\'s own on the way, and checks where it leads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pguard-state-'));
    dirs.push(dir);
    mkdirSync(join(dir, 'real'));
    symlinkSync('real', join(dir, 'link')); // relative, as `ln -s real link` makes it
    ensurePrivateDir(join(dir, 'link', 'pguard', 'state'));
    expect(statSync(join(dir, 'real', 'pguard', 'state')).mode & 0o777).toBe(0o700);
    mkdirSync(join(dir, 'open'), { mode: 0o700 });
    chmodSync(join(dir, 'open'), 0o777);
    symlinkSync(join(dir, 'open'), join(dir, 'to-open'));
    expect(() => ensurePrivateDir(join(dir, 'to-open', 'state'))).toThrow(`${join(dir, 'open')} is writable by everyone (mode 777) without the sticky bit`);
    symlinkSync('loop', join(dir, 'loop'));
    expect(() => ensurePrivateDir(join(dir, 'loop', 'state'))).toThrow('more than 40 symbolic links on the way (a loop?)');
  });
});
