import type { FastifyRequest } from 'fastify';
import { httpError } from './errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The body exactly as received: signatures are computed over these bytes. */
    rawBody?: Buffer;
  }
  interface FastifyContextConfig {
    /** The handler parses the body itself, after checking its signature over the raw bytes. */
    rawBody?: boolean;
  }
}

/** Keeps the bytes; JSON is parsed later, so a webhook can verify its signature first. */
export function rawBodyParser(
  request: FastifyRequest,
  body: Buffer,
  done: (error: Error | null, body?: unknown) => void,
): void {
  request.rawBody = body;
  done(null, body);
}

export function parseJsonBody(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw httpError(400, 'invalid_json', 'the request body is not valid JSON');
  }
}
