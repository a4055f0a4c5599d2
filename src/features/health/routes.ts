import type { FastifyPluginAsync } from 'fastify';
import { sql } from 'kysely';
import { z } from 'zod';
import { migrationsAreCurrent } from '../../db/migrate.ts';
import type { FeatureDeps } from '../../lib/deps.ts';

const statusSchema = z.object({ status: z.string() });
const errorSchema = z.object({ error: z.string(), message: z.string() });

export const healthRoutes: FastifyPluginAsync<FeatureDeps> = async (app, { db }) => {
  app.get('/healthz', { schema: { response: { 200: statusSchema } } }, async () => ({ status: 'ok' }));

  app.get(
    '/readyz',
    { schema: { response: { 200: statusSchema, 503: errorSchema } } },
    async (request, reply) => {
      try {
        await sql`select 1`.execute(db);
        if (await migrationsAreCurrent(db)) return { status: 'ready' };
        return reply.code(503).send({ error: 'migrations_pending', message: 'run npm run migrate' });
      } catch (error) {
        request.log.warn({ err: error }, 'readiness check failed');
        return reply
          .code(503)
          .send({ error: 'database_unavailable', message: 'the database does not answer' });
      }
    },
  );
};
