// The words a program or an agent reads in pguard's output are documented, every one of them, in
// the README and in the agent skill: a status, an alert kind, an evidence action, an error code.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ALERT_KINDS, EVIDENCE_ACTIONS } from '../src/core/alerts.js';
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
