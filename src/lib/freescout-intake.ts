import type { FastifyRequest } from 'fastify';
import { httpError } from './errors.ts';
import { isSignatureHeader, verifySignature } from './hmac.ts';

/**
 * What every FreeScout webhook route shares (the audit and rbac webhooks, autolink's mailbox
 * webhooks): the signature gate, the event name, the status codes and the ticket URL. One
 * module, so the intakes cannot drift apart (docs/api.md §2, §5, §6).
 */

const SIGNATURE_HEADER = 'x-freescout-signature';
const EVENT_HEADER = 'x-freescout-event';

function invalidSignature() {
  return httpError(401, 'invalid_signature', 'missing or invalid X-FreeScout-Signature');
}

/** Before the body is read: a client without a usable signature header never gets to send it. */
export function assertSignatureHeader(request: FastifyRequest): void {
  if (!isSignatureHeader(request.headers[SIGNATURE_HEADER])) throw invalidSignature();
}

/** Once the body is in: the signature over the raw bytes, checked before anything is parsed. */
export function assertSignedBody(request: FastifyRequest, secrets: readonly string[]): Buffer {
  const raw = request.rawBody;
  const signature = request.headers[SIGNATURE_HEADER];
  if (!raw || !verifySignature(raw, typeof signature === 'string' ? signature : undefined, secrets)) {
    throw invalidSignature();
  }
  return raw;
}

/** The module's conversation events (`Entities/Webhook.php`); its customer events are not wanted. */
export const CONVERSATION_EVENTS: readonly string[] = [
  'convo.created',
  'convo.assigned',
  'convo.status',
  'convo.moved',
  'convo.customer.reply.created',
  'convo.agent.reply.created',
  'convo.note.created',
  'convo.deleted',
  'convo.deleted_forever',
  'convo.restored',
];

/** Events whose body is the deleted conversation's id and dates, not a conversation. */
export const DELETE_EVENTS: readonly string[] = ['convo.deleted', 'convo.deleted_forever'];

/** Older aliases some senders use, mapped to the module's own names. */
const EVENT_ALIASES: Record<string, string> = {
  'conversation.created': 'convo.created',
  'conversation.status_changed': 'convo.status',
};

/** `X-FreeScout-Event`, trimmed and lower-cased (`Convo.Created` is FreeScout's `convo.created`); '' when absent. */
export function freescoutEventName(request: FastifyRequest): string {
  const header = request.headers[EVENT_HEADER];
  return (Array.isArray(header) ? header[0] : header)?.trim().toLowerCase() ?? '';
}

/** The module's own name for an event, whichever alias it came under. */
export function canonicalEventName(name: string): string {
  return EVENT_ALIASES[name] ?? name;
}

/** FreeScout's numeric status codes, as some versions and modules print them. */
const STATUS_BY_CODE: Record<number, string> = { 1: 'active', 2: 'pending', 3: 'closed', 4: 'spam' };

/** A conversation's status as a name, whether it came as a name or as FreeScout's code. */
export function freescoutStatusName(status: unknown): unknown {
  return typeof status === 'number' ? (STATUS_BY_CODE[status] ?? String(status)) : status;
}

/** The agent-facing page of a conversation. */
export function conversationUrl(publicUrl: string, conversationId: number): string {
  return `${publicUrl}/conversation/${conversationId}`;
}
