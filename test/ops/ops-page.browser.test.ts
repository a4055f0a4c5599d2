import { execFileSync } from 'node:child_process';
import { chromium, type Page } from 'playwright-core';
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
  const browser = useFixture(() => chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] }));
  let page: Page;
  const outsideRequests: string[] = [];
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
    page = await context.newPage();
    page.on('request', (request) => {
      if (!request.url().startsWith(`${app.url}/`)) outsideRequests.push(request.url());
    });
    page.on('console', (message) => {
      // The first visit is refused on purpose (401 with the sign-in form): the browser says so.
      if (message.type() === 'error' && !message.text().includes('401')) consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(error.message));
  });

  const figure = (key: string) => page.locator(`[data-k="${key}"]`).first().textContent();

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

  it('refreshes its data in place with the session', async () => {
    // `OPS_SCREENSHOT=docs/ops-page.png` refreshes the README's picture of the seeded page.
    if (process.env.OPS_SCREENSHOT)
      await page.screenshot({ path: process.env.OPS_SCREENSHOT, fullPage: true });
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
  });

  it('made no request outside the service and logged no console error', () => {
    expect(outsideRequests).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
