import type { FastifyRequest, RouteOptions } from 'fastify';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { Config } from '../config.ts';
import type { Clock } from './clock.ts';
import { crossSiteRefusal } from './cross-site.ts';
import { httpError } from './errors.ts';
import { tokenMatches } from './hmac.ts';
import { sessionIsValid } from './ops-session.ts';

/**
 * Who may call a route, declared on each one (`config: { access }`) and enforced by one hook in
 * `app.ts`: `internal` needs the operator credentials below; `signature` is a webhook whose
 * handler verifies the sender's signature or token over the raw body; `public` is open (probes,
 * the sign-in form, the OpenAPI document).
 */
export type RouteAccess = 'internal' | 'signature' | 'public';

declare module 'fastify' {
  interface FastifyContextConfig {
    access?: RouteAccess;
  }
  interface FastifyInstance {
    /** Every registered route with its declared access, in registration order (a test lists them). */
    declaredRoutes: DeclaredRoute[];
  }
}

export interface DeclaredRoute {
  method: string;
  url: string;
  access: RouteAccess;
}

const ACCESS = new Set<string>(['internal', 'signature', 'public']);

/** An `onRoute` check: a route that declares no access stops the service at start, so none ships unguarded. */
export function assertDeclaredAccess(route: RouteOptions): DeclaredRoute[] {
  const access = (route.config as { access?: unknown } | undefined)?.access;
  if (typeof access !== 'string' || !ACCESS.has(access)) {
    throw new Error(
      `route ${route.method} ${route.url} declares no access: set config.access to 'internal', 'signature' or 'public'`,
    );
  }
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  return methods.map((method) => ({ method, url: route.url, access: access as RouteAccess }));
}

/**
 * The operator and console namespaces (docs/api.md §2). Used only for a request no route
 * matched, so probing them without credentials answers 401, never which paths exist.
 */
const INTERNAL_NAMESPACE =
  /^(\/api\/(_internal|internal\/audit|internal\/rbac|console)|\/ops|\/metrics)(\/|\?|$)/i;
const SIGN_IN_PATH = /^\/ops\/sign-in(\?|$)/i;

/** The access a request needs: its route's declaration; for an unmatched URL, its namespace's. */
export function accessOf(request: FastifyRequest): RouteAccess {
  const declared = request.is404 ? undefined : request.routeOptions.config.access;
  if (declared) return declared;
  return INTERNAL_NAMESPACE.test(request.url) && !SIGN_IN_PATH.test(request.url) ? 'internal' : 'public';
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const CONSOLE_PATH = /^\/api\/console(\/|\?|$)/i;

function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  return address === '::1' || /^(::ffff:)?127\./.test(address);
}

/**
 * Cloudflare Access signs every assertion with `exp`, `iat` and `nbf`: one without `exp` would
 * never expire, so `exp` and `iat` are required, and all three are read with this much leeway
 * for the skew between Cloudflare's clock and ours.
 */
const CF_ACCESS_CLOCK_TOLERANCE_S = 60;

/** The team domain may be given bare (`team.cloudflareaccess.com`) or as a URL (tests use http). */
function teamOrigin(teamDomain: string): string {
  const withScheme = /^https?:\/\//i.test(teamDomain) ? teamDomain : `https://${teamDomain}`;
  return new URL(withScheme).origin;
}

/**
 * Decides whether a request may use an internal route: a bearer `INTERNAL_API_TOKEN`, the
 * operator page's session cookie signed with it, or a Cloudflare Access JWT verified against
 * the team's JWKS. The origin is reachable without
 * Cloudflare, so the JWT is verified, never trusted for being present, and must expire. With neither
 * configured, only loopback clients pass. A session's expiry is read on the clock that issued it.
 */
export function createInternalAuthorizer(
  settings: Config['internalAuth'],
  clock: Clock,
  /** The running server's own token for the CLI beside it (src/lib/local-server.ts): loopback only. */
  localToken?: string,
) {
  const { token, cfAccess } = settings;
  const cf = cfAccess && {
    issuer: teamOrigin(cfAccess.teamDomain),
    audience: cfAccess.audience,
    keys: createRemoteJWKSet(new URL('/cdn-cgi/access/certs', teamOrigin(cfAccess.teamDomain))),
  };

  return async function isAuthorized(request: FastifyRequest): Promise<boolean> {
    const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1]?.trim();
    if (token && bearer && tokenMatches(bearer, [token])) return true;
    if (
      localToken &&
      bearer &&
      isLoopback(request.socket.remoteAddress) &&
      tokenMatches(bearer, [localToken])
    )
      return true;
    // Everything below is what a browser sends by itself (a cookie, Cloudflare's assertion, its
    // address), so a state-changing request must come from the service's own pages; the
    // console's routes are the one exception, called cross-origin by the console (CORS).
    if (!SAFE_METHODS.has(request.method) && !CONSOLE_PATH.test(request.url)) {
      refuseCrossSite(request);
    }
    if (!token && !cf) return isLoopback(request.socket.remoteAddress);
    if (token && sessionIsValid(token, request.headers.cookie, clock.now())) return true;
    const assertion = request.headers['cf-access-jwt-assertion'];
    if (cf && typeof assertion === 'string' && assertion !== '') {
      try {
        const now = clock.now();
        const { payload } = await jwtVerify(assertion, cf.keys, {
          issuer: cf.issuer,
          audience: cf.audience,
          requiredClaims: ['exp', 'iat'],
          clockTolerance: CF_ACCESS_CLOCK_TOLERANCE_S,
          currentDate: now,
        });
        // jose checks a future iat only with maxTokenAge; the token's lifetime is Access's to set.
        if ((payload.iat ?? 0) > now.getTime() / 1000 + CF_ACCESS_CLOCK_TOLERANCE_S) {
          throw new Error('"iat" claim timestamp check failed (it should be in the past)');
        }
        return true;
      } catch (error) {
        request.log.info({ reason: (error as Error).message }, 'cf access assertion rejected');
      }
    }
    return false;
  };
}

/** Throws 403 `cross_site_request` for a state-changing request another site's page sent (lib/cross-site.ts). */
export function refuseCrossSite(request: FastifyRequest): void {
  const refusal = crossSiteRefusal(request.headers);
  if (refusal === undefined) return;
  request.log.info({ reason: refusal }, 'cross-site request refused');
  throw httpError(403, 'cross_site_request', 'state-changing requests must come from the operator page');
}
