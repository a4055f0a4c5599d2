import { expect, it } from 'vitest';
import { useTestApp, useTestDatabase } from '../support/setup.ts';

const SECRETS = {
  INTERNAL_API_TOKEN: 'internal-token-redact-me-1',
  FREESCOUT_AUDIT_WEBHOOK_SECRET: 'audit-secret-redact-me-2',
  POSTMARK_DELIVERY_WEBHOOK_SECRET: 'postmark-secret-redact-me-3',
  SLACK_BOT_TOKEN: 'xoxb-redact-me-4',
  FREESCOUT_API_KEY: 'freescout-key-redact-me-5',
};

const database = useTestDatabase();
const app = useTestApp(() => ({ db: database.db, env: { ...SECRETS, LOG_LEVEL: 'trace' } }));

it('never writes a configured secret or a sensitive header into the log', async () => {
  for (const secret of Object.values(SECRETS)) {
    await app.app.inject({
      method: 'POST',
      url: `/api/_internal/${secret}`,
      headers: {
        authorization: `Bearer ${secret}`,
        'x-freescout-signature': secret,
        'x-postmark-webhook-token': secret,
        'cf-access-jwt-assertion': secret,
        cookie: `session=${secret}`,
        'content-type': 'application/json',
      },
      payload: JSON.stringify({ echo: secret }),
    });
    app.app.log.error(
      { headers: { authorization: secret }, detail: `failed with ${secret}` },
      `message ${secret}`,
    );
  }
  const text = app.logText();
  expect(text.length).toBeGreaterThan(0);
  for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
  expect(text).toContain('[REDACTED]');
});
