import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The operator page's browser session where only INTERNAL_API_TOKEN guards it: the token,
 * typed once into the sign-in form, is exchanged for a cookie carrying an expiry and an HMAC
 * of it under a key derived from the token. Nothing is stored server-side; changing the token
 * ends every session.
 */
export const SESSION_COOKIE = 'raptor_ops_session';
export const SESSION_TTL_SECONDS = 12 * 60 * 60;

function sessionKey(token: string): Buffer {
  return createHmac('sha256', token).update('raptor ops session v1').digest();
}

function mac(token: string, expires: number): Buffer {
  return createHmac('sha256', sessionKey(token)).update(String(expires)).digest();
}

export function issueSession(token: string, now: Date): string {
  const expires = Math.floor(now.getTime() / 1000) + SESSION_TTL_SECONDS;
  return `${expires}.${mac(token, expires).toString('base64url')}`;
}

export function sessionIsValid(token: string, cookieHeader: string | undefined, now: Date): boolean {
  const value = readCookie(cookieHeader, SESSION_COOKIE);
  const match = value ? /^(\d{1,12})\.([A-Za-z0-9_-]{43})$/.exec(value) : null;
  if (!match?.[1] || !match[2]) return false;
  const expires = Number(match[1]);
  if (expires * 1000 <= now.getTime()) return false;
  return timingSafeEqual(mac(token, expires), Buffer.from(match[2], 'base64url'));
}

function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [key, ...rest] = part.split('=');
    if (key?.trim() === name) return rest.join('=').trim();
  }
  return undefined;
}

/** `Secure` whenever the browser reached us over HTTPS (Heroku and Cloudflare say so in X-Forwarded-Proto). */
export function sessionCookie(value: string, secure: boolean, maxAgeSeconds = SESSION_TTL_SECONDS): string {
  return [
    `${SESSION_COOKIE}=${value}`,
    'Path=/',
    'HttpOnly',
    'SameSite=Strict',
    `Max-Age=${maxAgeSeconds}`,
    ...(secure ? ['Secure'] : []),
  ].join('; ');
}
