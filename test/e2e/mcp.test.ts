// `pguard mcp` with the SDK's own client over a real stdio transport, against the built CLI and
// real processes: the tools with and without the flags, every tool, a refused control tool, a bad
// input, a subscription that hears of a real crash, and a registry broken under it.
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { callTool as call, connectMcp as connect, textOf as text } from '../helpers/mcp-client.js';
import { APPS } from '../helpers/run-cli.js';
import { tmpRegistry } from '../helpers/tmp-registry.js';
import { waitFor } from '../helpers/wait-for.js';

const forever = `sh ${APPS}forever.sh`;
// Log lines come back fenced as the program's untrusted output (issue 22, point 13; attacks-mcp.test.ts).
const OPEN = expect.stringMatching(/^<untrusted-program-output-[0-9a-f]{16}>$/);
const CLOSE = expect.stringMatching(/^<\/untrusted-program-output-[0-9a-f]{16}>$/);

describe('pguard mcp', () => {
  it('serves where no registry is found, every tool answering how to pass --registry (issue 21)', async () => {
    const t = tmpRegistry({});
    const { client, stderr } = await connect(t, ['--allow-register'], { noRegistry: true });
    expect((await client.listTools()).tools.map((x) => x.name)).toContain('status');
    const res = await call(client, 'status');
    expect(res.isError).toBe(true);
    expect(text(res)).toMatch(/^pguard: no \.process-registry\.json in \/ or its parents\..*`pguard mcp --registry \/abs\/path\/\.process-registry\.json`\.$/);
    expect(stderr()).toContain('pguard mcp: no .process-registry.json in /');
  });

  it('takes every field of the registry in its register tool, and answers in compact JSON (issue 21)', async () => {
    const t = tmpRegistry({});
    const { client } = await connect(t, ['--allow-register']);
    const register = (await client.listTools()).tools.find((x) => x.name === 'register')!;
    expect(Object.keys(register.inputSchema.properties!)).toEqual(expect.arrayContaining(['max_memory_mb', 'max_cpu_percent', 'ready_after', 'stop_signal', 'kill_timeout', 'autostart', 'no_restart_exit_codes', 'restart_dependents']));
    const res = await call(client, 'register', { name: 'api', command: 'exec sleep 1000', max_memory_mb: 300, ready_after: 1 });
    expect(res.isError).toBeFalsy();
    expect(JSON.parse(readFileSync(t.registry, 'utf8')).api).toEqual({ command: 'exec sleep 1000', max_memory_mb: 300, ready_after: 1 });
    expect(text(await call(client, 'status'))).not.toContain('\n');
  });

  it('lists the read-only tools by default, control and register tools only with their flags, each described and annotated', async () => {
    const t = tmpRegistry({ bot: { command: forever } });
    const plain = await connect(t);
    const names = (await plain.client.listTools()).tools.map((x) => x.name);
    expect(names).toEqual(['status', 'logs', 'alerts', 'history', 'healthcheck', 'audit_verify', 'ack_alerts']);
    const all = await connect(t, ['--allow-control', '--allow-register']);
    const tools = (await all.client.listTools()).tools;
    expect(tools.map((x) => x.name)).toEqual(['status', 'logs', 'alerts', 'history', 'healthcheck', 'audit_verify', 'ack_alerts', 'start', 'stop', 'restart', 'rollback', 'register', 'deregister']);
    for (const tool of tools) {
      expect(tool.description!.length).toBeGreaterThan(40);
      expect(tool.outputSchema).toBeDefined();
      expect(typeof tool.annotations?.readOnlyHint).toBe('boolean');
      expect(typeof tool.annotations?.destructiveHint).toBe('boolean');
    }
    expect(tools.find((x) => x.name === 'status')!.annotations).toMatchObject({ readOnlyHint: true });
    expect(tools.find((x) => x.name === 'stop')!.annotations).toMatchObject({ readOnlyHint: false, destructiveHint: true });
    expect(all.stderr()).toContain('pguard mcp: serving on stdio');
  });

  it('answers each read tool with the JSON of the matching --json command, as text and structured content', async () => {
    const t = tmpRegistry({ bot: { command: forever }, crashy: { command: 'sh -c "echo boom; exit 3"', max_restarts: 0 } });
    await t.cli(['start', '--all']);
    const { client } = await connect(t);
    const cli = async (args: string[]) => JSON.parse((await t.cli([...args, '--json'])).stdout);
    // What is measured at each look (uptime, the tree's memory and CPU) moves between two calls: the rest must be the same.
    const strip = (v: { uptime_s?: unknown; memory_mb?: unknown; cpu_percent?: unknown }[]) => v.map(({ uptime_s: _u, memory_mb: _m, cpu_percent: _c, ...x }) => x);
    const status = await call(client, 'status');
    expect(status.isError).toBeFalsy();
    expect(strip(JSON.parse(text(status)))).toEqual(strip(await cli(['status'])));
    expect(strip(status.structuredContent!.processes as { uptime_s?: unknown }[])).toEqual(strip(await cli(['status'])));
    expect(JSON.parse(text(await call(client, 'status', { name: 'bot' })))).toHaveLength(1);
    const alerts = await call(client, 'alerts');
    const cliAlerts = (await cli(['alerts'])) as { evidence: { log_tail: string[] } }[];
    expect(JSON.parse(text(alerts))).toEqual(cliAlerts.map((a) => ({ ...a, evidence: { ...a.evidence, log_tail: [OPEN, ...a.evidence.log_tail, CLOSE] } })));
    expect((alerts.structuredContent!.alerts as unknown[]).length).toBe(1);
    expect((await call(client, 'logs', { name: 'crashy', lines: 5 })).structuredContent).toMatchObject({ name: 'crashy', lines: [OPEN, 'boom', CLOSE] });
    expect((await call(client, 'history', { name: 'crashy' })).structuredContent).toMatchObject({ failures: [{ process: 'crashy' }] });
    expect((await call(client, 'audit_verify')).structuredContent).toMatchObject({ ok: true });
    expect((await call(client, 'healthcheck')).structuredContent).toMatchObject({ checked: 2 });
    const id = (alerts.structuredContent!.alerts as { id: string }[])[0]!.id;
    expect((await call(client, 'ack_alerts', { ids: [id] })).structuredContent).toEqual({ acknowledged: 1, remaining: 0 });
  });

  it('refuses a control tool without its flag, naming the flag, and a bad input with one clear line, as tool errors', async () => {
    const t = tmpRegistry({ bot: { command: forever } });
    const { client } = await connect(t);
    const refused = await call(client, 'start', { names: ['bot'] });
    expect(refused).toMatchObject({ isError: true });
    expect(text(refused)).toBe('pguard: start is turned off: start the server with `pguard mcp --allow-control` to allow it.');
    expect(text(await call(client, 'register', { name: 'x', command: 'true' }))).toBe('pguard: register is turned off: start the server with `pguard mcp --allow-register` to allow it.');
    expect((await t.status('bot')).status).toBe('never-started');
    const bad = await call(client, 'logs', { name: 'bot', lines: 'many' });
    expect(bad.isError).toBe(true);
    expect(text(bad)).toMatch(/^pguard: logs: lines: .*number.*\.$/);
    const unknown = await call(client, 'status', { name: 'nope' });
    expect(unknown.isError).toBe(true);
    expect(text(unknown)).toMatch(/^pguard: no process named "nope"/);
    expect(text(await call(client, 'ack_alerts', {}))).toBe('pguard: give ids (from the alerts tool) or all: true.');
  });

  it('starts, restarts, stops, registers and deregisters real processes with the flags', async () => {
    const t = tmpRegistry({ bot: { command: forever } });
    const { client } = await connect(t, ['--allow-control', '--allow-register']);
    expect((await call(client, 'start', { names: ['bot'] })).structuredContent).toMatchObject({ results: [{ name: 'bot', outcome: 'started' }] });
    const pid = (await t.status('bot')).pid;
    expect(() => process.kill(pid, 0)).not.toThrow();
    await call(client, 'restart', { names: ['bot'] });
    expect((await t.status('bot')).pid).not.toBe(pid);
    expect((await call(client, 'stop', { names: ['bot'] })).structuredContent).toMatchObject({ results: [{ name: 'bot', outcome: 'stopped' }] });
    expect((await t.status('bot')).status).toBe('stopped');
    const reg = await call(client, 'register', { name: 'job', command: 'true', duration_min: 0, health: [{ type: 'tcp', port: 5432 }] });
    expect(reg.structuredContent).toMatchObject({ name: 'job', created: true });
    expect(JSON.parse(readFileSync(t.registry, 'utf8')).job).toEqual({ command: 'true', duration_min: 0, health: [{ type: 'tcp', port: 5432 }] });
    const badReg = await call(client, 'register', { name: 'job', command: 'true', max_restarts: -1 });
    expect(badReg.isError).toBe(true);
    expect(text(await call(client, 'rollback', { name: 'bot' }))).toMatch(/^pguard: "bot" has no known-good generation/);
    expect((await call(client, 'deregister', { name: 'job' })).structuredContent).toMatchObject({ name: 'job', removed: true });
    expect(Object.keys(JSON.parse(readFileSync(t.registry, 'utf8')))).toEqual(['bot']);
  });

  it('tells a subscriber of pguard://alerts and pguard://status of a real crash within 2 s, without polling by the agent', async () => {
    const t = tmpRegistry({ bot: { command: forever, restart_cooldown: 0 } });
    await t.cli(['start', 'bot', '--no-wait']);
    const pid = await waitFor(async () => (await t.status('bot')).pid as number | null, { what: 'bot to run' });
    const { client } = await connect(t);
    const updates: { uri: string; at: number }[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => { updates.push({ uri: n.params.uri, at: Date.now() }); });
    await client.subscribeResource({ uri: 'pguard://alerts' });
    await client.subscribeResource({ uri: 'pguard://status' });
    const killedAt = Date.now();
    process.kill(pid, 'SIGKILL'); // the runner restarts it and raises a crashed alert
    await waitFor(() => updates.some((u) => u.uri === 'pguard://alerts') || null, { timeoutMs: 5000, what: 'the alerts update' });
    await waitFor(() => updates.some((u) => u.uri === 'pguard://status') || null, { timeoutMs: 5000, what: 'the status update' });
    for (const uri of ['pguard://alerts', 'pguard://status']) expect(updates.find((u) => u.uri === uri)!.at - killedAt).toBeLessThan(2000);
    const read = await client.readResource({ uri: 'pguard://alerts' });
    expect(JSON.parse((read.contents[0] as { text: string }).text)).toMatchObject([{ process: 'bot', kind: 'crashed' }]);
    const log = await client.readResource({ uri: 'pguard://logs/bot' });
    expect(log.contents[0]).toMatchObject({ mimeType: 'text/plain' });
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toEqual(['pguard://status', 'pguard://alerts', 'pguard://logs/bot']);
  });

  it('offers the triage prompt', async () => {
    const t = tmpRegistry({});
    const { client } = await connect(t);
    expect((await client.listPrompts()).prompts.map((p) => p.name)).toEqual(['triage']);
    const p = await client.getPrompt({ name: 'triage' });
    expect((p.messages[0]!.content as { text: string }).text).toContain('ack_alerts');
  });

  it('survives a registry broken under it: a tool error with line and column, then works again once fixed', async () => {
    const t = tmpRegistry({ bot: { command: forever } });
    const { client } = await connect(t);
    const good = readFileSync(t.registry, 'utf8');
    writeFileSync(t.registry, '{"bot": ');
    const broken = await call(client, 'status');
    expect(broken.isError).toBe(true);
    expect(text(broken)).toMatch(/^pguard: .*\.process-registry\.json:1:\d+: not valid JSON/);
    writeFileSync(t.registry, good);
    expect((await call(client, 'status')).isError).toBeFalsy();
  });
});
