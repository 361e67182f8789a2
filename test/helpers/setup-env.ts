// Every test file runs with a config folder of its own, so that nothing a test starts (CLI, runner,
// bench tool) makes or reads a ledger key in the invoking user's ~/.config.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const configHome = mkdtempSync(join(tmpdir(), 'pguard-config-'));
process.env.XDG_CONFIG_HOME = configHome;
// The per-user registry index and alert flag ($XDG_STATE_HOME/pguard) too: never the user's own.
const stateHome = mkdtempSync(join(tmpdir(), 'pguard-xdg-state-'));
process.env.XDG_STATE_HOME = stateHome;
delete process.env.PGUARD_LEDGER_KEY_FILE;
afterAll(() => {
  rmSync(configHome, { recursive: true, force: true });
  rmSync(stateHome, { recursive: true, force: true });
});
