// The one place that reads the time: everything else receives `now` as a number (ms since epoch).
export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
