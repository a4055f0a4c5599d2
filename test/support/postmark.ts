import type { TestApp } from './app.ts';

export const POSTMARK_TOKEN = 'pm-webhook-token-0123456789';

/** The env that turns the delivery monitor on with a known webhook token. */
export const postmarkEnv = {
  FLAG_POSTMARK_DELIVERY_MONITOR: '1',
  POSTMARK_DELIVERY_WEBHOOK_SECRET: POSTMARK_TOKEN,
};

let sequence = 0;
const next = () => {
  sequence += 1;
  return sequence;
};

/** A Delivery webhook as Postmark sends it (developer docs, "Delivery webhook"). */
export function deliveryPayload(overrides: Record<string, unknown> = {}) {
  const n = next();
  return {
    RecordType: 'Delivery',
    ServerID: 23,
    MessageStream: 'outbound',
    MessageID: `883953f4-6105-42a2-a16a-${String(n).padStart(12, '0')}`,
    Recipient: `user${n}@example.com`,
    Tag: 'support-outbound',
    DeliveredAt: '2026-11-24T11:58:54.9070259Z',
    Details: 'Test delivery webhook details',
    Metadata: { ticket: '42' },
    ...overrides,
  };
}

function bounceLike(recordType: 'Bounce' | 'SpamComplaint', overrides: Record<string, unknown>) {
  const n = next();
  return {
    RecordType: recordType,
    ID: 4_200_000_000 + n,
    Type: recordType === 'Bounce' ? 'HardBounce' : 'SpamComplaint',
    TypeCode: recordType === 'Bounce' ? 1 : 512,
    Name: recordType === 'Bounce' ? 'Hard bounce' : 'Spam complaint',
    Tag: 'support-outbound',
    MessageID: `00000000-0000-0000-0000-${String(n).padStart(12, '0')}`,
    ServerID: 23,
    MessageStream: 'outbound',
    Description:
      recordType === 'Bounce'
        ? 'The server was unable to deliver your message (ex: unknown user, mailbox not found).'
        : 'The subscriber explicitly marked this message as spam.',
    Details: 'Test bounce details',
    Email: `bounced${n}@example.com`,
    From: 'support@raxx.app',
    BouncedAt: '2026-11-24T06:58:10.2735393-05:00',
    DumpAvailable: true,
    Inactive: true,
    CanActivate: true,
    Subject: 'Re: your ticket',
    Content: 'Return-Path: <>\r\nReceived: ...the raw bounce message...',
    Metadata: { ticket: '42' },
    ...overrides,
  };
}

/** A Bounce webhook as Postmark sends it (developer docs, "Bounce webhook"). */
export const bouncePayload = (overrides: Record<string, unknown> = {}) => bounceLike('Bounce', overrides);

/** A SpamComplaint webhook: the Bounce fields with Type SpamComplaint, TypeCode 512. */
export const spamComplaintPayload = (overrides: Record<string, unknown> = {}) =>
  bounceLike('SpamComplaint', overrides);

/** Posts a webhook body; `token` null sends no X-Postmark-Webhook-Token header. */
export function postPostmark(app: TestApp, payload: unknown, token: string | null = POSTMARK_TOKEN) {
  return app.app.inject({
    method: 'POST',
    url: '/webhooks/postmark/delivery',
    headers: {
      'content-type': 'application/json',
      ...(token === null ? {} : { 'x-postmark-webhook-token': token }),
    },
    payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
  });
}
