/**
 * The reference "floor" for the audit webhook benchmark: plain node:http, an HMAC check, one
 * pg upsert per request. Raptor must match it with everything it adds (routing, validation,
 * logging, error handling). Run: DATABASE_URL=... PORT=... SECRET=... node --import tsx bench/floor-server.ts
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import pg from 'pg';

const secret = process.env.SECRET ?? '';
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
await pool.query(`create table if not exists bench_floor_cache (
  ticket_id bigint primary key, status text not null, updated_at timestamptz not null, ttl_expires timestamptz not null)`);

const server = createServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', async () => {
    const raw = Buffer.concat(chunks);
    const expected = createHmac('sha1', secret).update(raw).digest();
    const given = Buffer.from(String(request.headers['x-freescout-signature'] ?? ''), 'base64');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      response.writeHead(401).end();
      return;
    }
    try {
      const conversation = JSON.parse(raw.toString('utf8'));
      await pool.query(
        `insert into bench_floor_cache (ticket_id, status, updated_at, ttl_expires)
         values ($1, $2, $3, now() + interval '1 day')
         on conflict (ticket_id) do update set status = excluded.status, updated_at = excluded.updated_at,
           ttl_expires = excluded.ttl_expires where bench_floor_cache.updated_at < excluded.updated_at`,
        [conversation.id, conversation.status, conversation.updatedAt],
      );
      response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    } catch {
      response.writeHead(500).end();
    }
  });
});
server.listen(Number(process.env.PORT ?? 3100), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => pool.end()));
