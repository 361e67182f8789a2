// The SDK's own MCP client over a real stdio transport, against `node bin/pguard.js mcp` on a
// temporary registry; every client opened is closed after each test (which ends its server).
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterEach } from 'vitest';
import { CLI } from './run-cli.js';
import type { TmpRegistry } from './tmp-registry.js';

const open: Client[] = [];
afterEach(async () => { for (const c of open.splice(0)) await c.close(); });

export async function connectMcp(t: TmpRegistry, flags: string[] = [], opts: { noRegistry?: boolean } = {}): Promise<{ client: Client; stderr: () => string }> {
  const { PGUARD_REGISTRY: _r, ...env }: Record<string, string> = { ...process.env as Record<string, string>, ...t.env, NO_COLOR: '1' };
  const transport = new StdioClientTransport({
    command: process.execPath, args: [CLI, 'mcp', ...(opts.noRegistry ? [] : ['--registry', t.registry]), ...flags],
    env: opts.noRegistry ? env : { ...env, PGUARD_REGISTRY: t.registry }, stderr: 'pipe', cwd: '/',
  });
  let err = '';
  transport.stderr?.on('data', (d: Buffer) => { err += d.toString(); });
  const client = new Client({ name: 'pguard-test', version: '1.0.0' });
  await client.connect(transport);
  open.push(client);
  return { client, stderr: () => err };
}

export type ToolResult = { isError?: boolean; content: { type: string; text?: string }[]; structuredContent?: Record<string, unknown> };
export const callTool = async (c: Client, name: string, args: Record<string, unknown> = {}) => (await c.callTool({ name, arguments: args })) as ToolResult;
export const textOf = (r: ToolResult) => r.content.map((x) => x.text ?? '').join('');
