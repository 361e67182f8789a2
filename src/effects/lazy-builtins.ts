// Node's heavier built-in modules, loaded at their first use rather than at start-up: the hot
// commands (status, alerts) take no lock and spawn nothing, and start ~1.5 ms sooner without them.
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

export const net = (): typeof import('node:net') => load('node:net') as typeof import('node:net');
export const childProcess = (): typeof import('node:child_process') => load('node:child_process') as typeof import('node:child_process');
export const crypto = (): typeof import('node:crypto') => load('node:crypto') as typeof import('node:crypto');
