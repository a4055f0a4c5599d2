import { createHmac } from 'node:crypto';

export type SignatureScheme = 'sha1-base64' | 'sha256-hex' | 'sha256-base64';

/**
 * A conversation object as FreeScout's webhook module sends it (camelCase, ISO 8601 with Z):
 * threads in `_embedded`, never any tags.
 */
export function conversationPayload(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 1042,
    number: 318,
    threadsCount: 2,
    type: 'email',
    folderId: 7,
    status: 'active',
    state: 'published',
    subject: 'Refund for order 5521',
    preview: 'Hi, I was charged twice…',
    mailboxId: 1,
    assignee: null,
    createdBy: { id: 12, type: 'customer', email: 'dana@example.com' },
    createdAt: '2026-11-24T09:00:00Z',
    updatedAt: '2026-11-24T10:00:00Z',
    closedBy: null,
    closedAt: null,
    userUpdatedAt: '2026-11-24T10:00:00Z',
    customerWaitingSince: { time: '2026-11-24T09:00:00Z', friendly: '1 hour ago' },
    source: { type: 'email', via: 'customer' },
    cc: [],
    bcc: [],
    customer: { id: 12, type: 'customer', firstName: 'Dana', lastName: 'Reyes', email: 'dana@example.com' },
    customFields: [],
    _embedded: { threads: [] },
    ...overrides,
  };
}

export function sign(raw: string | Buffer, secret: string, scheme: SignatureScheme = 'sha1-base64'): string {
  const algorithm = scheme === 'sha1-base64' ? 'sha1' : 'sha256';
  return createHmac(algorithm, secret)
    .update(raw)
    .digest(scheme === 'sha256-hex' ? 'hex' : 'base64');
}

/** Headers and raw body of a FreeScout webhook delivery. */
export function freescoutDelivery(
  body: unknown,
  options: { secret: string; event?: string; scheme?: SignatureScheme; signature?: string },
) {
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  return {
    payload,
    headers: {
      'content-type': 'application/json',
      ...(options.event === undefined ? {} : { 'x-freescout-event': options.event }),
      'x-freescout-signature': options.signature ?? sign(payload, options.secret, options.scheme),
    },
  };
}
