import { backoffMs, retryAfterOf } from '../../clients/http.ts';
import type { ServiceDeps } from '../../lib/deps.ts';

const BATCH_SIZE = 20;
/** A claimed notification is hidden from other senders this long; a crashed sender's claim lapses. */
const CLAIM_LEASE_MS = 60_000;
const MAX_BACKOFF_MS = 15 * 60_000;

/**
 * Sends pending security notifications to Slack until Slack accepts each one. Claims are
 * taken with SKIP LOCKED, so several instances share the work without sending one twice;
 * delivery is at least once (a sender dying between Slack's answer and the commit resends).
 */
export async function deliverSecurityNotifications(
  deps: ServiceDeps,
): Promise<{ delivered: number; failed: number }> {
  const { config, db, clock, log } = deps;
  const { slack } = deps.clients;
  if (!slack) return { delivered: 0, failed: 0 };
  const channel = config.slack.operatorChannel;
  const now = clock.now();
  const claimed = await db
    .updateTable('security_notification')
    .set((eb) => ({
      attempts: eb('attempts', '+', 1),
      next_attempt_at: new Date(now.getTime() + CLAIM_LEASE_MS),
    }))
    .where('id', 'in', (eb) =>
      eb
        .selectFrom('security_notification')
        .select('id')
        .where('delivered_at', 'is', null)
        .where('next_attempt_at', '<=', now)
        .orderBy('id')
        .limit(BATCH_SIZE)
        .forUpdate()
        .skipLocked(),
    )
    .returning(['id', 'text', 'attempts'])
    .execute();

  let delivered = 0;
  for (const notification of claimed) {
    try {
      await slack.postMessage({ channel, text: notification.text });
      await db
        .updateTable('security_notification')
        .set({ delivered_at: clock.now(), last_error: null })
        .where('id', '=', notification.id)
        .execute();
      delivered++;
    } catch (error) {
      const retryAt = new Date(clock.now().getTime() + notificationDelayMs(notification.attempts, error));
      log.warn(
        { err: error, notification_id: notification.id, retry_at: retryAt },
        'security notification not delivered',
      );
      await db
        .updateTable('security_notification')
        .set({ next_attempt_at: retryAt, last_error: error instanceof Error ? error.message : String(error) })
        .where('id', '=', notification.id)
        .execute();
    }
  }
  return { delivered, failed: claimed.length - delivered };
}

function notificationDelayMs(attempts: number, error: unknown): number {
  // Slack's Retry-After is obeyed exactly, even when shorter than the curve.
  const retryAfterSeconds = retryAfterOf(error);
  if (retryAfterSeconds !== undefined) return retryAfterSeconds * 1000;
  return backoffMs(attempts, { baseMs: 5_000, capMs: MAX_BACKOFF_MS });
}
