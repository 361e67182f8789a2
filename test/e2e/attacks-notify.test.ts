// Issue 22 ("Only the user's own, round two"), points 11 and 12: a ledger deleted whole is reported,
// not taken for a ledger never begun; a webhook URL's credentials travel in a header, never into a
// log, the ledger or any output, and a failed delivery is never recorded as a notification.
import { readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tmpRegistry, type TmpRegistry } from '../helpers/tmp-registry.js';
import { waitFor } from '../helpers/wait-for.js';

const entries = (t: TmpRegistry) => t.ledger();

async function startedAndStopped(t: TmpRegistry): Promise<void> {
  await t.cli(['register', 'bot', 'exec sleep 1000']);
  await t.cli(['start', 'bot', '--no-wait']);
  await waitFor(async () => (await t.status('bot')).status === 'running', { what: 'bot to run' });
  await t.cli(['stop', 'bot']);
  expect(await t.cli(['audit', 'verify'])).toMatchObject({ code: 0, stdout: expect.stringMatching(/^ok: \d+ entries/) });
}

describe('a ledger deleted whole (issue 22, point 11)', () => {
  it('is reported when ledger.jsonl and ledger.head are deleted and the process records stay', async () => {
    const t = tmpRegistry({});
    await startedAndStopped(t);
    rmSync(join(t.stateDir, 'ledger.jsonl'));
    rmSync(join(t.stateDir, 'ledger.head'));
    const res = await t.cli(['audit', 'verify']);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe('');
    expect(res.stdout).toMatch(/^TAMPERED: ledger\.jsonl is missing, and so is ledger\.head, but a ledger was begun here on \d{4}-\d\d-\d\dT[\d:.]+Z \(its entry 1 is [0-9a-f]{12}…, as .+\/config\/pguard\/ledgers\/[0-9a-f]{16}\.json records, outside the state directory\): it was deleted or emptied\. If you deleted it yourself, delete that record to begin afresh\.$/);
    expect(res.stdout.split('\n')).toHaveLength(1);
    const json = await t.cli(['audit', 'verify', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, entries: 0, problem: { segment: 'ledger.jsonl', kind: 'tampered', message: expect.stringMatching(/^is missing, and so is ledger\.head/) } });
    // `audit head` has nothing to anchor, and says why.
    expect(await t.cli(['audit', 'head'])).toMatchObject({ code: 1, stderr: expect.stringMatching(/^pguard: the ledger does not verify \(ledger\.jsonl: is missing, and so is ledger\.head/) });
  });

  it('is reported from the run records alone when the record kept beside the key is gone too (a ledger begun before pguard kept one)', async () => {
    const t = tmpRegistry({});
    await startedAndStopped(t);
    writeFileSync(join(t.stateDir, 'ledger.jsonl'), '');
    rmSync(join(t.stateDir, 'ledger.head'));
    rmSync(join(t.dir, 'config', 'pguard', 'ledgers'), { recursive: true, force: true });
    const res = await t.cli(['audit', 'verify']);
    expect(res).toMatchObject({ code: 1, stderr: '', stdout: 'TAMPERED: ledger.jsonl is empty, and ledger.head is missing, but procs/bot/runs.log records runs pguard wrote to the ledger: it was deleted or emptied.' });
    const json = JSON.parse((await t.cli(['audit', 'verify', '--json'])).stdout);
    expect(json).toMatchObject({ ok: false, problem: { segment: 'ledger.jsonl', line: 0, seq: null, kind: 'tampered' } });
  });

  it('is reported when every file of the state directory is deleted', async () => {
    const t = tmpRegistry({});
    await startedAndStopped(t);
    for (const n of readdirSync(t.stateDir)) rmSync(join(t.stateDir, n), { recursive: true, force: true });
    const res = await t.cli(['audit', 'verify']);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/^TAMPERED: ledger\.jsonl is missing, and so is ledger\.head, but a ledger was begun here on /);
  });

  it('is reported when a new ledger was begun after the old one was deleted', async () => {
    const t = tmpRegistry({});
    await startedAndStopped(t);
    const firstHash = entries(t)[0]!.hash as string;
    rmSync(join(t.stateDir, 'ledger.jsonl'));
    rmSync(join(t.stateDir, 'ledger.head'));
    // The next event writes seq 1 of a fresh chain, signed with the user's key: intact by itself.
    const reg = await t.cli(['register', 'api', 'exec sleep 1000']);
    expect(reg.stderr).toMatch(/^pguard: the audit ledger in .+ was deleted \(begun on [^)]+\); a new one begins at seq 1: `pguard audit verify` reports it$/m);
    expect(entries(t)[0]).toMatchObject({ seq: 1, event: 'register', process: 'api' });
    const res = await t.cli(['audit', 'verify']);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/^TAMPERED: ledger\.jsonl line 1 \(seq 1\) begins a new ledger, but the one begun here on \S+ \(its entry 1 is [0-9a-f]{12}…, as .+\.json records, outside the state directory\) is gone: it was deleted and pguard began again\. If you deleted it yourself, delete that record to accept this one\.$/);
    expect(res.stdout).toContain(`its entry 1 is ${firstHash.slice(0, 12)}…`);
  });

  it('leaves a fresh state directory empty and ok, even where the ledger key exists and records without a run were written', async () => {
    const other = tmpRegistry({});
    await other.cli(['register', 'x', 'exec sleep 1000']); // makes the key in other's config folder
    const t = tmpRegistry({ bot: { command: 'exec sleep 1000' } });
    const env = { XDG_CONFIG_HOME: join(other.dir, 'config') };
    await t.cli(['status'], { env });
    await t.cli(['stop', 'bot'], { env }); // writes procs/bot/state.json, no ledger entry
    await t.cli(['heartbeat', 'bot'], { env });
    const res = await t.cli(['audit', 'verify'], { env });
    expect(res).toMatchObject({ code: 0, stdout: 'ok: the ledger is empty', stderr: '' });
    expect(JSON.parse((await t.cli(['audit', 'verify', '--json'], { env })).stdout)).toMatchObject({ ok: true, entries: 0, problem: null });
  });
});
