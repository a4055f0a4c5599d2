type Headers = Record<string, string | string[] | undefined>;

/** Fetch Metadata values a state-changing request may carry: our own pages, or the person (typed URL). */
const ALLOWED_SITES = new Set(['same-origin', 'none']);

const header = (headers: Headers, name: string) => {
  const value = headers[name];
  return typeof value === 'string' ? value : undefined;
};

function sameHost(url: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(url).host === host.toLowerCase();
  } catch {
    return false;
  }
}

/**
 * Why a state-changing request that carries browser-held credentials (a cookie, Cloudflare
 * Access, a loopback address) must be refused as sent by another site's page, or undefined
 * when it may proceed.
 *
 * `Sec-Fetch-Site` decides when present: the browser sets it and no page can change it, and
 * it does not depend on the referrer policy (with `no-referrer` a browser posts our own forms
 * with `Origin: null`). `same-site` is refused too: another port or subdomain of our host
 * receives our SameSite cookie. Without it (an older browser) `Origin` decides, and `Origin:
 * null` — which a sandboxed frame or a privacy-restricted page of any site sends — passes only
 * with a `Referer` of our own host. A request with none of them is not a browser's: nothing a
 * page does makes a non-browser client send credentials.
 */
export function crossSiteRefusal(headers: Headers): string | undefined {
  const host = header(headers, 'host');
  const site = header(headers, 'sec-fetch-site')?.toLowerCase();
  if (site !== undefined) return ALLOWED_SITES.has(site) ? undefined : `Sec-Fetch-Site: ${site}`;
  const origin = header(headers, 'origin');
  const referer = header(headers, 'referer');
  if (origin !== undefined && origin !== 'null') {
    return sameHost(origin, host) ? undefined : `Origin: ${origin}`;
  }
  if (referer !== undefined) return sameHost(referer, host) ? undefined : 'Referer of another host';
  return origin === 'null' ? 'Origin: null without a Referer of this host' : undefined;
}
