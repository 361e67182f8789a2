// A program on PATH (the PATH of the environment given), as `command -v` finds it, or null.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export function which(program: string, env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, program);
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch { /* not here */ }
  }
  return null;
}
