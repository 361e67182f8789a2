import * as fs from 'node:fs';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { writeFileAtomic } from '../../src/effects/atomic-write.js';

// Every openSync call, so a test can see the mode a temp file is created with (before any chmod).
vi.mock('node:fs', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs')>();
  return { ...real, openSync: vi.fn(real.openSync) };
});

const dirs: string[] = [];
afterEach(() => { while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true }); });

describe('atomic write', () => {
  it('creates its temp file with the target\'s mode (0600: never readable by others, not even while written), whatever the umask', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pguard-atomic-'));
    dirs.push(dir);
    const target = join(dir, 'secret.json');
    const old = process.umask(0);
    try {
      writeFileAtomic(target, '{"api": {"env": {"API_KEY": "k"}}}\n', 0o600);
      writeFileAtomic(target, '{"api": {"env": {"API_KEY": "k2"}}}\n', 0o600);
    } finally {
      process.umask(old);
    }
    const temps = vi.mocked(fs.openSync).mock.calls.filter(([p]) => String(p).endsWith('.tmp'));
    expect(temps).toHaveLength(2);
    // O_CREAT|O_EXCL ('wx'): a new file with this mode, never one planted at that name.
    for (const [, flags, mode] of temps) expect([flags, mode]).toEqual(['wx', 0o600]);
    expect(statSync(target).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['secret.json']);
  });
});
