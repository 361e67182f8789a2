// effects/run-as.ts without starting anything: what it refuses, in which words, and when there is
// nothing to switch. (Real processes started as another user: test/e2e/run-as.test.ts.)
import { afterEach, describe, expect, it } from 'vitest';
import { resolveRunAs, setprivArgs } from '../../src/effects/run-as.js';

const platform = process.platform;
afterEach(() => { Object.defineProperty(process, 'platform', { value: platform }); });
const isRoot = process.geteuid?.() === 0;

describe('resolveRunAs()', () => {
  it('has nothing to switch without user', () => {
    expect(resolveRunAs({ name: 'a', user: undefined, group: undefined }, process.env)).toBeNull();
  });

  it('refuses user on Windows in one line (no implementation there yet)', () => {
    Object.defineProperty(process, 'platform', { value: 'win32' });
    expect(() => resolveRunAs({ name: 'web', user: 'www-data', group: 'adm' }, process.env))
      .toThrow('"web".user: starting a process as another user (www-data) is not supported on Windows. Remove user and group from its entry.');
  });

  it.skipIf(process.platform === 'win32')('has nothing to switch for pguard\'s own user, by name or by uid', () => {
    const uid = String(process.geteuid!());
    expect(resolveRunAs({ name: 'a', user: uid, group: undefined }, process.env)).toBeNull();
    if (isRoot) expect(resolveRunAs({ name: 'a', user: 'root', group: undefined }, process.env)).toBeNull();
  });

  it.skipIf(!isRoot)('resolves a user by name or uid to its ids, its passwd entry\'s variables and setpriv', () => {
    const byName = resolveRunAs({ name: 'a', user: 'nobody', group: undefined }, process.env)!;
    expect(byName).toMatchObject({ uid: 65534, name: 'nobody', env: { USER: 'nobody', LOGNAME: 'nobody', HOME: expect.any(String), SHELL: expect.any(String) } });
    expect(byName.setpriv).toMatch(/\/setpriv$/);
    expect(resolveRunAs({ name: 'a', user: '65534', group: undefined }, process.env)).toEqual(byName);
    expect(setprivArgs(byName)).toEqual([`--reuid=65534`, `--regid=${byName.gid}`, '--init-groups', '--']);
  });
});
