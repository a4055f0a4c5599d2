import { z } from 'zod';
import type { PostmarkEventType } from '../../db/schema.ts';
import { httpError } from '../../lib/errors.ts';
import { assertPlausibleTime } from '../../lib/plausible-time.ts';
import { topLevelNumberText } from '../../lib/raw-body.ts';

/** One Delivery, Bounce or SpamComplaint, mapped to our columns (docs/api.md, "Postmark"). */
export interface PostmarkEvent {
  /** The same event always has the same key, however often Postmark retries it. */
  key: string;
  type: PostmarkEventType;
  messageId: string | null;
  recipient: string | null;
  tag: string | null;
  bounceType: string | null;
  bounceDescription: string | null;
  /**
   * Postmark's bounce ID, digit for digit: IDs pass 2^53, past what a JS number holds exactly.
   * The stored payload's `ID` is written from it too.
   */
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

const STORED_RECORD_TYPES = ['Delivery', 'Bounce', 'SpamComplaint'];
/** Largest value of the `bigint` column the bounce ID is stored in. */
const MAX_POSTMARK_ID = 9_223_372_036_854_775_807n;
/** Longest bounce `Type` taken; over it the record is refused (400), never truncated into another type. */
export const MAX_BOUNCE_TYPE_CHARS = 100;
/** ISO 8601 as Postmark prints it: up to 7 fractional digits, `Z` or an offset. */
const POSTMARK_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$/;

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
  // A JSON number only, as Postmark documents it; past 2^53 its digits are read from the raw body.
  ID: z.number().nonnegative().refine(Number.isInteger, 'expected an integer'),
  // Postmark's types are short names (the longest, TemplateRenderingFailed, has 23 characters);
  // the type is part of the minute rollup's primary key, a btree that cannot take a long one.
  Type: z.string().max(MAX_BOUNCE_TYPE_CHARS).nullish(),
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
 * Timestamps are checked against `now` (clock skew, nothing before 2000).
 */
export function interpretPostmarkPayload(
  body: unknown,
  raw: Buffer | undefined,
  now: Date,
): PostmarkDelivery {
  const envelope = envelopeSchema.safeParse(body);
  if (!envelope.success) throw httpError(400, 'invalid_payload', 'expected a JSON object with a RecordType');
  const recordType = envelope.data.RecordType;
  if (recordType === 'Delivery') {
    return { kind: 'event', event: deliveryEvent(parse(deliverySchema, body), now) };
  }
  if (recordType === 'Bounce' || recordType === 'SpamComplaint') {
    return { kind: 'event', event: bounceEvent(parse(bounceSchema, body), raw, now) };
  }
  // Postmark spells its types exactly; `delivery` is a hand-made or broken sender, not an Open to drop.
  const meant = STORED_RECORD_TYPES.find((type) => type.toLowerCase() === recordType.toLowerCase());
  if (meant) throw httpError(400, 'invalid_payload', `RecordType: "${recordType}" is spelled "${meant}"`);
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

function deliveryEvent(delivery: z.infer<typeof deliverySchema>, now: Date): PostmarkEvent {
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
    occurredAt: parseTime(delivery.DeliveredAt, 'DeliveredAt', now),
    payload: delivery,
  };
}

/** The bounce ID as sent: a safe integer as parsed, a larger one from the body's top-level `ID` literal. */
function exactId(parsed: number, raw: Buffer | undefined): string {
  const digits =
    Number.isSafeInteger(parsed) || raw === undefined
      ? BigInt(parsed).toString()
      : (topLevelNumberText(raw.toString('utf8'), 'ID') ?? BigInt(parsed).toString());
  const id = digits.replace(/^0+(?=\d)/, '');
  if (!/^\d+$/.test(id) || BigInt(id) > MAX_POSTMARK_ID) {
    throw httpError(400, 'invalid_payload', `ID: ${id} is not an integer from 0 to 2^63-1`);
  }
  return id;
}

function bounceEvent(
  bounce: z.infer<typeof bounceSchema>,
  raw: Buffer | undefined,
  now: Date,
): PostmarkEvent {
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
    occurredAt: parseTime(bounce.BouncedAt, 'BouncedAt', now),
    payload,
  };
}

function blankToNull(value: string | null | undefined): string | null {
  return value === undefined || value === null || value.trim() === '' ? null : value;
}

/**
 * Postmark prints ISO 8601 with up to 7 fractional digits and an offset; Date keeps milliseconds.
 * Absent is null; present but unreadable or implausible is refused, not stored as "no time".
 */
function parseTime(value: string | null | undefined, field: string, now: Date): Date | null {
  if (value === undefined || value === null) return null;
  if (!POSTMARK_TIME.test(value)) {
    throw httpError(400, 'invalid_payload', `${field}: expected an ISO 8601 timestamp with an offset`);
  }
  return assertPlausibleTime(new Date(value), now, field);
}
