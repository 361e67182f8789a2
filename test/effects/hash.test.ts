// pguard's SHA-256 (@noble/hashes) gives node:crypto's digests: the state directory's name, the
// ledger's chain and its signatures must not change with the library that computes them.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hmacSha256, sha256 } from '../../src/effects/hash.js';

const texts = [
  '', 'abc', '/home/user/project/.process-registry.json', 'é 漢字 🚀 \u0000 \n', 'x'.repeat(55), 'x'.repeat(56), 'x'.repeat(63),
  'x'.repeat(64), 'x'.repeat(65), 'y'.repeat(119), 'y'.repeat(120), 'z'.repeat(1_000_000),
  ...Array.from({ length: 200 }, (_, i) => randomBytes(i * 3).toString('latin1')),
];

describe('sha256 and hmacSha256', () => {
  it('give node:crypto\'s digests over UTF-8 (block edges, multibyte, a megabyte, 200 random texts)', () => {
    for (const t of texts) expect(sha256(t)).toBe(createHash('sha256').update(t).digest('hex'));
  });

  it('sign as node:crypto\'s HMAC-SHA-256 does, with a 32-byte key (the ledger\'s)', () => {
    for (let i = 0; i < 50; i++) {
      const key = randomBytes(32);
      const t = texts[i]!;
      expect(hmacSha256(key, t)).toBe(createHmac('sha256', key).update(t).digest('hex'));
    }
  });
});
