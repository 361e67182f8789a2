// Where a ledger was begun: one small file per state directory, written with the ledger's first
// entry, kept beside the ledger key and so outside the state directory:
//   <key folder>/ledgers/<sha256(state dir), 16 hex>.json   {"state_dir", "at", "hash"} of entry 1
// Someone who can delete the state directory's files but not write the key's folder can then not
// pass a deleted ledger off as one never begun, nor a ledger begun again as the first one
// (`audit verify` compares). Someone with the user's own account can delete this too: that is what
// an anchor kept elsewhere (`audit head`) is for.
import { lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from './atomic-write.js';
import { sha256 } from './hash.js';
import { ledgerKeyPath } from './ledger-key.js';

export interface LedgerMark {
  readonly state_dir: string;
  /** Entry 1's time and hash. */
  readonly at: string;
  readonly hash: string;
}

export function ledgerMarkPath(stateDir: string, env: NodeJS.ProcessEnv): string {
  const dir = resolve(stateDir);
  return join(dirname(ledgerKeyPath(env)), 'ledgers', `${sha256(dir).slice(0, 16)}.json`);
}

const ownedByMe = (uid: number) => typeof process.getuid !== 'function' || uid === process.getuid();

/**
 * The mark for this state directory, or null when there is none. One that is not a regular file of
 * this user's, or not a mark of this directory, is not taken for one (it could only raise a false
 * alarm: the attack is deleting a mark, not planting one).
 */
export function readLedgerMark(stateDir: string, env: NodeJS.ProcessEnv): LedgerMark | null {
  const path = ledgerMarkPath(stateDir, env);
  try {
    const st = lstatSync(path, { throwIfNoEntry: false });
    if (!st || !st.isFile() || !ownedByMe(st.uid)) return null;
    const mark = JSON.parse(readFileSync(path, 'utf8')) as Partial<LedgerMark>;
    if (mark.state_dir !== resolve(stateDir) || typeof mark.at !== 'string' || typeof mark.hash !== 'string' || !/^[0-9a-f]{64}$/.test(mark.hash)) return null;
    return { state_dir: mark.state_dir, at: mark.at, hash: mark.hash };
  } catch {
    return null;
  }
}

/**
 * Record that a ledger began here with this entry 1. Its folder is made 0700; one that is not a
 * folder of this user's, or that others can write, is refused (throws, with why).
 */
export function writeLedgerMark(stateDir: string, env: NodeJS.ProcessEnv, first: { at: string; hash: string }): void {
  const path = ledgerMarkPath(stateDir, env);
  const dir = dirname(path);
  const st = lstatSync(dir, { throwIfNoEntry: false });
  if (!st) mkdirSync(dir, { recursive: true, mode: 0o700 });
  else if (!st.isDirectory() || !ownedByMe(st.uid)) throw new Error(`${dir} is not a folder of yours`);
  else if ((st.mode & 0o022) !== 0) throw new Error(`${dir} is writable by others (mode ${(st.mode & 0o777).toString(8)})`);
  const mark: LedgerMark = { state_dir: resolve(stateDir), at: first.at, hash: first.hash };
  writeFileAtomic(path, `${JSON.stringify(mark)}\n`, 0o600, { durable: false });
}
