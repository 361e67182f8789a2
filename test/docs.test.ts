// The words a program or an agent reads in pguard's output are documented, every one of them, in
// the README and in the agent skill: a status, an alert kind, an evidence action, an error code.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALERT_KINDS, EVIDENCE_ACTIONS } from '../src/core/alerts.js';
import { FIELDS } from '../src/core/schema.js';
import { STATUSES } from '../src/core/states.js';
import { ERROR_CODES } from '../src/errors.js';

const read = (p: string) => readFileSync(new URL(`../${p}`, import.meta.url), 'utf8');
const words = { status: [...STATUSES, 'invalid'], 'alert kind': ALERT_KINDS, 'evidence action': EVIDENCE_ACTIONS, 'error code': ERROR_CODES };

describe.each(['README.md', 'templates/agent/SKILL.md'])('%s', (file) => {
  const text = read(file);
  it.each(Object.entries(words))('names every %s', (_what, list) => {
    expect(list.filter((w) => !text.includes(`\`${w}\``))).toEqual([]);
  });
});

describe('README.md field list', () => {
  it('has a row for every registry field of FIELDS, and no other', () => {
    const text = read('README.md');
    const start = text.indexOf('| field | type | default | meaning |');
    const lines = text.slice(start).split('\n').slice(2);
    const rows = lines.slice(0, lines.findIndex((l) => !l.startsWith('|')));
    const keys = rows.map((l) => /^\| `([a-z_]+)`/.exec(l)?.[1]);
    expect(keys).toEqual(FIELDS.map((f) => f.key));
  });
});
