import type { onRequestHookHandler } from 'fastify';
import { httpError } from './errors.ts';

/**
 * Answers every route of a feature scope with 404 `feature_disabled` while its flag is off.
 * Routes stay registered so the OpenAPI document lists them whatever the flags.
 */
export function requireFeature(enabled: boolean, flagName: string): onRequestHookHandler {
  return async () => {
    if (!enabled) throw httpError(404, 'feature_disabled', `this feature is off (${flagName})`);
  };
}
