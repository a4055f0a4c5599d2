import type { FastifyReply, FastifyRequest } from 'fastify';
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

/**
 * Deepest nesting a body may have. The payloads we read are a few levels deep; a body nested
 * thousands of levels would overflow the stack wherever it is walked or serialised again.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Request bodies are taken as sent, never decoded: no sender of ours (Postmark, FreeScout, GitHub,
 * the console) compresses a request, signatures are computed over the bytes as sent, and a decoder
 * would need its own bound on the inflated size. A `Content-Encoding` other than `identity` is
 * refused (415, with `Accept-Encoding: identity` as RFC 7694 asks) before the body is read, so a
 * compressed body is never mistaken for JSON or checked against a signature.
 */
export function refuseEncodedBody(request: FastifyRequest, reply: FastifyReply): void {
  const header = request.headers['content-encoding'];
  if (header === undefined) return;
  const codings = header
    .split(',')
    .map((coding) => coding.trim().toLowerCase())
    .filter((coding) => coding !== '' && coding !== 'identity');
  if (codings.length === 0) return;
  reply.header('accept-encoding', 'identity');
  throw httpError(
    415,
    'unsupported_content_encoding',
    `Content-Encoding ${codings.join(', ')} is not accepted: send the body uncompressed (identity)`,
  );
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

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Parses a request body as JSON, refusing (400) what Postgres or a later walk could not take:
 * bytes that are not UTF-8, nesting deeper than `MAX_JSON_DEPTH`, and strings (keys included)
 * holding a NUL or an unpaired surrogate, which neither `text` nor `jsonb` can store.
 */
export function parseJsonBody(raw: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    throw httpError(400, 'invalid_json', 'the request body is not valid UTF-8');
  }
  if (jsonDepth(text) > MAX_JSON_DEPTH) {
    throw httpError(400, 'invalid_json', `the request body is nested deeper than ${MAX_JSON_DEPTH} levels`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw httpError(400, 'invalid_json', 'the request body is not valid JSON');
  }
  const where = findUnstorableString(parsed, 'body');
  if (where !== undefined) throw unstorableString(where);
  return parsed;
}

/** A NUL, or a surrogate not in a pair (`u` mode reads a pair as one code point, never `Cs`). */
const UNSTORABLE = /[\0\p{Cs}]/u;

export function isStorableString(value: string): boolean {
  return !UNSTORABLE.test(value);
}

export function unstorableString(where: string) {
  return httpError(
    400,
    'invalid_payload',
    `${where}: strings must not contain a NUL character or an unpaired UTF-16 surrogate`,
  );
}

/** The path of the first string (key or value) that cannot be stored, if any. Depth is bounded by the caller. */
export function findUnstorableString(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return isStorableString(value) ? undefined : path;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      const found = findUnstorableString(value[index], `${path}[${index}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (!isStorableString(key)) return `${path} (a key)`;
      const found = findUnstorableString(item, `${path}.${key}`);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** Greatest bracket nesting of a JSON text, brackets inside strings not counted; iterative, so any depth is safe. */
function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index);
    if (inString) {
      if (char === 0x5c) index++;
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) {
      inString = true;
    } else if (char === 0x5b || char === 0x7b) {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (char === 0x5d || char === 0x7d) {
      depth--;
    }
  }
  return deepest;
}

/**
 * The literal text of a number at the top level of a JSON object under `key` (the last one, as
 * `JSON.parse` keeps the last duplicate). JSON.parse rounds integers past 2^53; this keeps
 * every digit. Nested objects with the same key are not looked at.
 */
export function topLevelNumberText(text: string, key: string): string | undefined {
  let depth = 0;
  let found: string | undefined;
  let expectKey = false;
  let index = 0;
  while (index < text.length) {
    const char = text[index];
    if (char === '"') {
      const end = stringEnd(text, index);
      if (depth === 1 && expectKey) {
        const name: unknown = JSON.parse(text.slice(index, end + 1));
        const value = /^\s*:\s*(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(end + 1, end + 400));
        if (name === key && value) found = value[1];
      }
      expectKey = false;
      index = end + 1;
      continue;
    }
    if (char === '{' || char === '[') {
      depth++;
      expectKey = char === '{' && depth === 1;
    } else if (char === '}' || char === ']') {
      depth--;
    } else if (char === ',' && depth === 1) {
      expectKey = true;
    }
    index++;
  }
  return found;
}

function stringEnd(text: string, start: number): number {
  for (let index = start + 1; index < text.length; index++) {
    if (text[index] === '\\') index++;
    else if (text[index] === '"') return index;
  }
  return text.length - 1;
}
