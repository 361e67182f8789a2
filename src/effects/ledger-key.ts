// The ledger key: 32 random bytes that sign the audit ledger (core/ledger-chain.ts), kept outside
// the state directory, in $PGUARD_LEDGER_KEY_FILE or $XDG_CONFIG_HOME/pguard/ledger.key (default
// ~/.config/pguard/ledger.key; %APPDATA%\pguard\ledger.key on Windows), mode 0600 (on Windows,
// yours alone by its DACL). Someone who can write the state directory but not this
// file can recompute every hash of the chain, but not its signatures.
import { linkSync, lstatSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Signer } from '../core/ledger-chain.js';
import { hmacSha256, sha256 } from './hash.js';
import { crypto } from './lazy-builtins.js';
import { isTrustedOwner, makePrivate, othersAllowed, readAccess, WRITE_BITS } from './win/acl.js';

export type LedgerKey =
  | { readonly signer: Signer; readonly path: string; readonly bulk: () => Signer }
  | { readonly signer: null; readonly path: string; readonly why: string };

export function ledgerKeyPath(env: NodeJS.ProcessEnv): string {
  if (env.PGUARD_LEDGER_KEY_FILE) return resolve(env.PGUARD_LEDGER_KEY_FILE);
  // Windows: %APPDATA%\pguard\ledger.key, where Windows keeps a user's settings.
  const base = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME
    : process.platform === 'win32' ? (env.APPDATA && isAbsolute(env.APPDATA) ? env.APPDATA : join(homedir(), 'AppData', 'Roaming'))
    : join(homedir(), '.config');
  return join(base, 'pguard', 'ledger.key');
}

const cache = new Map<string, LedgerKey>();

/**
 * The key at its path: made when missing and `create` (appends do; verify never does). A key
 * another user could read or replace is not used: a symbolic link, someone else's file, a mode
 * open to group or others.
 */
export function loadLedgerKey(env: NodeJS.ProcessEnv, opts: { create: boolean }): LedgerKey {
  const path = ledgerKeyPath(env);
  // Appends (many in a long-lived watch) read it once; verify reads it afresh each time.
  const known = opts.create ? cache.get(path) : undefined;
  if (known?.signer) return known;
  let loaded = readKey(path);
  if (!loaded.signer && loaded.why === 'missing' && opts.create) loaded = makeKey(path);
  if (loaded.signer) cache.set(path, loaded);
  return loaded;
}

function readKey(path: string): LedgerKey {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) return { signer: null, path, why: 'missing' };
  const uid = typeof process.getuid === 'function' ? process.getuid() : null;
  if (!st.isFile()) return { signer: null, path, why: `${path} is not a regular file` };
  if (process.platform === 'win32') {
    // The owner and DACL decide on Windows (effects/win/acl.ts), not a mode.
    const access = readAccess(path);
    if (!access) return { signer: null, path, why: `${path}: its owner and permissions cannot be read` };
    if (!isTrustedOwner(access.owner)) return { signer: null, path, why: `${path} belongs to ${access.owner}, not to you` };
    const others = othersAllowed(access, ~0 >>> 0);
    if (others.length > 0) return { signer: null, path, why: `${path} is open to ${others.join(', ')}; make it yours alone (icacls "${path}" /inheritance:r /grant:r "%USERNAME%:F")` };
  } else {
    if (uid !== null && st.uid !== uid) return { signer: null, path, why: `${path} belongs to uid ${st.uid}, not to you` };
    if ((st.mode & 0o077) !== 0) return { signer: null, path, why: `${path} is open to others (mode ${(st.mode & 0o777).toString(8)}); chmod 600 it` };
  }
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    return { signer: null, path, why: `${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
  if (!/^[0-9a-f]{64}$/.test(text)) return { signer: null, path, why: `${path} is not a ledger key (64 hex digits)` };
  const key = Buffer.from(text, 'hex');
  const kid = sha256(text).slice(0, 12);
  // bulk: node:crypto's HMAC, for verify and large batches, where loading node:crypto (~2 ms) pays:
  // ~2 us an entry against noble's ~11 us; the same MACs (test/effects/hash.test.ts). (Two SHA-256
  // states keyed once and copied per entry took twice createHmac's time.)
  const bulk = (): Signer => {
    const { createHmac } = crypto();
    return { kid, sign: (t) => createHmac('sha256', key).update(t, 'utf8').digest('hex') };
  };
  return { signer: { kid, sign: (t) => hmacSha256(key, t) }, path, bulk };
}

/** A new key, made atomically: written under a name of our own, then linked (the first maker wins). */
function makeKey(path: string): LedgerKey {
  const dir = dirname(path);
  try {
    const st = lstatSync(dir, { throwIfNoEntry: false });
    if (!st) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      if (process.platform === 'win32') makePrivate(dir);
    } else if (!st.isDirectory()) return { signer: null, path, why: `${dir} is not a folder` };
    else if (process.platform === 'win32') {
      const access = readAccess(dir);
      const writers = access ? othersAllowed(access, WRITE_BITS) : ['(unreadable permissions)'];
      if (writers.length > 0) return { signer: null, path, why: `${dir} is writable by ${writers.join(', ')}: no key is kept there` };
    } else if ((st.mode & 0o022) !== 0) return { signer: null, path, why: `${dir} is writable by others (mode ${(st.mode & 0o777).toString(8)}): no key is kept there` };
    const { randomBytes } = crypto();
    const temp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
    writeFileSync(temp, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
    try {
      linkSync(temp, path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    } finally {
      unlinkSync(temp);
    }
  } catch (err) {
    return { signer: null, path, why: `cannot make ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})` };
  }
  return readKey(path);
}
