// deregister closes the process's open alerts (issue 26): each is acknowledged, saying by whom
// (acknowledged_by "deregister"); the registry's alert flag goes once none is left open, and the
// per-user flag follows. Other processes' alerts stay open.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tmpRegistry } from '../helpers/tmp-registry.js';
import { waitFor } from '../helpers/wait-for.js';

interface AlertJson { id: string; process: string; kind: string; acknowledged: boolean; acknowledged_by?: string }

describe('pguard deregister', () => {
  it('acknowledges the process\'s open alerts (acknowledged_by "deregister"), then the registry\'s and the per-user flag go when none is left', async () => {
    const t = tmpRegistry({
      a: { command: 'exit 3', auto_restart: false },
      b: { command: 'exit 4', auto_restart: false },
      c: { command: 'exit 5', auto_restart: false },
    });
    // The per-user files of this test alone ($XDG_STATE_HOME/pguard), for every call and what it starts.
    const env = { XDG_STATE_HOME: join(t.dir, 'xdg-state') };
    const cli = (args: string[]) => t.cli(args, { env });
    const alerts = async (all: boolean) => JSON.parse((await cli(['alerts', ...(all ? ['--all'] : []), '--json'])).stdout) as AlertJson[];
    const userFlag = JSON.parse((await cli(['info', '--json'])).stdout).user_alert_flag as string;
    const flag = join(t.stateDir, 'alert.flag');
    await cli(['start', 'a', 'b', 'c', '--no-wait']);
    await waitFor(async () => new Set((await alerts(false)).map((x) => x.process)).size === 3, { what: 'an alert of each' });
    // c's by hand: no acknowledged_by.
    const cId = (await alerts(false)).find((x) => x.process === 'c')!.id;
    expect((await cli(['alerts', 'ack', cId])).code).toBe(0);

    expect((await cli(['deregister', 'a'])).code).toBe(0);
    const afterA = await alerts(true);
    expect(afterA.filter((x) => x.process === 'a').length).toBeGreaterThan(0);
    for (const x of afterA.filter((y) => y.process === 'a')) expect(x).toMatchObject({ acknowledged: true, acknowledged_by: 'deregister' });
    expect(afterA.find((x) => x.id === cId)).toMatchObject({ acknowledged: true });
    expect(afterA.find((x) => x.id === cId)!.acknowledged_by).toBeUndefined();
    // b's is still open: both flags stay.
    expect((await alerts(false)).map((x) => x.process)).toEqual(['b']);
    expect(existsSync(flag)).toBe(true);
    expect(readFileSync(userFlag, 'utf8')).toContain(t.registry);

    expect((await cli(['deregister', 'b'])).code).toBe(0);
    expect(await alerts(false)).toEqual([]);
    expect((await alerts(true)).filter((x) => x.process === 'b').every((x) => x.acknowledged && x.acknowledged_by === 'deregister')).toBe(true);
    expect(existsSync(flag)).toBe(false);
    expect(existsSync(userFlag)).toBe(false);
  });
});
