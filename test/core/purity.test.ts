import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const dir = new URL('../../src/core/', import.meta.url);
const files = readdirSync(dir).filter((f) => f.endsWith('.ts'));

describe('src/core is pure', () => {
  it.each(files)('%s imports no node:*, effects/ or app/, and reads no clock or environment', (file) => {
    const text = readFileSync(new URL(file, dir), 'utf8');
    expect(text).not.toMatch(/from ['"](node:|fs|path|child_process|net|os)/);
    expect(text).not.toMatch(/from ['"]\.\.\/(effects|app|cli|commands)\//);
    expect(text).not.toMatch(/Date\.now\(\)|new Date\(\)|process\.env|Math\.random/);
  });
});
