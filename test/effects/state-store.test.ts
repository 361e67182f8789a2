import { appendFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StateStore, resolveStateDir } from '../../src/effects/state-store.js';

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
});
