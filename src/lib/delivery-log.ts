import { type Insertable, sql } from 'kysely';
import type { Logger } from 'pino';
import type { Db } from '../db/database.ts';
import type { DeliveryLogTable, DeliveryOutcome } from '../db/schema.ts';

/** A webhook as answered, kept in memory until the next flush; parsed only then, off the request. */
export interface AnsweredDelivery {
  receivedAt: Date;
  route: string;
  status: number;
  durationMs: number;
  headers: Record<string, string | string[] | undefined>;
  /** The request body, kept only when no header names the event (Postmark puts it in the body). */
  body: Buffer | undefined;
  /** The reply as sent (a JSON string for every webhook route). */
  reply: unknown;
}

export interface DeliveryLog {
  record(delivery: AnsweredDelivery): void;
  /** Writes whatever is buffered; resolves once it is written (or dropped). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

const FLUSH_INTERVAL_MS = 100;
/** A buffer this full is written at once instead of waiting for the timer. */
const FLUSH_ROWS = 500;
/** While the database is away the buffer stops growing here; the oldest rows are dropped. */
const MAX_BUFFERED = 20_000;
const DETAIL_MAX_CHARS = 500;

/**
 * Webhook routes are the ones reading their raw body (every signed webhook does), or whose
 * path says webhook: a new webhook route is logged without being listed anywhere.
 */
export function isWebhookRoute(
  url: string | undefined,
  routeConfig: { rawBody?: boolean } | undefined,
): boolean {
  if (!url) return false;
  return routeConfig?.rawBody === true || /webhook/i.test(url);
}

/**
 * Records every answered webhook in `delivery_log`, in batches: one multi-row insert every
 * 100 ms (or every 500 rows), never one per request, so the log costs the webhooks almost
 * nothing. The trade-off, accepted for a log and never for an effect: a crash loses at most
 * the rows of the last buffer, and rows the database refuses (it is down) are dropped.
 */
export function createDeliveryLog(deps: { db: Db; log: Logger; enabled: boolean }): DeliveryLog {
  let buffer: AnsweredDelivery[] = [];
  let writing: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let dropped = 0;

  const write = (batch: AnsweredDelivery[]) => {
    writing = writing.then(async () => {
      try {
        await insertDeliveries(deps.db, batch.map(toRow));
      } catch (error) {
        dropped += batch.length;
        deps.log.warn({ err: error, dropped }, 'delivery log: batch not written, rows dropped');
      }
    });
    return writing;
  };

  const flush = () => {
    clearTimeout(timer);
    timer = undefined;
    if (buffer.length === 0) return writing;
    const batch = buffer;
    buffer = [];
    return write(batch);
  };

  return {
    record(delivery) {
      if (!deps.enabled) return;
      buffer.push(delivery);
      if (buffer.length > MAX_BUFFERED) buffer.splice(0, buffer.length - MAX_BUFFERED);
      if (buffer.length >= FLUSH_ROWS) void flush();
      else timer ??= setTimeout(() => void flush(), FLUSH_INTERVAL_MS);
    },
    flush,
    close: flush,
  };
}

/** A row as `delivery_log` takes it; the time as ISO text, which every driver sends alike. */
type DeliveryRow = Required<Omit<Insertable<DeliveryLogTable>, 'id'>> & { received_at: string };

/** One statement for the whole batch: one array parameter per column. */
async function insertDeliveries(db: Db, rows: DeliveryRow[]): Promise<void> {
  const column = <K extends keyof DeliveryRow>(key: K) => rows.map((row) => row[key]);
  await sql`
    insert into delivery_log (received_at, route, event, delivery_id, status, duration_ms, outcome, detail)
    select * from unnest(
      ${column('received_at')}::timestamptz[], ${column('route')}::text[], ${column('event')}::text[],
      ${column('delivery_id')}::text[], ${column('status')}::smallint[], ${column('duration_ms')}::real[],
      ${column('outcome')}::text[], ${column('detail')}::text[])`.execute(db);
}

function header(headers: AnsweredDelivery['headers'], name: string): string | null {
  const value = headers[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first?.trim() ? first.trim().slice(0, 200) : null;
}

function parseJson(value: unknown): Record<string, unknown> | undefined {
  const text = Buffer.isBuffer(value) ? value.toString('utf8') : value;
  if (typeof text !== 'string' || text === '') return undefined;
  try {
    const parsed: unknown = JSON.parse(text);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const scalar = (value: unknown): string | null =>
  typeof value === 'string' || typeof value === 'number' ? String(value).slice(0, 200) : null;

function toRow(delivery: AnsweredDelivery): DeliveryRow {
  const { headers, status } = delivery;
  let event = header(headers, 'x-github-event') ?? header(headers, 'x-freescout-event');
  let deliveryId = header(headers, 'x-github-delivery');
  if (event === null && delivery.body) {
    // Postmark names the record in the body and gives each event its own id.
    const body = parseJson(delivery.body);
    event = scalar(body?.RecordType);
    deliveryId ??= scalar(body?.ID) ?? scalar(body?.MessageID);
  }
  const reply = parseJson(delivery.reply);
  return {
    received_at: delivery.receivedAt.toISOString(),
    route: delivery.route,
    event,
    delivery_id: deliveryId,
    status,
    duration_ms: Math.round(delivery.durationMs * 100) / 100,
    ...outcomeOf(status, reply),
  };
}

function outcomeOf(
  status: number,
  reply: Record<string, unknown> | undefined,
): { outcome: DeliveryOutcome; detail: string | null } {
  const clip = (text: string) => text.slice(0, DETAIL_MAX_CHARS);
  if (status >= 400) {
    const reason = [scalar(reply?.error), scalar(reply?.message)].filter(Boolean).join(': ');
    return { outcome: status >= 500 ? 'failed' : 'rejected', detail: reason ? clip(reason) : null };
  }
  if (reply?.ignored === true) return { outcome: 'ignored', detail: 'event not handled by this route' };
  const facts = Object.entries(reply ?? {})
    .filter(([key, value]) => key !== 'ok' && (scalar(value) !== null || typeof value === 'boolean'))
    .map(([key, value]) => `${key}=${String(value)}`);
  return {
    outcome: status === 202 ? 'accepted' : 'processed',
    detail: facts.length ? clip(facts.join(' ')) : null,
  };
}
