import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';

export interface FakeCloudflareAccess {
  /** The team domain as configured (`CF_ACCESS_TEAM_DOMAIN`), here an http loopback origin. */
  teamDomain: string;
  /**
   * Signs an assertion as Cloudflare Access does (exp, iat, iss, aud). `null` leaves a claim
   * out; times are seconds since the epoch or, for `expiresIn`, a span from now (`'5m'`, `'-1m'`).
   */
  sign(claims: {
    aud: string;
    expiresIn?: string | number | null;
    issuedAt?: number | null;
    notBefore?: number;
    issuer?: string;
    key?: 'team' | 'stranger';
  }): Promise<string>;
  close(): Promise<void>;
}

/** Serves `/cdn-cgi/access/certs` like a Cloudflare Access team domain and signs assertions. */
export async function startFakeCloudflareAccess(): Promise<FakeCloudflareAccess> {
  const team = await generateKeyPair('RS256');
  const stranger = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(team.publicKey)), kid: 'team-key', alg: 'RS256', use: 'sig' };
  const server = createServer((request, response) => {
    if (request.url === '/cdn-cgi/access/certs') {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ keys: [jwk] }));
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const teamDomain = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    teamDomain,
    sign: ({ aud, expiresIn = '5m', issuedAt, notBefore, issuer = teamDomain, key = 'team' }) => {
      const jwt = new SignJWT({ email: 'kris@example.com' })
        .setProtectedHeader({ alg: 'RS256', kid: 'team-key' })
        .setIssuer(issuer)
        .setAudience(aud);
      if (issuedAt !== null) jwt.setIssuedAt(issuedAt);
      if (expiresIn !== null) jwt.setExpirationTime(expiresIn);
      if (notBefore !== undefined) jwt.setNotBefore(notBefore);
      return jwt.sign(key === 'team' ? team.privateKey : stranger.privateKey);
    },
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
