import { describe, expect, it } from 'vitest';
import { claimAlert, type PostmarkAlert } from '../../src/features/postmark/alerts.ts';
import { DAY_MS, HOUR_MS, MINUTE_MS } from '../../src/features/postmark/events.ts';
import { useFixture, useTestDatabase } from '../support/setup.ts';

const database = useTestDatabase({ truncateBeforeEach: ['postmark_alert_state'] });
const other = useFixture(() => database.openAnother());

const T0 = new Date('2026-11-24T12:00:00Z');

function alertAt(kind: PostmarkAlert['kind'], detectedAt: Date): PostmarkAlert {
  return {
    kind,
    rate: 0.05,
    threshold: 0.01,
    events: 5,
    messages: 100,
    windowMs: kind === 'bounce_rate' ? HOUR_MS : DAY_MS,
    detectedAt,
  };
}

describe('claiming an alert', () => {
  it('grants exactly one of many concurrent claims, across instances', async () => {
    const claims = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        claimAlert(index % 2 === 0 ? database.db : other.db, alertAt('bounce_rate', T0)),
      ),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
  });

  it('grants each kind on its own', async () => {
    expect(await claimAlert(database.db, alertAt('bounce_rate', T0))).toBe(true);
    expect(await claimAlert(database.db, alertAt('spam_rate', T0))).toBe(true);
  });

  it('refuses the kind again until its window has passed', async () => {
    expect(await claimAlert(database.db, alertAt('bounce_rate', T0))).toBe(true);
    const at = (ms: number) => alertAt('bounce_rate', new Date(T0.getTime() + ms));
    expect(await claimAlert(database.db, at(30 * MINUTE_MS))).toBe(false);
    expect(await claimAlert(database.db, at(HOUR_MS - 1))).toBe(false);
    expect(await claimAlert(database.db, at(HOUR_MS))).toBe(true);
    expect(await claimAlert(database.db, at(HOUR_MS + MINUTE_MS))).toBe(false);

    expect(await claimAlert(database.db, alertAt('spam_rate', T0))).toBe(true);
    expect(await claimAlert(database.db, alertAt('spam_rate', new Date(T0.getTime() + 23 * HOUR_MS)))).toBe(
      false,
    );
    expect(await claimAlert(database.db, alertAt('spam_rate', new Date(T0.getTime() + DAY_MS)))).toBe(true);
  });
});
