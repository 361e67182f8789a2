// A Context for app-layer tests without the CLI: the registry from an object, its own state
// directory in a temporary folder (removed after each test), and a fixed clock.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { Context } from '../../src/app/context.js';
import { validateRegistry } from '../../src/core/validate.js';
import { StateStore } from '../../src/effects/state-store.js';

const dirs: string[] = [];
afterEach(() => { while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true }); });

export function fakeContext(entries: Record<string, unknown>, now: number): Context {
  const dir = mkdtempSync(join(tmpdir(), 'pguard-app-'));
  dirs.push(dir);
  const { defs, settings } = validateRegistry(entries);
  const store = new StateStore(join(dir, 'state'));
  store.init();
  return {
    registry: { path: join(dir, '.process-registry.json'), text: '', data: entries, defs, settings, issues: [] },
    store, clock: { now: () => now }, env: {}, alertFlag: join(dir, 'flag'), alertText: join(dir, 'txt'), progress: () => {},
  };
}
