// page.evaluate bodies run in Chromium; the build (tsconfig.build.json, src only) keeps DOM types out of the service.
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../support/app.ts';
import { type SeededOps, seedOpsData } from '../support/ops.ts';
import { useFixture, useTestApp, useTestDatabase } from '../support/setup.ts';

const TOKEN = 'ops-browser-token-3f9a';
const NOW = new Date('2026-11-25T12:40:00Z');

/** The system Chromium (Debian package `chromium`); `.ci/run` installs it when missing. */
function findChromium(): string | undefined {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  try {
    return execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], {
      encoding: 'utf8',
    }).trim();
  } catch {
    return undefined;
  }
}

const chromiumPath = findChromium();

/**
 * Another site's page that posts a form to the service as soon as it loads, the way a
 * cross-site request forgery would: `GET /?target=<url>`. Serves on loopback; reached as
 * `localhost` it is another site than the service's `127.0.0.1`, reached as `127.0.0.1` on its
 * own port it is the same site (ports do not make sites).
 */
async function startAnotherSite() {
  const server = createServer((request, response) => {
    const target = new URL(request.url ?? '/', 'http://x').searchParams.get('target') ?? '';
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(
      `<!doctype html><form method="post" action="${target.replace(/"/g, '&quot;')}"><input type="hidden" name="token" value="x"></form><script>document.forms[0].submit()</script>`,
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
if (!chromiumPath && process.env.REQUIRE_BROWSER) {
  throw new Error('REQUIRE_BROWSER is set but no chromium is installed (apt-get install -y chromium)');
}

describe.skipIf(!chromiumPath)('the operator page in headless Chromium', () => {
  const database = useTestDatabase();
  let seeded: SeededOps;
  beforeAll(async () => {
    seeded = await seedOpsData(database.db, NOW);
  });
  const app = useTestApp(() => ({
    db: database.db,
    clock: manualClock(NOW),
    listen: true,
    env: {
      INTERNAL_API_TOKEN: TOKEN,
      FLAG_FREESCOUT_WEBHOOK_RECEIVE: '1',
      FREESCOUT_AUDIT_WEBHOOK_SECRET: 'audit-secret-browser',
      FLAG_FREESCOUT_RBAC_REVOKE: '1',
      FLAG_POSTMARK_DELIVERY_MONITOR: '1',
      POSTMARK_DELIVERY_WEBHOOK_SECRET: 'postmark-token-browser',
      // The seeded last hour (1 bounce of 121 messages) is over this threshold but under the
      // minimum volume: the page must say so rather than look healthy.
      POSTMARK_BOUNCE_ALERT_RATE: '0.005',
      POSTMARK_ALERT_MIN_VOLUME: '200',
      FLAG_FREESCOUT_GITHUB_AUTOLINK: '1',
      FREESCOUT_WEBHOOK_SECRET: 'autolink-secret-browser',
      GITHUB_REPO: 'raxx/app',
      GITHUB_ISSUE_BOT_TOKEN: 'ghp_browser_test_token',
      FREESCOUT_API_URL: 'https://help.raxx.test/api',
      FREESCOUT_API_KEY: 'freescout-key-browser',
      FREESCOUT_PUBLIC_URL: 'https://help.raxx.test',
      FREESCOUT_API_USER_ID: '1',
      FLAG_CONSOLE_INVESTIGATE_FROM_STATUS: '1',
      FLAG_FREESCOUT_CACHE_POLL: '1',
    },
  }));
  const anotherSite = useFixture(startAnotherSite);
  const browser = useFixture(() =>
    chromium.launch({
      executablePath: chromiumPath,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    }),
  );
  // No extra headers, no request interception: the service sees what Chromium sends.
  let context: BrowserContext;
  let page: Page;
  const outsideRequests: string[] = [];
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    page = await context.newPage();
    page.on('request', (request) => {
      if (!request.url().startsWith(`${app.url}/`)) outsideRequests.push(request.url());
    });
    page.on('console', (message) => {
      // Refusals on purpose (401 with the sign-in form) are reported by the browser as errors.
      if (message.type() === 'error' && !message.text().includes('401')) consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
  });

  const figure = (key: string) => page.locator(`[data-k="${key}"]`).first().textContent();
  const sessionCookie = async () =>
    (await context.cookies(app.url)).find((cookie) => cookie.name === 'raptor_ops_session');
  const submit = async (target: Page = page) => {
    const [response] = await Promise.all([
      target.waitForResponse((candidate) => candidate.request().method() === 'POST'),
      target.click('button[type="submit"]'),
    ]);
    await target.waitForLoadState();
    return response;
  };

  it('refuses the page without the token and shows the sign-in form', async () => {
    const response = await page.goto(`${app.url}/ops`);
    expect(response?.status()).toBe(401);
    await expect(page.locator('form[action="/ops/sign-in"]').count()).resolves.toBe(1);
    const anonymous = await page.request.get(`${app.url}/api/_internal/ops/summary`);
    expect(anonymous.status()).toBe(401);
  });

  it('signs in with the token and shows every section with the numbers in the database', async () => {
    await page.fill('#token', TOKEN);
    await Promise.all([page.waitForURL(`${app.url}/ops`), page.click('button[type="submit"]')]);
    for (const section of ['health', 'email', 'freescout', 'github', 'investigate', 'deliveries']) {
      await expect(page.locator(`section#${section}`).isVisible()).resolves.toBe(true);
    }
    // Health: flags, readiness with what is missing, the last delivery and its answer.
    const audit = page.locator('[data-feature="freescout_audit"]');
    await expect(audit.locator('[data-k="state"]').textContent()).resolves.toBe('ready');
    await expect(audit.textContent()).resolves.toContain('200');
    await expect(
      page.locator('[data-feature="autolink"] [data-k="missing"]').allTextContents(),
    ).resolves.toEqual(['FREESCOUT_AUTOLINK_MAILBOX_IDS']);
    await expect(
      page.locator('[data-feature="freescout_rbac"] [data-k="errors"]').textContent(),
    ).resolves.toBe('2');

    // Email.
    await expect(figure('delivered-24h')).resolves.toBe(String(seeded.postmark24h.delivered));
    await expect(figure('bounced-24h')).resolves.toBe(String(seeded.postmark24h.bounced));
    await expect(figure('spam-chart-24h')).resolves.toBe(String(seeded.postmark24h.spam));
    await expect(figure('bounced-1h')).resolves.toBe('1');
    await expect(figure('messages-1h')).resolves.toBe('121');
    const problems = await page.locator('[data-table="postmark-problems"] tbody tr').allTextContents();
    expect(problems).toHaveLength(seeded.problems.length);
    for (const problem of seeded.problems) {
      expect(
        problems.some((row) => row.includes(problem.recipient) && row.includes(problem.description)),
      ).toBe(true);
    }
    await expect(page.locator('[data-table="postmark-alerts"] tbody tr').count()).resolves.toBe(1);

    // FreeScout.
    for (const status of ['active', 'pending', 'closed', 'spam', 'deleted'] as const) {
      await expect(figure(`cache-${status}`)).resolves.toBe(String(seeded.cache[status]));
    }
    await expect(figure('cache-expired')).resolves.toBe(String(seeded.cache.expired));
    await expect(figure('poll-lag')).resolves.toBe('45 s');
    await expect(figure(`sigfail:${seeded.signatureFailures.route}`)).resolves.toBe(
      String(seeded.signatureFailures.count),
    );

    // GitHub links and work.
    await expect(figure('work-pending')).resolves.toBe(String(seeded.pendingWork));
    await expect(figure('work-failed')).resolves.toBe(String(seeded.failedWork.length));
    const failedRows = await page.locator('[data-table="failed-work"] tbody tr').allTextContents();
    for (const item of seeded.failedWork) {
      expect(failedRows.some((row) => row.includes(item.lastError))).toBe(true);
    }
    const links = await page.locator('[data-table="links"] tbody tr').allTextContents();
    for (const link of seeded.links) expect(links.some((row) => row.includes(`#${link.issue}`))).toBe(true);

    // Investigate.
    const tickets = await page.locator('[data-table="investigate-tickets"] tbody tr').allTextContents();
    for (const ticket of seeded.investigate) {
      expect(tickets.some((row) => row.includes(ticket.surface) && row.includes(String(ticket.clicks)))).toBe(
        true,
      );
    }
  });

  it('draws both charts as non-empty SVG with the alert thresholds', async () => {
    for (const chart of ['postmark-24h', 'postmark-7d']) {
      const svg = page.locator(`svg[data-chart="${chart}"]`);
      const box = await svg.boundingBox();
      expect(box?.width).toBeGreaterThan(200);
      expect(box?.height).toBeGreaterThan(100);
      const bars = await svg
        .locator('rect.bar')
        .evaluateAll(
          (rects) =>
            rects.filter(
              (rect) => (rect as unknown as { getBBox(): { height: number } }).getBBox().height > 0,
            ).length,
        );
      expect(bars).toBeGreaterThan(20);
      await expect(svg.locator('line.threshold.bounce').count()).resolves.toBe(1);
      await expect(svg.locator('line.threshold.spam').count()).resolves.toBe(1);
      await expect(svg.locator('.rate.bounce').count()).resolves.toBe(1);
    }
  });

  it('shows errors and an over-threshold rate as warnings, with the reason beside them', async () => {
    const green = 'rgb(23, 102, 58)';
    // RBAC is ready, and 2 of its deliveries were rejected in the last hour.
    const rbac = page.locator('[data-feature="freescout_rbac"]');
    await expect(rbac.getAttribute('class')).resolves.toContain('tone-warn');
    const errors = rbac.locator('[data-k="errors-line"]');
    await expect(errors.evaluate((element) => getComputedStyle(element).color)).resolves.not.toBe(green);
    await expect(rbac.locator('[data-k="errors-reason"]').textContent()).resolves.toBe(
      '2 deliveries rejected (4xx) — see Webhook deliveries',
    );
    // A feature without errors is not dressed as a warning, and its text is not coloured.
    const audit = page.locator('[data-feature="freescout_audit"]');
    await expect(audit.getAttribute('class')).resolves.toContain('tone-ok');
    await expect(audit.locator('[data-k="errors-line"]').count()).resolves.toBe(0);
    await expect(
      audit.locator('h3').evaluate((element) => getComputedStyle(element).color),
    ).resolves.not.toBe(green);
    // 1 of 121 is over 0.5 %, but 121 messages are under the alert's minimum of 200.
    const bounce = page.locator('[data-k="bounce-box"]');
    await expect(bounce.getAttribute('class')).resolves.toContain('tone-warn');
    await expect(figure('bounce-reason')).resolves.toBe(
      'above the 0.50% threshold; not alerting: volume 121 < minimum 200',
    );
    await expect(page.locator('[data-k="spam-box"]').getAttribute('class')).resolves.toContain('tone-ok');
    await expect(figure('spam-reason')).resolves.toBe('below the 0.10% alert threshold');
  });

  for (const width of [1400, 400]) {
    it(`fits ${width} px: no page scroll sideways, charts scale, every label and table readable`, async () => {
      await page.setViewportSize({ width, height: 1000 });
      await page.goto(`${app.url}/ops`);
      const screenshot = width === 1400 ? process.env.OPS_SCREENSHOT : process.env.OPS_SCREENSHOT_NARROW;
      // `OPS_SCREENSHOT=docs/ops-page.png` refreshes the README's picture of the seeded page.
      if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
      const layout = await page.evaluate(() => {
        const overlaps = (a: DOMRect, b: DOMRect) =>
          a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
        const inside = (inner: DOMRect, outer: DOMRect) =>
          inner.left >= outer.left - 0.5 &&
          inner.right <= outer.right + 0.5 &&
          inner.top >= outer.top - 0.5 &&
          inner.bottom <= outer.bottom + 0.5;
        const charts = [...document.querySelectorAll('svg.chart')].map((svg) => {
          const box = svg.getBoundingClientRect();
          const labels = [...svg.querySelectorAll('text')].map((text) => ({
            text: text.textContent ?? '',
            box: text.getBoundingClientRect(),
          }));
          const collisions = labels.flatMap((label, index) =>
            labels
              .slice(index + 1)
              .flatMap((other) => (overlaps(label.box, other.box) ? [`${label.text} × ${other.text}`] : [])),
          );
          const bars = [...svg.querySelectorAll('rect.bar')].map((bar) => bar.getBoundingClientRect());
          return {
            viewBox: svg.getAttribute('viewBox'),
            width: svg.getAttribute('width'),
            renderedWidth: box.width,
            containerWidth: svg.parentElement?.getBoundingClientRect().width ?? 0,
            lastBarRight: Math.max(...bars.map((bar) => bar.right)),
            collisions,
            outside: labels.filter((label) => !inside(label.box, box)).map((label) => label.text),
            smallestFont: Math.min(...labels.map((label) => label.box.height)),
          };
        });
        const cells = [...document.querySelectorAll('td')].map((cell) => ({
          right: cell.getBoundingClientRect().right,
          clipped: cell.scrollWidth > cell.clientWidth + 1,
          label: getComputedStyle(cell, '::before').content,
          expected: cell.dataset.label ?? '',
          headerShown:
            getComputedStyle(cell.closest('table')?.querySelector('thead') ?? cell).display !== 'none',
        }));
        return {
          innerWidth,
          scrollWidth: document.scrollingElement?.scrollWidth ?? 0,
          charts,
          cells,
        };
      });
      expect(layout.innerWidth).toBe(width);
      expect(layout.scrollWidth).toBeLessThanOrEqual(layout.innerWidth);
      expect(layout.charts).toHaveLength(2);
      for (const chart of layout.charts) {
        expect(chart.viewBox).toMatch(/^0 0 \d+ \d+$/);
        expect(chart.width).toBe('100%');
        expect(chart.renderedWidth).toBeCloseTo(chart.containerWidth, 0);
        // The current hour's bar is on screen.
        expect(chart.lastBarRight).toBeLessThanOrEqual(width);
        expect(chart.collisions).toEqual([]);
        expect(chart.outside).toEqual([]);
        // Labels stay legible although the chart is drawn at under half its size on a phone.
        expect(chart.smallestFont).toBeGreaterThanOrEqual(7);
      }
      expect(layout.cells.length).toBeGreaterThan(50);
      for (const cell of layout.cells) {
        expect(cell.right).toBeLessThanOrEqual(width);
        expect(cell.clipped).toBe(false);
        // Wide: a table under its header row. Narrow: one card per row, each value under its column's name.
        if (width === 1400) expect(cell.headerShown).toBe(true);
        else {
          expect(cell.headerShown).toBe(false);
          expect(cell.label).toBe(JSON.stringify(cell.expected));
        }
      }
      await page.setViewportSize({ width: 1400, height: 1000 });
    });
  }

  it('refreshes its data in place with the session', async () => {
    const status = await page.evaluate(async () => (await fetch('/ops?part=main')).status);
    expect(status).toBe(200);
  });

  it('re-queues a failed item with its Retry button', async () => {
    const [failed] = seeded.failedWork;
    const button = page.locator(`button[data-retry="${failed?.id}"]`);
    await button.click();
    await expect.poll(() => button.textContent()).toBe('Queued');
    const row = await database.db
      .selectFrom('autolink_delivery')
      .select(['status', 'attempts'])
      .where('id', '=', failed?.id ?? 0)
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ status: 'pending', attempts: 0 });
    // The refresh after a Retry shows the item gone from the failed list.
    await expect
      .poll(() => page.locator(`button[data-retry="${failed?.id}"]`).count(), { timeout: 10_000 })
      .toBe(0);
  });

  describe('a form another site posts to the service', () => {
    const appPort = () => new URL(app.url).port;
    const sites = () => [
      // localhost and 127.0.0.1 are different sites: Chromium says cross-site and keeps the
      // SameSite=Strict cookie to itself.
      { name: 'another site', origin: `http://localhost:${anotherSite.port}`, site: 'cross-site' },
      // Another port of the same host is the same site: the cookie goes along, Sec-Fetch-Site tells.
      { name: 'another port', origin: `http://127.0.0.1:${anotherSite.port}`, site: 'same-site' },
    ];

    async function postFrom(origin: string, path: string) {
      const attacker = await context.newPage();
      const target = `http://127.0.0.1:${appPort()}${path}`;
      const [response] = await Promise.all([
        attacker.waitForResponse((candidate) => candidate.url() === target),
        attacker.goto(`${origin}/?target=${encodeURIComponent(target)}`),
      ]);
      const headers = await response.request().allHeaders();
      await attacker.close();
      return { status: response.status(), headers };
    }

    it('cannot sign the operator out', async () => {
      const before = await sessionCookie();
      expect(before).toBeDefined();
      for (const { origin, site } of sites()) {
        const { status, headers } = await postFrom(origin, '/ops/sign-out');
        expect(headers['sec-fetch-site']).toBe(site);
        if (site === 'same-site') expect(headers.cookie).toContain('raptor_ops_session=');
        else expect(headers.cookie).toBeUndefined();
        expect(status).toBe(403);
        await expect(sessionCookie()).resolves.toEqual(before);
      }
      const still = await page.request.get(`${app.url}/api/_internal/ops/summary`);
      expect(still.status()).toBe(200);
    });

    it('cannot press Retry', async () => {
      const [, failed] = seeded.failedWork;
      for (const { origin } of sites()) {
        const { status } = await postFrom(origin, `/api/_internal/autolink/deliveries/${failed?.id}/retry`);
        expect(status).toBe(403);
        const row = await database.db
          .selectFrom('autolink_delivery')
          .select(['status', 'attempts'])
          .where('id', '=', failed?.id ?? 0)
          .executeTakeFirstOrThrow();
        expect(row).toEqual({ status: 'failed', attempts: 10 });
      }
    });
  });

  it('signs out: the cookie is gone and the page asks to sign in again', async () => {
    await page.goto(`${app.url}/ops`);
    const response = await submit();
    expect(response.url()).toBe(`${app.url}/ops/sign-out`);
    expect(page.url()).toBe(`${app.url}/ops/sign-in`);
    await expect(page.locator('form[action="/ops/sign-in"]').count()).resolves.toBe(1);
    await expect(sessionCookie()).resolves.toBeUndefined();
    const again = await page.goto(`${app.url}/ops`);
    expect(again?.status()).toBe(401);
    await expect(page.locator('form[action="/ops/sign-in"]').count()).resolves.toBe(1);
    await expect(page.locator('section#health').count()).resolves.toBe(0);
  });

  it('signs in from /ops/sign-in opened directly, after one mistyped token', async () => {
    const opened = await page.goto(`${app.url}/ops/sign-in`);
    expect(opened?.status()).toBe(200);
    await page.fill('#token', `${TOKEN}-typo`);
    const refused = await submit();
    expect(refused.status()).toBe(401);
    await expect(page.locator('[role="alert"]').textContent()).resolves.toBe('That token is not valid.');
    await expect(sessionCookie()).resolves.toBeUndefined();
    await page.fill('#token', TOKEN);
    const accepted = await submit();
    expect(accepted.status()).toBe(303);
    expect(page.url()).toBe(`${app.url}/ops`);
    await expect(page.locator('section#health').isVisible()).resolves.toBe(true);
    await expect(sessionCookie()).resolves.toMatchObject({ httpOnly: true, sameSite: 'Strict' });
  });

  it('made no request outside the service and logged no console error', () => {
    expect(outsideRequests).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
