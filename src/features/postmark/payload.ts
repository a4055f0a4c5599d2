import { z } from 'zod';
import type { PostmarkEventType } from '../../db/schema.ts';
import { httpError } from '../../lib/errors.ts';

/** One Delivery, Bounce or SpamComplaint, mapped to our columns (wire-formats/postmark.md). */
export interface PostmarkEvent {
  /** The same event always has the same key, however often Postmark retries it. */
  key: string;
  type: PostmarkEventType;
  messageId: string | null;
  recipient: string | null;
  tag: string | null;
  bounceType: string | null;
  bounceDescription: string | null;
  /** Postmark's bounce ID, digit for digit: IDs pass 2^53, past what a JS number holds exactly. */
  postmarkId: string | null;
  occurredAt: Date | null;
  /** The payload as received, less the raw bounce dump (`Content`), which Postmark keeps. */
  payload: Record<string, unknown>;
}

export type PostmarkDelivery =
  | { kind: 'event'; event: PostmarkEvent }
  | { kind: 'ignored'; recordType: string };

const optionalText = z.string().nullish();

const envelopeSchema = z.looseObject({ RecordType: z.string().min(1) });

const deliverySchema = z.looseObject({
  RecordType: z.literal('Delivery'),
  MessageID: z.string().min(1),
  Recipient: z.string().min(1),
  DeliveredAt: z.string().min(1),
  Tag: optionalText,
});

// SpamComplaint carries the same fields as Bounce (Type "SpamComplaint", TypeCode 512).
const bounceSchema = z.looseObject({
  RecordType: z.enum(['Bounce', 'SpamComplaint']),
  ID: z.union([
    z.number().nonnegative().refine(Number.isInteger, 'expected an integer'),
    z.string().regex(/^\d+$/),
  ]),
  Type: optionalText,
  MessageID: optionalText,
  Email: optionalText,
  Recipient: optionalText,
  Tag: optionalText,
  Description: optionalText,
  BouncedAt: optionalText,
});

/**
 * Reads a parsed webhook body: an event to store, or a record type we acknowledge and drop.
 * `raw` is the body as received, where a bounce ID keeps every digit JSON.parse may round.
 */
export function interpretPostmarkPayload(body: unknown, raw?: string): PostmarkDelivery {
  const envelope = envelopeSchema.safeParse(body);
  if (!envelope.success) throw httpError(400, 'invalid_payload', 'expected a JSON object with a RecordType');
  const recordType = envelope.data.RecordType;
  if (recordType === 'Delivery') return { kind: 'event', event: deliveryEvent(parse(deliverySchema, body)) };
  if (recordType === 'Bounce' || recordType === 'SpamComplaint') {
    return { kind: 'event', event: bounceEvent(parse(bounceSchema, body), raw) };
  }
  return { kind: 'ignored', recordType };
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw httpError(
      400,
      'invalid_payload',
      `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid value'}`,
    );
  }
  return parsed.data;
}

function deliveryEvent(delivery: z.infer<typeof deliverySchema>): PostmarkEvent {
  return {
    // A delivery has no ID of its own: one message is delivered once per recipient.
    key: `Delivery:${delivery.MessageID}:${delivery.Recipient}:${delivery.DeliveredAt}`,
    type: 'Delivery',
    messageId: delivery.MessageID,
    recipient: delivery.Recipient,
    tag: blankToNull(delivery.Tag),
    bounceType: null,
    bounceDescription: null,
    postmarkId: null,
    occurredAt: parseTime(delivery.DeliveredAt),
    payload: delivery,
  };
}

/** The top-level `"ID": <digits>` as written (an escaped quote inside a string does not match). */
const RAW_ID = /(?<!\\)"ID"\s*:\s*"?(\d+)/;

function exactId(parsed: number | string, raw: string | undefined): string {
  if (typeof parsed === 'string') return parsed.replace(/^0+(?=\d)/, '');
  if (Number.isSafeInteger(parsed) || raw === undefined) return BigInt(parsed).toString();
  return RAW_ID.exec(raw)?.[1] ?? BigInt(parsed).toString();
}

function bounceEvent(bounce: z.infer<typeof bounceSchema>, raw?: string): PostmarkEvent {
  const { Content: _dump, ...payload } = bounce;
  const id = exactId(bounce.ID, raw);
  return {
    key: `${bounce.RecordType}:${id}`,
    type: bounce.RecordType,
    messageId: blankToNull(bounce.MessageID),
    recipient: blankToNull(bounce.Email) ?? blankToNull(bounce.Recipient),
    tag: blankToNull(bounce.Tag),
    bounceType: blankToNull(bounce.Type),
    bounceDescription: bounce.Description ?? null,
    postmarkId: id,
    occurredAt: parseTime(bounce.BouncedAt),
    payload,
  };
}

function blankToNull(value: string | null | undefined): string | null {
  return value === undefined || value === null || value.trim() === '' ? null : value;
}

/** Postmark prints ISO 8601 with up to 7 fractional digits and an offset; Date keeps milliseconds. */
function parseTime(value: string | null | undefined): Date | null {
  if (!value) return null;
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? null : time;
}
