import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { APPS } from '../helpers/run-cli.js';
import { tmpRegistry, type TmpRegistry } from '../helpers/tmp-registry.js';
import { waitFor } from '../helpers/wait-for.js';

const events = (t: TmpRegistry) => readFileSync(join(t.stateDir, 'ledger.jsonl'), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));

describe('the ledger as pguard writes it', () => {
  it('records the lifecycle, verifies, and never holds env values or the webhook URL', async () => {
    const t = tmpRegistry({});
    writeFileSync(t.registry, JSON.stringify({ $settings: { webhook: 'http://127.0.0.1:9/hook-secret-path' } }));
    await t.cli(['register', 'bot', 'exec sleep 1000', '--env', 'TOKEN=supersecret-value', '--restart-cooldown', '0']);
    await t.cli(['start', 'bot', '--no-wait']);
    const pid = await waitFor(async () => (await t.status('bot')).pid as number | null);
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => (await t.status('bot')).restarts === 1);
    await waitFor(() => events(t).some((e) => e.event === 'alert'));
    await t.cli(['stop', 'bot']);
    const kinds = events(t).map((e) => e.event);
    expect(kinds).toEqual(expect.arrayContaining(['register', 'start', 'exit', 'restart', 'alert', 'stop']));
    const exit = events(t).find((e) => e.event === 'exit');
    expect(exit.details).toMatchObject({ signal: 'SIGKILL', code: null, outcome: 'running' });
    const text = readFileSync(join(t.stateDir, 'ledger.jsonl'), 'utf8');
    expect(text).not.toContain('supersecret-value');
    expect(text).not.toContain('hook-secret-path');
    const verify = await t.cli(['audit', 'verify']);
    expect(verify).toMatchObject({ code: 0 });
    expect(verify.stdout).toMatch(/^ok: \d+ entries in 1 segment, chain intact, signed with ledger key [0-9a-f]{12}$/);
    const ls = text.trimEnd().split('\n');
    ls[1] = ls[1]!.replace('"event":"start"', '"event":"stop"');
    writeFileSync(join(t.stateDir, 'ledger.jsonl'), `${ls.join('\n')}\n`);
    const bad = await t.cli(['audit', 'verify']);
    expect(bad).toMatchObject({ code: 1, stdout: 'TAMPERED: ledger.jsonl line 2 (seq 2) does not match its own hash: it was edited' });
  });

  it('prints a head to keep elsewhere, checks against it, and refuses to print one for a ledger that does not verify', async () => {
    const t = tmpRegistry({});
    await t.cli(['register', 'bot', 'exec sleep 1000']);
    await t.cli(['register', 'api', 'exec sleep 1000']);
    const head = await t.cli(['audit', 'head']);
    expect(head.code).toBe(0);
    expect(head.stdout).toMatch(/^\d+:[0-9a-f]{64}$/);
    const json = JSON.parse((await t.cli(['audit', 'head', '--json'])).stdout);
    expect(json).toEqual({ seq: Number(head.stdout.split(':')[0]), hash: head.stdout.split(':')[1], anchor: head.stdout });
    await t.cli(['register', 'later', 'exec sleep 1000']);
    const ok = await t.cli(['audit', 'verify', '--expect', head.stdout]);
    expect(ok).toMatchObject({ code: 0 });
    expect(ok.stdout.split('\n')[1]).toBe(`  entry ${json.seq} is the one you anchored`);
    expect(await t.cli(['audit', 'verify', '--expect', '12:abc'])).toMatchObject({ code: 2, stdout: '', stderr: 'pguard: --expect takes SEQ:HASH as `pguard audit head` prints it (a number, a colon, 64 hex digits), got "12:abc".' });
    // Someone who can write the state directory, not the key: edits, recomputes the chain and the head.
    const file = join(t.stateDir, 'ledger.jsonl');
    const es = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    es[0].details.command_changed = true;
    const { canonicalize, GENESIS } = await import('../../src/core/ledger-chain.js');
    const { sha256 } = await import('../../src/effects/hash.js');
    let prev = GENESIS;
    for (const e of es) { e.prev = prev; e.hash = sha256(canonicalize({ seq: e.seq, at: e.at, event: e.event, process: e.process, details: e.details, prev })); delete e.mac; delete e.kid; prev = e.hash; }
    writeFileSync(file, `${es.map((e) => JSON.stringify(e)).join('\n')}\n`);
    writeFileSync(join(t.stateDir, 'ledger.head'), `${es.at(-1).seq} ${es.at(-1).hash}\n`);
    const rewritten = await t.cli(['audit', 'verify']);
    expect(rewritten.code).toBe(1);
    expect(rewritten.stdout).toMatch(/^UNVERIFIED: ledger\.jsonl line \d+ no entry is signed: the chain is intact, but anyone who can write the state directory could have rewritten it/);
    expect(await t.cli(['audit', 'verify', '--expect', head.stdout])).toMatchObject({ code: 1, stdout: expect.stringMatching(/^TAMPERED: ledger\.jsonl line \d+ \(seq \d+\) is not the entry you anchored/) });
    const refused = await t.cli(['audit', 'head']);
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toMatch(/^pguard: the ledger does not verify \(ledger\.jsonl: no entry is signed.*\); no head to anchor\. See `pguard audit verify`\.$/);
  });

  it('repairs a line cut short by a crash at the next write, and says so', async () => {
    const t = tmpRegistry({});
    await t.cli(['register', 'bot', 'exec sleep 1000']);
    const file = join(t.stateDir, 'ledger.jsonl');
    const torn = '{"seq":3,"at":"20';
    writeFileSync(file, `${readFileSync(file, 'utf8')}${torn}`);
    const before = await t.cli(['audit', 'verify']);
    expect(before.code).toBe(0);
    expect(before.stdout).toMatch(new RegExp(`\\n  ledger\\.jsonl line \\d+ was cut short by a crash while written \\(${torn.length} bytes\\); the next entry moves it to ledger\\.torn$`));
    await t.cli(['register', 'api', 'exec sleep 1000']);
    const after = await t.cli(['audit', 'verify']);
    expect(after.code).toBe(0);
    expect(after.stdout).toMatch(new RegExp(`\\n  a line cut short by a crash \\(${torn.length} bytes\\) was moved to ledger\\.torn at seq \\d+$`));
  });
});

describe('history', () => {
  it('shows each failure with its cause, the action and a recovery time that matches what was observed', async () => {
    const t = tmpRegistry({ bot: { command: 'exec sleep 1000', restart_cooldown: 0 } });
    await t.cli(['start', 'bot', '--no-wait']);
    const observed: number[] = [];
    for (let i = 0; i < 3; i++) {
      const before = t.runs('bot').starts.size;
      const pid = await waitFor(() => t.runs('bot').latest?.identity.pid);
      const killedAt = Date.now();
      process.kill(pid, 'SIGKILL');
      const run = await waitFor(() => (t.runs('bot').starts.size > before ? t.runs('bot').latest : null));
      observed.push(run!.startedAt - killedAt);
      await waitFor(async () => (await t.status('bot')).restarts === i + 1);
    }
    const h = JSON.parse((await t.cli(['history', 'bot', '--json'])).stdout);
    expect(h.failures).toHaveLength(3);
    for (const [i, f] of h.failures.entries()) {
      expect(f).toMatchObject({ process: 'bot', cause: 'killed by SIGKILL' });
      expect(f.action).toMatch(/^restarted/);
      // The runner's exit time is within a few ms of our kill: the figures agree to 50 ms.
      expect(Math.abs(f.recovery_ms - observed[i]!)).toBeLessThan(50);
    }
    expect(h.summary[0]).toMatchObject({ process: 'bot', runs: 4, failures: 3, restarts: 3 });
    expect(h.summary[0].worst_recovery_ms).toBe(Math.max(...h.failures.map((f: { recovery_ms: number }) => f.recovery_ms)));
    expect(h.summary[0].uptime_percent).toBeGreaterThan(50);
    const human = await t.cli(['history', '--since', '1h']);
    expect(human.stdout).toMatch(/killed by SIGKILL/);
    // A recovery under the runner's clock step is not "0 ms".
    expect(human.stdout).not.toMatch(/\s0 ms/);
    expect((await t.cli(['history', '--since', 'soon'])).stderr).toBe('pguard: --since expects a duration like 90s, 15m, 2h, 7d or 2w, got "soon".');
    // Weeks too (a newcomer tried 1w); every failure here is within the week.
    expect(JSON.parse((await t.cli(['history', 'bot', '--since', '1w', '--json'])).stdout).failures).toEqual(h.failures);
    // --archive with nothing archived says so, rather than printing what verify prints.
    expect((await t.cli(['audit', 'verify', '--archive'])).stdout).toMatch(/\n  nothing is archived yet: \$settings\.ledger_keep_days moves a closed segment/);
  });
});

describe('honest figures', () => {
  it('measures a runner restart on the kernel\'s clock, writes the ledger in time order, and counts uptime from the first start (recovery-0 regression)', async () => {
    const t = tmpRegistry({ bot: { command: 'exec sleep 1000', restart_cooldown: 0 } });
    await t.cli(['register', 'late', 'exec sleep 1000']);
    await t.cli(['start', 'bot', '--no-wait']);
    const pid = await waitFor(() => t.runs('bot').latest?.identity.pid);
    process.kill(pid, 'SIGKILL');
    await waitFor(async () => ((await t.status('bot')).restarts === 1 ? true : null));
    const h = JSON.parse((await t.cli(['history', 'bot', '--json'])).stdout);
    // Measured on the kernel's clock (1/100 s since boot), not stamped with the exit time.
    expect(h.failures[0].recovery_ms % 10).toBe(0);
    const exit = t.runs('bot').exits.get('1.1')!;
    expect(exit.endedUptimeCs).toBeGreaterThan(0);
    expect(h.failures[0].recovery_ms).toBe(Math.max(0, (Number(t.runs('bot').starts.get('1.2')!.identity.startTime) - exit.endedUptimeCs!) * 10));
    // The runner saw the death at its exit and restarted it there and then (issue 20: deaths have a detection_ms).
    expect(h.failures[0].detection_ms).toBeGreaterThanOrEqual(0);
    expect(h.failures[0].detection_ms).toBeLessThan(1000);
    const entries = readFileSync(join(t.stateDir, 'ledger.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seq: number; at: string; event: string; details: Record<string, unknown> });
    for (let i = 1; i < entries.length; i++) expect(Date.parse(entries[i]!.at)).toBeGreaterThanOrEqual(Date.parse(entries[i - 1]!.at));
    expect(entries.find((e) => e.event === 'exit')!.details.ended_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    // `late` is started well after it was registered: the wait before is not downtime.
    await waitFor(async () => ((await t.status('bot')).uptime_s >= 1 ? true : null));
    await t.cli(['start', 'late', '--no-wait']);
    await waitFor(async () => ((await t.status('late')).uptime_s >= 1 ? true : null));
    const late = JSON.parse((await t.cli(['history', 'late', '--json'])).stdout);
    expect(late.summary[0].uptime_percent).toBeGreaterThan(90);
  });

  it('separates the detection of a hang from the recovery after it', async () => {
    const t = tmpRegistry({ hung: { command: `exec sh ${APPS}beat.sh 1`, restart_cooldown: 0, health: [{ type: 'heartbeat', max_age: 0.5, failure_threshold: 2, grace: 0 }] } });
    await t.cli(['start', 'hung', '--no-wait']);
    await waitFor(() => t.logOf('hung').includes('now hanging'));
    await waitFor(async () => { await t.cli(['healthcheck']); return (await t.status('hung')).status === 'unhealthy' ? true : null; });
    // The second failure, one look later, ends it.
    await t.cli(['healthcheck']);
    await waitFor(() => (t.runs('hung').starts.size >= 2 ? true : null), { what: 'the restart' });
    // The new run can start before the runner's report of the old one's exit reaches the ledger.
    const f = await waitFor(async () => JSON.parse((await t.cli(['history', 'hung', '--json'])).stdout).failures[0] ?? null, { what: 'the exit in the history' });
    expect(f.cause).toMatch(/^probe heartbeat/);
    expect(f.detection_ms).toBeGreaterThan(0);
    expect(f.recovery_ms % 10).toBe(0);
  });
});

describe('rollback of a bad definition', () => {
  it('puts the last known-good definition back when a changed one exhausts its budget, and it runs again', async () => {
    const t = tmpRegistry({});
    await t.cli(['register', 'bot', 'echo good; exec sleep 1000', '--min-uptime', '0.5', '--max-restarts', '1', '--restart-cooldown', '0']);
    const good = readFileSync(t.registry, 'utf8');
    await t.cli(['start', 'bot', '--no-wait']);
    await waitFor(async () => (await t.status('bot')).uptime_s >= 1);
    await t.cli(['healthcheck']); // a look after min_uptime makes generation 1 known-good
    const gens = JSON.parse((await t.cli(['history', 'bot', '--generations', '--json'])).stdout);
    expect(gens).toEqual([expect.objectContaining({ gen: 1, current: true, known_good_at: expect.any(String) })]);
    await t.cli(['register', 'bot', 'echo broken; exit 3']);
    await t.cli(['restart', 'bot', '--no-wait']);
    const alert = await waitFor(async () => {
      const a = JSON.parse((await t.cli(['alerts', '--json'])).stdout).find((x: { kind: string }) => x.kind === 'rollback');
      return a ?? null;
    }, { timeoutMs: 20_000, what: 'the rollback alert' });
    expect(alert.message).toMatch(/^rolled back from generation 2 to known-good generation 1: exited with code 3 after \d\.\d s; gave up after 1 restart \(max_restarts 1\)$/);
    expect(readFileSync(t.registry, 'utf8')).toBe(good);
    const s = await waitFor(async () => { const x = await t.status('bot'); return x.status === 'running' && x.pid ? x : null; });
    expect(s.command).toBe('echo good; exec sleep 1000');
    const kinds = events(t).map((e) => e.event);
    expect(kinds).toContain('rollback');
    expect((await t.cli(['audit', 'verify'])).code).toBe(0);
  });

  it('rolls back a definition edited in the file whose probes never pass', async () => {
    const probe = (file: string) => [{ type: 'exec', command: `test -e ${file}`, failure_threshold: 1, grace: 0 }];
    const t = tmpRegistry({ api: { command: 'exec sleep 1000', min_uptime: 0.5, health: probe('ok') } });
    writeFileSync(join(t.dir, 'ok'), '');
    await t.cli(['start', 'api', '--no-wait']);
    await waitFor(async () => (await t.status('api')).uptime_s >= 1);
    await t.cli(['healthcheck']);
    expect(JSON.parse((await t.cli(['history', 'api', '--generations', '--json'])).stdout)[0]).toMatchObject({ gen: 1, known_good_at: expect.any(String), healthy_at: expect.any(String) });
    const good = readFileSync(t.registry, 'utf8');
    writeFileSync(t.registry, `${JSON.stringify({ api: { command: 'exec sleep 2000', min_uptime: 0.5, health: probe('never') } }, null, 2)}\n`);
    await t.cli(['restart', 'api', '--no-wait']);
    await t.cli(['healthcheck']);
    await waitFor(async () => JSON.parse((await t.cli(['alerts', '--json'])).stdout).some((x: { kind: string }) => x.kind === 'rollback'), { timeoutMs: 20_000, what: 'the rollback' });
    expect(readFileSync(t.registry, 'utf8')).toBe(good);
    await waitFor(async () => { const x = await t.status('api'); return x.status === 'running' && x.command === 'exec sleep 1000'; });
  });

  it('says a process already runs its known-good generation, and each rollback is an alert of its own (issue 21)', async () => {
    const t = tmpRegistry({});
    await t.cli(['register', 'bot', 'exec sleep 1000', '--min-uptime', '0.3']);
    await t.cli(['start', 'bot', '--no-wait']);
    await waitFor(async () => (await t.status('bot')).uptime_s >= 1);
    await t.cli(['healthcheck']); // generation 1 known-good
    expect(await t.cli(['rollback', 'bot'])).toMatchObject({ code: 1, stderr: 'pguard: "bot" already runs known-good generation 1: nothing to roll back.' });
    await t.cli(['register', 'bot', 'exec sleep 2000']);
    expect((await t.cli(['rollback', 'bot', '--to', '1'])).code).toBe(0);
    await t.cli(['register', 'bot', 'exec sleep 3000']);
    expect((await t.cli(['rollback', 'bot', '--to', '1'])).code).toBe(0);
    const rollbacks = JSON.parse((await t.cli(['alerts', '--json'])).stdout).filter((a: { kind: string }) => a.kind === 'rollback');
    expect(rollbacks.map((a: { message: string; count: number }) => [a.count, a.message.split(':')[0]])).toEqual([
      [1, 'rolled back from generation 2 to known-good generation 1'], [1, 'rolled back from generation 3 to known-good generation 1'],
    ]);
  });

  it('rolls back by hand to a chosen generation', async () => {
    const t = tmpRegistry({});
    await t.cli(['register', 'bot', 'exec sleep 1000']);
    await t.cli(['register', 'bot', 'exec sleep 2000']);
    const res = await t.cli(['rollback', 'bot', '--to', '1']);
    expect(res.stdout).toMatch(/^bot: rolled back from generation 2 to 1; ✓? ?bot started \(pid \d+\)$/);
    expect(JSON.parse(readFileSync(t.registry, 'utf8')).bot.command).toBe('exec sleep 1000');
    const none = await t.cli(['rollback', 'bot', '--to', '9']);
    expect(none).toMatchObject({ code: 1, stderr: 'pguard: "bot" has no generation 9. List them with `pguard history bot --generations`.' });
  });
});
