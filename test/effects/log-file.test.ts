// logs -f's reader (effects/log-file.ts followLog) against real files: renames (log_writer's
// rotation), several renames between two of its looks, and a truncation in place (copytruncate).
import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { followLog } from '../../src/effects/log-file.js';
import { waitFor } from '../helpers/wait-for.js';

const dirs: string[] = [];
afterEach(() => { while (dirs.length) rmSync(dirs.pop()!, { recursive: true, force: true }); });

function follow(file: string, tailLines = 0) {
  const abort = new AbortController();
  let text = '';
  const done = followLog(file, (chunk) => { text += chunk.toString('utf8'); }, abort.signal, { tailLines });
  return { text: () => text, stop: async () => { abort.abort(); await done; } };
}

describe('followLog', () => {
  it('prints the tail, then what is appended, across a rename, two renames between two looks, and a truncation', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pguard-follow-'));
    dirs.push(dir);
    const log = join(dir, 'p.log');
    writeFileSync(log, 'old 1\nold 2\n');
    const f = follow(log, 1);
    try {
      await waitFor(() => f.text() === 'old 2\n', { what: 'the tail' });
      appendFileSync(log, 'a\n');
      await waitFor(() => f.text().endsWith('a\n'), { what: 'an appended line' });
      // A rotation by rename (log -> log.1), then a new log.
      appendFileSync(log, 'b\n');
      renameSync(log, `${log}.1`);
      writeFileSync(log, 'c\n');
      await waitFor(() => f.text().endsWith('c\n'), { what: 'the line after a rotation' });
      // Two rotations at once (within one 100 ms look): the file between is printed whole.
      appendFileSync(log, 'd\n');
      renameSync(`${log}.1`, `${log}.2`);
      renameSync(log, `${log}.1`);
      writeFileSync(log, 'e\n');
      renameSync(`${log}.2`, `${log}.3`);
      renameSync(`${log}.1`, `${log}.2`);
      renameSync(log, `${log}.1`);
      writeFileSync(log, 'f\n');
      await waitFor(() => f.text().endsWith('f\n'), { what: 'the line after two rotations' });
      // copytruncate: emptied in place, then written on.
      truncateSync(log, 0);
      appendFileSync(log, 'g\n');
      await waitFor(() => f.text().endsWith('g\n'), { what: 'the line after a truncation' });
      // ... and written past where it was read before the next look.
      truncateSync(log, 0);
      appendFileSync(log, 'a longer line after a second truncation\n');
      await waitFor(() => f.text().endsWith('truncation\n'), { what: 'the line after a second truncation' });
      expect(f.text()).toBe('old 2\na\nb\nc\nd\ne\nf\ng\na longer line after a second truncation\n');
    } finally {
      await f.stop();
    }
  });

  it('waits for a log that does not exist yet, and prints it from its start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pguard-follow-'));
    dirs.push(dir);
    const log = join(dir, 'p.log');
    const f = follow(log, 10);
    try {
      writeFileSync(log, 'first\n');
      await waitFor(() => f.text() === 'first\n', { what: 'the new log' });
    } finally {
      await f.stop();
    }
  });
});
