// The agent-facing channel: alert.flag exists while any alert is unacknowledged, alert.txt says
// what they are. Agents poll these (or `pguard alerts --json`) at each turn.
import { mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { describeAlerts, type Alert } from '../../core/alerts.js';
import { writeFileAtomic } from '../atomic-write.js';

export function writeFlagFiles(flagFile: string, textFile: string, alerts: readonly Alert[]): void {
  const open = alerts.filter((a) => !a.acknowledged);
  if (open.length === 0) {
    rmSync(flagFile, { force: true });
    rmSync(textFile, { force: true });
    return;
  }
  mkdirSync(dirname(textFile), { recursive: true, mode: 0o700 });
  writeFileAtomic(textFile, describeAlerts(alerts), 0o600);
  mkdirSync(dirname(flagFile), { recursive: true, mode: 0o700 });
  const newest = open[open.length - 1]!;
  writeFileAtomic(flagFile, `${open.length} ${newest.at} ${newest.process} ${newest.kind}\n`, 0o600);
}
