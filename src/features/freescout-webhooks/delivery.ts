import type { FastifyRequest, onRequestHookHandler } from 'fastify';
import { z } from 'zod';
import type { CachedTicketStatus } from '../../db/schema.ts';
import { httpError } from '../../lib/errors.ts';
import {
  assertSignatureHeader,
  assertSignedBody,
  CONVERSATION_EVENTS,
  canonicalEventName,
  DELETE_EVENTS,
  freescoutEventName,
  freescoutStatusName,
} from '../../lib/freescout-intake.ts';
import { conversationIdSchema } from '../../lib/ids.ts';
import { assertPlausibleTime } from '../../lib/plausible-time.ts';
import { parseJsonBody } from '../../lib/raw-body.ts';

export interface SignedDelivery {
  event: string | undefined;
  body: unknown;
}

/**
 * What can be refused before the body is read: no secret configured (503), no signature or one
 * no scheme could match (401). A client without a signature never gets to send its body.
 */
export function requireSignedDelivery(secrets: readonly string[]): onRequestHookHandler {
  return async (request) => {
    if (secrets.length === 0) throw httpError(503, 'not_configured', 'the webhook secret is not configured');
    assertSignatureHeader(request);
  };
}

/**
 * The rest of the shared gate, once the body is in (after `requireSignedDelivery`): signature
 * valid over the raw bytes (checked before anything is parsed), then JSON.
 */
export function readSignedDelivery(request: FastifyRequest, secrets: readonly string[]): SignedDelivery {
  const raw = assertSignedBody(request, secrets);
  const event = freescoutEventName(request);
  return { event: event === '' ? undefined : canonicalEventName(event), body: parseJsonBody(raw) };
}

const conversationSchema = z.object({
  id: conversationIdSchema,
  status: z.preprocess(freescoutStatusName, z.enum(['active', 'pending', 'closed', 'spam'])),
  state: z.string().optional(),
  updatedAt: z.iso.datetime({ offset: true }).optional(),
});

// A delete may carry the whole conversation or only its id (Help Scout style).
const deletedConversationSchema = z.object({
  id: conversationIdSchema,
  updatedAt: z.iso.datetime({ offset: true }).optional(),
});

/** What a delivery says about one ticket. */
export interface TicketSnapshot {
  ticketId: number;
  status: CachedTicketStatus;
  /** FreeScout's `updatedAt`; undefined when the delivery carries none (an id-only delete). */
  updatedAt: Date | undefined;
}

export type FreescoutEvent =
  | { kind: 'ignored'; event: string | undefined }
  | { kind: 'ticket'; snapshot: TicketSnapshot };

/**
 * Reads a delivery as a ticket snapshot. Customer and unknown events are ignored (the
 * subscription may be broad); every `convo.*` event carries the conversation. An `updatedAt`
 * beyond clock skew from `now` (or before 2000) is refused: it would freeze the cached row.
 */
export function interpretDelivery(delivery: SignedDelivery, now: Date): FreescoutEvent {
  const { event } = delivery;
  if (event !== undefined && !event.startsWith('convo.')) return { kind: 'ignored', event };

  if (event !== undefined && DELETE_EVENTS.includes(event)) {
    const deleted = parsePayload(deletedConversationSchema, delivery.body);
    return { kind: 'ticket', snapshot: deliverySnapshot(deleted.id, 'deleted', deleted.updatedAt, now) };
  }
  const parsed = conversationSchema.safeParse(delivery.body);
  if (!parsed.success) {
    // An undocumented convo.* event refreshes the row when it carries a conversation, and is
    // acknowledged otherwise: refusing it would only make FreeScout retry it ten times.
    if (event !== undefined && !CONVERSATION_EVENTS.includes(event)) return { kind: 'ignored', event };
    throw invalidPayload(parsed.error);
  }
  const conversation = parsed.data;
  const status = conversation.state === 'deleted' ? 'deleted' : conversation.status;
  return {
    kind: 'ticket',
    snapshot: deliverySnapshot(conversation.id, status, conversation.updatedAt, now),
  };
}

function deliverySnapshot(
  ticketId: number,
  status: CachedTicketStatus,
  updatedAt: string | undefined,
  now: Date,
): TicketSnapshot {
  return {
    ticketId,
    status,
    updatedAt: updatedAt ? assertPlausibleTime(new Date(updatedAt), now, 'updatedAt') : undefined,
  };
}

function parsePayload<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) throw invalidPayload(parsed.error);
  return parsed.data;
}

function invalidPayload(error: z.ZodError) {
  const issue = error.issues[0];
  const where = issue?.path.length ? issue.path.join('.') : 'body';
  return httpError(
    400,
    'invalid_payload',
    `not a FreeScout conversation: ${where}: ${issue?.message ?? 'invalid'}`,
  );
}
