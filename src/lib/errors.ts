import { z } from 'zod';

/** An error whose status, code and message are safe to show to the caller. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** The body of every refusal and failure: `{"error", "message"}` (docs/api.md §1). */
export const errorSchema = z.object({ error: z.string(), message: z.string() });

export function httpError(statusCode: number, code: string, message: string): HttpError {
  return new HttpError(statusCode, code, message);
}

/** An external API (FreeScout, GitHub, Slack) failed, timed out or answered an error. */
export class UpstreamError extends Error {
  constructor(
    readonly service: 'freescout' | 'github' | 'slack' | 'alerts',
    message: string,
    readonly details: {
      status?: number;
      body?: unknown;
      retryAfterSeconds?: number;
      /** True when the request may have reached the service (timeout after send, reset). */
      outcomeUnknown?: boolean;
      cause?: unknown;
    } = {},
  ) {
    super(message, { cause: details.cause });
    this.name = 'UpstreamError';
  }

  get status(): number | undefined {
    return this.details.status;
  }
}

const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EPIPE',
  'EAI_AGAIN',
]);
// SQLSTATE 08xxx: connection exceptions; 57P0x: server shutting down or restarting; 53300: too many
// connections; 40001/40P01: serialization failure or deadlock, which a retry resolves; 57014: a
// statement cancelled by statement_timeout (a database too slow to answer).
const UNAVAILABLE_SQLSTATE = /^(08...|57P0[1-3]|57014|53300|40001|40P01)$/;

/** True when the database could not do the work now but a retry later may succeed. */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error; current instanceof Error; current = current.cause) {
    const code = (current as Error & { code?: unknown }).code;
    if (typeof code === 'string' && (CONNECTION_ERROR_CODES.has(code) || UNAVAILABLE_SQLSTATE.test(code))) {
      return true;
    }
    if (
      /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection refused|Query read timeout/i.test(
        current.message,
      )
    ) {
      return true;
    }
    if (current instanceof AggregateError && current.errors.some(isDatabaseUnavailable)) return true;
  }
  return false;
}
