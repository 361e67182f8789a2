// Work started in the background, as typed jobs: each is a detached `pguard` of its own (its own
// session, not waited for) against this registry and state directory. The argv of every job is
// built here and nowhere else; the commands that run them parse the same flags.
import type { Context } from './context.js';
import { spawnDetachedCli } from '../effects/spawn.js';

export type Job =
  /** Restart these dependents of `after` once it is ready (restart_dependents). */
  | { readonly kind: 'restart-dependents'; readonly names: readonly string[]; readonly after: string }
  /** Start these dependents, which wait for `after`, once it is ready (whoever started it). */
  | { readonly kind: 'wake'; readonly names: readonly string[]; readonly after: string }
  /** Put the last known-good definition back (it waits for the current runner). */
  | { readonly kind: 'rollback'; readonly name: string; readonly reason: string }
  /** Deliver recorded alerts to the slow channels (desktop, webhook, command). */
  | { readonly kind: 'notify'; readonly ids: readonly string[] }
  /** The watcher, its output appended to watch.log. */
  | { readonly kind: 'watch' }
  /** Its restart_schedule came: restart it as `pguard restart` does. */
  | { readonly kind: 'scheduled-restart'; readonly name: string };

export function jobArgv(job: Job): string[] {
  switch (job.kind) {
    case 'restart-dependents': return ['restart', ...job.names, '--after', job.after, '--no-wait'];
    case 'wake': return ['wake', ...job.names, '--after', job.after];
    case 'rollback': return ['rollback', job.name, '--auto', '--reason', job.reason];
    case 'notify': return ['notify', 'send', ...job.ids];
    case 'watch': return ['watch', '--foreground'];
    case 'scheduled-restart': return ['restart', job.name, '--scheduled', '--no-wait'];
  }
}

/**
 * Node's flags for the long-lived watcher, which V8 reads only at start-up: the young generation
 * capped at 1 MB a semi-space (V8 grows it to 8 MB after a busy moment and keeps it: ~5 MB of
 * resident memory). bin/pguard.js's first line gives `pguard watch` and `pguard dashboard` the
 * same when run as a command (test/cli/resident-flags.test.ts holds both to this list).
 */
export const RESIDENT_NODE_FLAGS = ['--max-semi-space-size=1'] as const;

export function defer(ctx: Context, job: Job): void {
  spawnDetachedCli(jobArgv(job), {
    registryPath: ctx.registry.path, stateDir: ctx.store.dir, env: ctx.env,
    ...(job.kind === 'watch' ? { logFile: ctx.store.path('watchLog'), nodeFlags: RESIDENT_NODE_FLAGS } : {}),
  });
}
