// The one hash pguard uses (SHA-256): the ledger's chain and signatures, definition generations'
// identity, and the names derived from a path (state directory, lock, cron line). From
// @noble/hashes rather than node:crypto: the same digests, without loading node:crypto (~2 ms) on
// every CLI start, where the state directory's name is hashed (test/effects/hash.test.ts holds
// both to the same output).
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 as digest } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { crypto } from './lazy-builtins.js';

/** SHA-256 of the text's UTF-8 bytes, in hex. */
export const sha256 = (text: string): string => bytesToHex(digest(utf8ToBytes(text)));

/** HMAC-SHA-256 of the text's UTF-8 bytes under a key, in hex. */
export const hmacSha256 = (key: Uint8Array, text: string): string => bytesToHex(hmac(digest, key, utf8ToBytes(text)));

/** SHA-256 by node:crypto (~2 us a ledger entry against noble's ~8 us): for verify and large batches, where loading it pays. */
export function bulkSha256(): (text: string) => string {
  const { createHash } = crypto();
  return (text) => createHash('sha256').update(text, 'utf8').digest('hex');
}
