// observe(): a runner found dead is looked at before runs.log is trusted to say nothing runs. The
// runner may have forked a run just before it died; that run's start line may land between the
// first read of runs.log and the runner's check. Read again, it is seen (and the run is not taken
// for gone, which would start a second instance beside it).
import { spawn } from 'node:child_process';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Context } from '../../src/app/context.js';
import { observe } from '../../src/app/observe.js';
import { emptyRecord } from '../../src/core/record.js';
import { validateRegistry } from '../../src/core/validate.js';
import { readIdentity } from '../../src/effects/identity.js';
import { encodeExitLine, encodeStartLine } from '../../src/effects/runner-protocol.js';
import { StateStore } from '../../src/effects/state-store.js';
import { waitFor } from '../helpers/wait-for.js';

const T = 1_800_000_000_000;
const cleanups: (() => void)[] = [];
afterEach(() => { while (cleanups.length) cleanups.pop()!(); });

function context(): { ctx: Context; runs: string } {
  const dir = mkdtempSync(join(tmpdir(), 'pguard-observe-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const entries = { bot: { command: 'x' } };
  const { defs, settings } = validateRegistry(entries);
  const store = new StateStore(join(dir, 'state'));
  store.init();
  const ctx: Context = {
    registry: { path: join(dir, '.process-registry.json'), text: '', data: entries, defs, settings, issues: [] },
    store, clock: { now: () => T + 1_000 }, env: {}, alertFlag: join(dir, 'flag'), alertText: join(dir, 'txt'), progress: () => {},
  };
  const runs = join(store.ensureProc('bot'), 'runs.log');
  // Run 1.1 has exited; its runner (a PID that names no process) is dead.
  const gone = { pid: 4_000_000, startTime: '1', bootId: readIdentity(process.pid)!.bootId };
  store.writeRecord('bot', { ...emptyRecord(), status: 'running', epoch: 1, runner: gone, run: { id: '1.1', identity: gone, startedAt: T } });
  appendFileSync(runs, encodeStartLine({ id: '1.1', identity: gone, startedAt: T }) + encodeExitLine('1.1', 137, T + 500));
  return { ctx, runs };
}

describe('observe', () => {
  it('sees a run whose start line landed after runs.log was read, once its runner is found dead', async () => {
    const { ctx, runs } = context();
    const late = spawn('sleep', ['30'], { stdio: 'ignore' });
    cleanups.push(() => late.kill('SIGKILL'));
    const identity = await waitFor(() => readIdentity(late.pid!), { what: 'the late run' });
    // The start line lands just after the first read of runs.log (the runner dying meanwhile).
    const store = ctx.store as StateStore & { readRuns: StateStore['readRuns'] };
    const read = store.readRuns.bind(store);
    let reads = 0;
    store.readRuns = (name) => {
      const view = read(name);
      if (++reads === 1) appendFileSync(runs, encodeStartLine({ id: '1.2', identity, startedAt: T + 510 }));
      return view;
    };
    const seen = observe(ctx, 'bot');
    expect(seen.liveRun?.id).toBe('1.2');
    expect(seen.processAlive).toBe(true);
    // Its runner is dead (and is not its parent): said so, for the look to adopt it.
    expect(seen.runnerAlive).toBe(false);
  });

  it('takes both for gone when no run began (the control)', () => {
    const { ctx } = context();
    const seen = observe(ctx, 'bot');
    expect(seen.processAlive).toBe(false);
    expect(seen.runnerAlive).toBe(false);
    expect(seen.liveRun).toBeNull();
  });
});
