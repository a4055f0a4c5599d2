import { httpError } from './errors.ts';

/** How far ahead of our clock a sender's timestamp may be: clocks drift, not by years. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;
/** Nothing this service reads happened before this (FreeScout and Postmark are younger). */
export const EARLIEST_PLAUSIBLE_TIME = new Date('2000-01-01T00:00:00Z');

/**
 * Refuses (400) a timestamp more than `MAX_CLOCK_SKEW_MS` in the future or before 2000: a
 * year-9999 `updatedAt` would otherwise win every later comparison and freeze its row forever.
 */
export function assertPlausibleTime(time: Date, now: Date, field: string): Date {
  if (Number.isNaN(time.getTime()))
    throw httpError(400, 'invalid_payload', `${field}: not a valid timestamp`);
  if (time.getTime() > now.getTime() + MAX_CLOCK_SKEW_MS) {
    throw httpError(
      400,
      'invalid_payload',
      `${field}: ${time.toISOString()} is more than ${MAX_CLOCK_SKEW_MS / 60_000} minutes in the future`,
    );
  }
  if (time < EARLIEST_PLAUSIBLE_TIME) {
    throw httpError(400, 'invalid_payload', `${field}: ${time.toISOString()} is before 2000`);
  }
  return time;
}
