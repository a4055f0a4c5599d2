import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { tokenMatches, verifySignature } from '../../src/lib/hmac.ts';

const fixtureDir = new URL('../fixtures/hmac/', import.meta.url);
const rawBody = readFileSync(new URL('conversation.json', fixtureDir));
const vectors = JSON.parse(readFileSync(new URL('signatures.json', fixtureDir), 'utf8'));
const { current, previous, freescoutModuleKey } = vectors.secrets;

describe('verifySignature over the raw body (vectors from openssl dgst)', () => {
  it.each([
    ['base64 HMAC-SHA1 (FreeScout module)', vectors.sha1Base64.current],
    ['hex HMAC-SHA256', vectors.sha256Hex.current],
    ['hex HMAC-SHA256 with sha256= prefix', `sha256=${vectors.sha256Hex.current}`],
    ['base64 HMAC-SHA256', vectors.sha256Base64.current],
    ['base64 HMAC-SHA256 with sha256= prefix', `sha256=${vectors.sha256Base64.current}`],
  ])('accepts %s', (_scheme, signature) => {
    expect(verifySignature(rawBody, signature, [current])).toBe(true);
  });

  it('accepts the stock module key md5(APP_KEY . "webhook_key")', () => {
    expect(verifySignature(rawBody, vectors.sha1Base64.freescoutModuleKey, [freescoutModuleKey])).toBe(true);
  });

  it('accepts a signature made with the previous secret while it is configured (rotation)', () => {
    for (const signature of [
      vectors.sha1Base64.previous,
      vectors.sha256Hex.previous,
      vectors.sha256Base64.previous,
    ]) {
      expect(verifySignature(rawBody, signature, [current, previous])).toBe(true);
      expect(verifySignature(rawBody, signature, [current])).toBe(false);
    }
  });

  it('rejects a signature made with another secret', () => {
    expect(verifySignature(rawBody, vectors.sha256Hex.current, ['some-other-secret'])).toBe(false);
    expect(verifySignature(rawBody, vectors.sha1Base64.current, [previous])).toBe(false);
  });

  it('rejects missing, empty and truncated signatures', () => {
    const hex = vectors.sha256Hex.current as string;
    const b64 = vectors.sha1Base64.current as string;
    for (const signature of [
      undefined,
      '',
      'sha256=',
      hex.slice(0, 63),
      hex.slice(0, 32),
      b64.slice(0, -4),
      'sha256=xyz',
    ]) {
      expect(verifySignature(rawBody, signature, [current])).toBe(false);
    }
  });

  it('rejects an SHA1 signature dressed with the sha256= prefix', () => {
    expect(verifySignature(rawBody, `sha256=${vectors.sha1Base64.current}`, [current])).toBe(false);
  });

  it('rejects the same JSON re-serialised with other whitespace, while the raw bytes pass', () => {
    const reserialised = Buffer.from(JSON.stringify(JSON.parse(rawBody.toString('utf8'))));
    expect(reserialised.equals(rawBody)).toBe(false);
    expect(verifySignature(rawBody, vectors.sha256Hex.current, [current])).toBe(true);
    expect(verifySignature(reserialised, vectors.sha256Hex.current, [current])).toBe(false);
  });

  it('rejects any arbitrary header for a body it was not made for (property)', () => {
    fc.assert(
      fc.property(fc.string(), fc.uint8Array({ maxLength: 256 }), (header, body) => {
        expect(verifySignature(body, header, [current])).toBe(false);
      }),
    );
  });

  it('rejects any signature once the body changes by a byte (property)', () => {
    fc.assert(
      fc.property(fc.nat({ max: rawBody.length - 1 }), fc.integer({ min: 1, max: 255 }), (index, delta) => {
        const tampered = Buffer.from(rawBody);
        tampered[index] = ((tampered[index] ?? 0) + delta) % 256;
        expect(verifySignature(tampered, vectors.sha256Hex.current, [current])).toBe(false);
        expect(verifySignature(tampered, vectors.sha1Base64.current, [current])).toBe(false);
      }),
    );
  });
});

describe('tokenMatches', () => {
  it('matches the configured token or the previous one, and nothing else', () => {
    expect(tokenMatches('token-a', ['token-a', 'token-b'])).toBe(true);
    expect(tokenMatches('token-b', ['token-a', 'token-b'])).toBe(true);
    expect(tokenMatches('token-', ['token-a'])).toBe(false);
    expect(tokenMatches('', ['token-a'])).toBe(false);
    expect(tokenMatches(undefined, ['token-a'])).toBe(false);
    expect(tokenMatches('token-a', [])).toBe(false);
  });
});
