import type { FastifyPluginAsync } from 'fastify';
import { sql } from 'kysely';
import { z } from 'zod';
import { migrationsAreCurrent } from '../../db/migrate.ts';
import type { FeatureDeps } from '../../lib/deps.ts';
import { errorSchema } from '../../lib/errors.ts';

/** Readiness answers within a second, whatever the database does (a hung one never answers). */
const READY_TIMEOUT_MS = 900;

const statusSchema = z.object({ status: z.string() });

export const healthRoutes: FastifyPluginAsync<FeatureDeps> = async (app, { db }) => {
  app.get(
    '/healthz',
    { config: { access: 'public' }, schema: { response: { 200: statusSchema } } },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    { config: { access: 'public' }, schema: { response: { 200: statusSchema, 503: errorSchema } } },
    async (request, reply) => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no answer within ${READY_TIMEOUT_MS} ms`)),
          READY_TIMEOUT_MS,
        );
      });
      const check = (async () => {
        await sql`select 1`.execute(db);
        return migrationsAreCurrent(db);
      })();
      check.catch(() => undefined);
      try {
        if (await Promise.race([check, timeout])) return { status: 'ready' };
        return reply.code(503).send({ error: 'migrations_pending', message: 'run npm run migrate' });
      } catch (error) {
        // The reason only: a probe every few seconds during an outage would otherwise log a stack each.
        request.log.warn({ reason: (error as Error).message }, 'readiness check failed');
        return reply
          .code(503)
          .send({ error: 'database_unavailable', message: 'the database does not answer' });
      } finally {
        clearTimeout(timer);
      }
    },
  );
};
