export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** `YYYY-MM-DD HH:MM:SS` in UTC, as operators read times in notes, comments and lists. */
export function formatUtc(at: Date): string {
  return at.toISOString().slice(0, 19).replace('T', ' ');
}
