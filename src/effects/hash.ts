// The one hash pguard uses: the ledger's chain and definition generations' identity.
import { createHash } from 'node:crypto';

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
