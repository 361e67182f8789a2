// The version of the package this pguard runs from: `--version`, and what the MCP server says it is.
import { readFileSync } from 'node:fs';

/** package.json's version: the bundles (dist/bundle) and tsc's output (dist/cli) both sit two folders below it. */
export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}
