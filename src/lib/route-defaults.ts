import type { FastifySchemaCompiler, RouteOptions } from 'fastify';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorSchema } from './errors.ts';

const described = (description: string) => errorSchema.describe(description);

/** Answer for themselves: no flag, no body, no error of a feature. */
const PROBES = new Set(['/healthz', '/readyz', '/docs/openapi.json']);
const INTERNAL_SECURITY: Array<Record<string, string[]>> = [{ internalToken: [] }, { cfAccess: [] }];

/**
 * Completes every route's OpenAPI schema with the answers it shares with the others, so a new
 * route cannot forget them: internal routes their security and 401, flagged routes the 404 of
 * a feature that is off, webhooks (raw-body routes) a JSON request body and the refusals of
 * their transport. A route's own entry for a status wins.
 */
export function addDefaultRouteSchema(route: RouteOptions): void {
  if (PROBES.has(route.url)) return;
  route.schema ??= {};
  const schema = route.schema;
  if (schema.hide) return;
  schema.response ??= {};
  const response = schema.response as Record<string, unknown>;
  const defaults: Record<string, z.ZodType> = {
    400: described(
      '`invalid_payload`, `invalid_json` or `bad_request`: the request is refused and nothing changed',
    ),
    404: described('`feature_disabled` while the feature flag is off (or `not_found`)'),
    405: described('`method_not_allowed`: the path exists for other methods (see `Allow`)'),
    503: described('`database_unavailable` (retry after `Retry-After`) or `not_configured`'),
  };
  if (route.config?.access === 'internal') {
    schema.security ??= INTERNAL_SECURITY;
    defaults[401] = described('`unauthorized`: no valid bearer token or Cloudflare Access assertion');
  }
  if (route.config?.rawBody) {
    defaults[401] = described('`invalid_signature` / `unauthorized`: missing or wrong signature or token');
    defaults[413] = described('`payload_too_large`: the body is over the route limit');
    defaults[415] = described(
      '`unsupported_media_type`: the body is not `application/json`; `unsupported_content_encoding`: a `Content-Encoding` other than `identity`',
    );
    schema.body ??= z.looseObject({}).describe('the JSON payload as the sender posts it');
    // The handler verifies the signature over the raw bytes, then parses: the body schema only
    // documents the payload, it never validates the bytes before the signature is checked.
    const validate = (route.validatorCompiler ?? validatorCompiler) as FastifySchemaCompiler<unknown>;
    route.validatorCompiler = (request) =>
      request.httpPart === 'body' ? (data: unknown) => ({ value: data }) : validate(request);
  }
  for (const [status, entry] of Object.entries(defaults)) response[status] ??= entry;
}
