import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Verifies a webhook signature over the raw body bytes against each secret in turn (current
 * first, then the ones being rotated out). Accepted schemes:
 * - base64 HMAC-SHA1: FreeScout's Webhooks module;
 * - HMAC-SHA256 as hex or base64, optionally prefixed `sha256=`.
 * The signature's length is not secret; the digest comparison is constant time.
 */
export function verifySignature(
  rawBody: Uint8Array,
  signatureHeader: string | undefined,
  secrets: readonly string[],
): boolean {
  const provided = decodeSignature(signatureHeader);
  if (!provided) return false;
  let matched = false;
  for (const secret of secrets) {
    const expected = createHmac(provided.algorithm, secret).update(rawBody).digest();
    // Every secret is tried, so the time taken does not say which one matched.
    if (timingSafeEqual(expected, provided.digest)) matched = true;
  }
  return matched;
}

/**
 * True when the header has the shape of a signature some accepted scheme could verify: checked
 * before the body is read, so an unsigned request is refused without reading it.
 */
export function isSignatureHeader(header: string | string[] | undefined): boolean {
  return typeof header === 'string' && decodeSignature(header) !== null;
}

const DIGEST_ALGORITHM_BY_LENGTH: Record<number, 'sha1' | 'sha256'> = { 20: 'sha1', 32: 'sha256' };

function decodeSignature(
  header: string | undefined,
): { algorithm: 'sha1' | 'sha256'; digest: Buffer } | null {
  if (!header) return null;
  const prefixed = /^sha256=/i.test(header.trim());
  const value = header.trim().replace(/^sha256=/i, '');
  if (/^[0-9a-f]{64}$/i.test(value)) return { algorithm: 'sha256', digest: Buffer.from(value, 'hex') };
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length % 4 !== 0) return null;
  const digest = Buffer.from(value, 'base64');
  const algorithm = DIGEST_ALGORITHM_BY_LENGTH[digest.length];
  if (!algorithm || (prefixed && algorithm !== 'sha256')) return null;
  return { algorithm, digest };
}

/** Constant-time equality of a presented token with any of the configured secrets. */
export function tokenMatches(presented: string | undefined, secrets: readonly string[]): boolean {
  if (!presented) return false;
  // Hashing first gives equal-length buffers, so neither the length nor the content leaks.
  const presentedHash = createHash('sha256').update(presented).digest();
  let matched = false;
  for (const secret of secrets) {
    if (timingSafeEqual(presentedHash, createHash('sha256').update(secret).digest())) matched = true;
  }
  return matched;
}
