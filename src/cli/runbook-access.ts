import { z } from 'zod';
import type { FreeScoutClient } from '../clients/freescout.ts';
import type { Config } from '../config.ts';
import { type Db, openDatabase } from '../db/database.ts';
import { migrateToLatest } from '../db/migrate.ts';
import { DatabaseInUseError } from '../db/pglite-lock.ts';
import {
  type DeliveryFilter,
  type LoggedDelivery,
  listLoggedDeliveries,
} from '../features/ops/deliveries.ts';
import { loggedDeliverySchema } from '../features/ops/routes.ts';
import {
  registeredWebhookSchema,
  removedWebhookSchema,
  ticketCacheReplySchema,
} from '../features/ops/runbook-routes.ts';
import { type CachedTicket, listTicketCache, type TicketCacheFilter } from '../features/ops/ticket-cache.ts';
import {
  type RegisteredWebhook,
  type RemovedWebhook,
  registerFeatureWebhook,
  removeFeatureWebhook,
  type WebhookFeature,
} from '../features/ops/webhook-registrations.ts';
import { findLocalServer, type LocalServer } from '../lib/local-server.ts';

/**
 * What the runbook commands read and change, wherever it is: the database itself (Postgres, or an
 * embedded database nobody holds), or — while a server holds the embedded database, which serves
 * one process — that server's internal routes over loopback. The commands print the same either way.
 */
export interface RunbookAccess {
  /** Said once on stderr when the answers come from a running server. */
  via?: string;
  registerWebhook(feature: WebhookFeature, publicBase: string): Promise<RegisteredWebhook>;
  removeWebhook(feature: WebhookFeature): Promise<RemovedWebhook>;
  ticketCache(filter: TicketCacheFilter): Promise<{ now: string; tickets: CachedTicket[] }>;
  deliveries(filter: DeliveryFilter): Promise<LoggedDelivery[]>;
  close(): Promise<void>;
}

function directAccess(
  db: Db,
  deps: { config: Config; freescout: FreeScoutClient | undefined },
  close: () => Promise<void>,
): RunbookAccess {
  const freescout = () => {
    if (!deps.freescout) throw new Error('FREESCOUT_API_URL and FREESCOUT_API_KEY must both be set');
    return deps.freescout;
  };
  return {
    registerWebhook: (feature, publicBase) =>
      registerFeatureWebhook({ db, freescout: freescout(), now: () => new Date() }, { feature, publicBase }),
    removeWebhook: (feature) => removeFeatureWebhook({ db, freescout: freescout() }, feature),
    ticketCache: async (filter) => {
      const now = new Date();
      return { now: now.toISOString(), tickets: await listTicketCache(db, now, filter) };
    },
    deliveries: (filter) => listLoggedDeliveries(db, filter),
    close,
  };
}

/** A request to the running server; its refusal becomes the command's error, in the server's words. */
async function ask(server: LocalServer, method: 'GET' | 'PUT' | 'DELETE', path: string, body?: unknown) {
  const response = await fetch(new URL(path, server.url), {
    method,
    headers: {
      authorization: `Bearer ${server.token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    // A register may wait on FreeScout twice (create, then delete the replaced webhook).
    signal: AbortSignal.timeout(60_000),
  }).catch((error: unknown) => {
    throw new Error(
      `the server holding the embedded database (process ${server.pid}) does not answer at ${server.url}: ${error instanceof Error ? error.message : String(error)}`,
    );
  });
  const text = await response.text();
  let answer: unknown;
  try {
    answer = JSON.parse(text);
  } catch {
    answer = undefined;
  }
  if (!response.ok) {
    const refusal = answer as { error?: unknown; message?: unknown } | undefined;
    const reason =
      typeof refusal?.error === 'string'
        ? `${refusal.error}: ${String(refusal.message)}`
        : text.slice(0, 200);
    throw new Error(`the running server (process ${server.pid}) answered ${response.status} ${reason}`);
  }
  return answer;
}

function serverAccess(server: LocalServer): RunbookAccess {
  const deliveriesReply = z.object({ deliveries: z.array(loggedDeliverySchema) });
  return {
    via: `the embedded database is held by the running server (process ${server.pid}): asking it at ${server.url}`,
    registerWebhook: async (feature, publicBase) =>
      registeredWebhookSchema.parse(
        await ask(server, 'PUT', `/api/_internal/freescout/webhooks/${feature}`, { public_base: publicBase }),
      ),
    removeWebhook: async (feature) =>
      removedWebhookSchema.parse(await ask(server, 'DELETE', `/api/_internal/freescout/webhooks/${feature}`)),
    ticketCache: async (filter) => {
      const query = new URLSearchParams({ limit: String(filter.limit) });
      if (filter.ticketId !== undefined) query.set('ticket_id', String(filter.ticketId));
      return ticketCacheReplySchema.parse(
        await ask(server, 'GET', `/api/_internal/freescout/ticket-cache?${query}`),
      );
    },
    deliveries: async (filter) => {
      const query = new URLSearchParams({ limit: String(filter.limit) });
      if (filter.route) query.set('route', filter.route);
      if (filter.status) query.set('status', filter.status);
      return deliveriesReply.parse(await ask(server, 'GET', `/api/_internal/deliveries?${query}`)).deliveries;
    },
    close: async () => {},
  };
}

/**
 * Opens the configured database for a command; when a live server holds the embedded one, the
 * server it published instead. Anything else holding it (a worker, a migration, a server still
 * starting) is the lock's own error, with what to do.
 */
export async function openRunbookAccess(
  config: Config,
  freescout: FreeScoutClient | undefined,
  given?: Db,
): Promise<RunbookAccess> {
  if (given) return directAccess(given, { config, freescout }, async () => {});
  try {
    const database = await openDatabase(config.database);
    try {
      // The embedded database is migrated by whoever opens it; Postgres by the release phase.
      if (database.kind === 'pglite') await migrateToLatest(database.db);
    } catch (error) {
      await database.close();
      throw error;
    }
    return directAccess(database.db, { config, freescout }, () => database.close());
  } catch (error) {
    if (
      !(error instanceof DatabaseInUseError) ||
      error.holder === undefined ||
      config.database.kind !== 'pglite'
    )
      throw error;
    const server = await findLocalServer(config.database.dataDir, error.holder);
    if (server) return serverAccess(server);
    throw new Error(
      `${error.message} Process ${error.holder} publishes no address for the CLI: it is not a server, or not serving yet; try again once it answers /readyz.`,
    );
  }
}
