// The process lifecycle, every state and edge in one place (supervisord's states.py).
// Status strings are exactly what users see in `status --json`.

export const STATUSES = [
  'never-started', // registered, never run
  'scheduled',     // a job (`schedule`) armed by start, waiting for its first run
  'running',       // the process is up (or its runner is about to bring it up)
  'unhealthy',     // up, but failing a health probe (restarted at its failure_threshold)
  'stopping',      // the user asked it to stop; signals sent, not yet gone
  'stopped',       // stopped by the user
  'completed',     // ended normally: exit 0 after 80% of duration_min
  'crashed',       // ended prematurely; a restart is pending, or auto_restart is off
  'waiting',       // down, held by pguard until its dependencies are ready (then started again)
  'failed',        // gave up: the restart budget is spent
] as const;
export type Status = (typeof STATUSES)[number];

export type Event =
  | 'start'            // a start requested by the user, boot, or a failed-retry
  | 'exit-normal'      // classified as a normal completion
  | 'exit-premature'   // any other exit, or a vanished process
  | 'stop-requested'
  | 'stop-done'
  | 'restart'          // an automatic restart brought a new instance up
  | 'budget-exhausted'
  | 'probe-failed'     // a probe failed outside its grace period
  | 'probe-ok'         // every probe passes again
  | 'vanished'         // found gone with its runner, no exit recorded (a stale record before a start)
  | 'exit-final'       // an exit that must not be restarted (126, 127, no_restart_exit_codes)
  | 'hold'             // a dependency is not ready: wait for it instead of restarting
  | 'adopt'            // up, its runner alone died: a new runner watches the live run (status unchanged)
  | 'arm'              // `start` of a job (`schedule`): armed, not run
  | 'fire';            // a job's scheduled time came: a run starts

export const TRANSITIONS: Readonly<Record<Status, Partial<Record<Event, Status>>>> = {
  'never-started': { start: 'running', 'stop-requested': 'stopped', arm: 'scheduled' },
  scheduled: { fire: 'running', start: 'running', arm: 'scheduled', 'stop-requested': 'stopped' },
  running: { 'exit-normal': 'completed', 'exit-premature': 'crashed', 'exit-final': 'failed', 'stop-requested': 'stopping', 'probe-failed': 'unhealthy', vanished: 'crashed', adopt: 'running' },
  unhealthy: { 'probe-ok': 'running', 'exit-normal': 'completed', 'exit-premature': 'crashed', 'exit-final': 'failed', 'stop-requested': 'stopping', vanished: 'crashed', adopt: 'unhealthy' },
  crashed: { restart: 'running', 'budget-exhausted': 'failed', 'stop-requested': 'stopped', start: 'running', hold: 'waiting', arm: 'scheduled', fire: 'running' },
  waiting: { start: 'running', 'stop-requested': 'stopped', arm: 'scheduled' },
  stopping: { 'stop-done': 'stopped', 'stop-requested': 'stopping', vanished: 'stopped', hold: 'waiting' },
  stopped: { start: 'running', 'stop-requested': 'stopped', arm: 'scheduled' },
  // A job's runs end completed or failed and stay armed: its next time fires it from either.
  completed: { start: 'running', 'stop-requested': 'stopped', arm: 'scheduled', fire: 'running' },
  failed: { start: 'running', 'stop-requested': 'stopped', arm: 'scheduled', fire: 'running' },
};

export interface IllegalTransition {
  readonly illegal: true;
  readonly from: Status;
  readonly event: Event;
}

export function transition(from: Status, event: Event): Status | IllegalTransition {
  const to = TRANSITIONS[from][event];
  return to ?? { illegal: true, from, event };
}

export function isIllegal(x: Status | IllegalTransition): x is IllegalTransition {
  return typeof x === 'object';
}

/** Apply an edge that the caller has established is legal; a bug otherwise (core never throws on user input). */
export function mustTransition(from: Status, event: Event): Status {
  const to = transition(from, event);
  if (isIllegal(to)) throw new Error(`illegal transition: ${from} --${event}-->`);
  return to;
}

export function isStatus(x: unknown): x is Status {
  return typeof x === 'string' && (STATUSES as readonly string[]).includes(x);
}

/** running or unhealthy: a run is (supposed to be) up. */
export function isUp(status: Status): boolean {
  return status === 'running' || status === 'unhealthy';
}

/** What `healthcheck` reports as a problem. */
export function isProblem(status: Status): boolean {
  return status === 'crashed' || status === 'failed' || status === 'unhealthy' || status === 'waiting';
}
