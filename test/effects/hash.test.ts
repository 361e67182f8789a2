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

describe('the ledger key\'s bulk signer (verify and large batches)', () => {
  it('signs as node:crypto\'s HMAC-SHA-256 and as the one appends use, over the texts above', async () => {
    const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { loadLedgerKey } = await import('../../src/effects/ledger-key.js');
    const dir = mkdtempSync(join(tmpdir(), 'pguard-key-'));
    try {
      const hex = randomBytes(32).toString('hex');
      writeFileSync(join(dir, 'ledger.key'), `${hex}\n`, { mode: 0o600 });
      const key = loadLedgerKey({ PGUARD_LEDGER_KEY_FILE: join(dir, 'ledger.key') }, { create: false });
      if (!key.signer) throw new Error(key.why);
      const bulk = key.bulk();
      expect(bulk.kid).toBe(key.signer.kid);
      for (const t of texts.slice(0, 120)) {
        expect(bulk.sign(t)).toBe(createHmac('sha256', Buffer.from(hex, 'hex')).update(t).digest('hex'));
        expect(bulk.sign(t)).toBe(key.signer.sign(t));
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
