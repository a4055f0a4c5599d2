import { type Kysely, sql } from 'kysely';

/**
 * A Postmark event stays unique by its whole key at any length: the unique btree moves from
 * `event_key` itself (a key over ~2,700 bytes overflowed a btree row: a 500 that came back on
 * every retry) to the key's sha256. The function spells the hash once for the index and for the
 * insert's `on conflict`; `convert_to` is only "stable" in the catalogue, but its result is the
 * same for the life of a database, so the wrapper may be declared immutable for an index.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`
    create function postmark_event_key_sha256(event_key text) returns bytea
      language sql immutable strict parallel safe
      as $$ select sha256(convert_to(event_key, 'UTF8')) $$`.execute(db);
  await sql`
    create unique index postmark_event_key_sha256_idx
      on postmark_event (postmark_event_key_sha256(event_key))`.execute(db);
  await sql`drop index postmark_event_key`.execute(db);
}

/** Fails while a stored key is too long for a btree row, as the table could not hold it before. */
export async function down(db: Kysely<unknown>): Promise<void> {
  await sql`create unique index postmark_event_key on postmark_event (event_key)`.execute(db);
  await sql`drop index postmark_event_key_sha256_idx`.execute(db);
  await sql`drop function postmark_event_key_sha256(text)`.execute(db);
}
