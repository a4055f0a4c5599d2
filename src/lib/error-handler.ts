import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { HttpError, isDatabaseUnavailable } from './errors.ts';

/** Codes for the client errors Fastify raises itself (body limits, media types, bad headers). */
const FASTIFY_CLIENT_ERRORS: Record<string, string> = {
  FST_ERR_CTP_BODY_TOO_LARGE: 'payload_too_large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'unsupported_media_type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'invalid_content_length',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'invalid_json',
  FST_ERR_CTP_INVALID_JSON_BODY: 'invalid_json',
};

export interface ErrorHandlerDeps {
  /** Told of every request refused because the database is unavailable (it logs, not the handler). */
  databaseUnavailable(error: unknown, request: FastifyRequest): void;
}

/** One shape for every error: `{"error", "message"}`; 5xx details stay in the log. */
export const createErrorHandler =
  (deps: ErrorHandlerDeps) => (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    // Refused before its body was read (auth, flag, configuration): close the connection rather
    // than read a body nobody will use, possibly trickled in by the client that was refused.
    if (request.rawBody === undefined && hasBody(request)) reply.header('connection', 'close');
    if (error instanceof HttpError) {
      return reply.code(error.statusCode).send({ error: error.code, message: error.message });
    }
    if (hasZodFastifySchemaValidationErrors(error)) {
      const message = error.validation
        .map((issue) => `${issue.instancePath || error.validationContext || 'request'}: ${issue.message}`)
        .join('; ');
      return reply.code(400).send({ error: 'invalid_payload', message });
    }
    if (error.validation) {
      return reply.code(400).send({ error: 'invalid_payload', message: error.message });
    }
    if (isDatabaseUnavailable(error)) {
      deps.databaseUnavailable(error, request);
      return reply
        .code(503)
        .header('retry-after', '5')
        .send({ error: 'database_unavailable', message: 'the database is unavailable; retry later' });
    }
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const code = FASTIFY_CLIENT_ERRORS[error.code] ?? 'bad_request';
      return reply.code(status).send({ error: code, message: error.message });
    }
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: 'internal_error', message: 'internal server error' });
  };

function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return (length !== undefined && length !== '0') || request.headers['transfer-encoding'] !== undefined;
}

/** 405 with `Allow` when the path exists for other methods, else 404. */
export const createNotFoundHandler =
  (allowedMethods: (path: string) => string[]) => (request: FastifyRequest, reply: FastifyReply) => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = allowedMethods(path);
    if (allowed.length > 0) {
      return reply
        .code(405)
        .header('allow', allowed.join(', '))
        .send({
          error: 'method_not_allowed',
          message: `${request.method} is not allowed on ${path}; allowed: ${allowed.join(', ')}`,
        });
    }
    return reply.code(404).send({ error: 'not_found', message: `no route for ${request.method} ${path}` });
  };

/**
 * Logs a database outage once with its cause, then one line per interval with how many
 * requests were refused, and one line when requests stop failing: an outage under load would
 * otherwise write a stack per 503.
 */
export function createOutageLog(log: Logger, intervalMs = 10_000) {
  let refused = 0;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    if (refused > 0) {
      log.warn({ refused, interval_ms: intervalMs }, 'database still unavailable: requests answered 503');
      refused = 0;
      return;
    }
    clearInterval(timer);
    timer = undefined;
    log.info('database outage over: no request refused in the last interval');
  };
  return {
    databaseUnavailable(error: unknown): void {
      if (timer) {
        refused++;
        return;
      }
      log.error({ err: error }, 'database unavailable: answering 503 until it is back');
      timer = setInterval(flush, intervalMs);
      timer.unref();
    },
    stop(): void {
      clearInterval(timer);
      timer = undefined;
    },
  };
}

const CONNECTION_ERRORS: Record<string, [number, string, string]> = {
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'request_timeout', 'the request took too long to arrive'],
  HPE_HEADER_OVERFLOW: [431, 'headers_too_large', 'the request headers are too large'],
};

/**
 * Errors Node's HTTP parser raises before Fastify sees a request (oversized headers, garbage on
 * the socket) get the same `{"error","message"}` shape as everything else.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, message] = CONNECTION_ERRORS[error.code ?? ''] ?? [
    400,
    'bad_request',
    'malformed HTTP request',
  ];
  const body = JSON.stringify({ error: code, message });
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
