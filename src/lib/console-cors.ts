import type { FastifyCorsOptions } from '@fastify/cors';
import type { FastifyRequest } from 'fastify';

/** The console's routes (Investigate, the GitHub links): the only ones a browser calls cross-origin. */
const CONSOLE_PATH = /^\/api\/console(\/|\?|$)/i;
/** Browsers cache a preflight this long, so a console listing tickets does not ask before every call. */
const PREFLIGHT_MAX_AGE_SECONDS = 600;

/**
 * CORS with credentials for `CONSOLE_ORIGINS` on `/api/console/*`, preflight included; every
 * other origin and path gets no CORS headers. Registered before internal auth: a preflight
 * carries no credentials, so it is answered here and never reaches the 401.
 */
export function consoleCorsOptions(origins: string[]): FastifyCorsOptions {
  const allowed = new Set(origins);
  return {
    hideOptionsRoute: true,
    delegator: (
      request: FastifyRequest,
      callback: (error: Error | null, options: FastifyCorsOptions) => void,
    ) => {
      const origin = originOf(request.headers.origin);
      if (origin === undefined || !allowed.has(origin) || !CONSOLE_PATH.test(request.url)) {
        callback(null, { origin: false });
        return;
      }
      callback(null, {
        origin: request.headers.origin as string,
        credentials: true,
        methods: ['GET', 'POST', 'PUT', 'DELETE'],
        allowedHeaders: ['Authorization', 'Content-Type', 'Cf-Access-Jwt-Assertion', 'X-Request-Id'],
        exposedHeaders: ['X-Request-Id', 'Retry-After'],
        maxAge: PREFLIGHT_MAX_AGE_SECONDS,
      });
    },
  };
}

/** A CORS preflight (`OPTIONS` asking for a method): browsers never send credentials with it. */
export function isPreflight(request: FastifyRequest): boolean {
  return request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined;
}

function originOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  try {
    return new URL(header).origin;
  } catch {
    return undefined;
  }
}
