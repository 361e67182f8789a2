// alerts.json in the state directory: the alert history, read and written under the alerts lock.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Alert } from '../core/alerts.js';
import { writeFileAtomic } from './atomic-write.js';

export function readAlerts(stateDir: string): Alert[] {
  try {
    const parsed: unknown = JSON.parse(readFileSync(join(stateDir, 'alerts.json'), 'utf8'));
    return Array.isArray(parsed) ? (parsed as Alert[]) : [];
  } catch {
    return [];
  }
}

export function writeAlerts(stateDir: string, alerts: readonly Alert[]): void {
  writeFileAtomic(join(stateDir, 'alerts.json'), `${JSON.stringify(alerts, null, 1)}\n`, 0o600, { durable: false });
}
