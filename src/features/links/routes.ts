import type { FastifyPluginAsync } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { FeatureDeps } from '../../lib/deps.ts';
import { httpError } from '../../lib/errors.ts';
import { requireFeature } from '../../lib/flags.ts';
import { linkExistingIssue, readLink, readLinks, unlinkIssue } from './service.ts';

const MAX_TICKETS_PER_READ = 100;
const ticketId = z.coerce.number<string>().int().positive().max(2_147_483_647);

const errorSchema = z.object({ error: z.string(), message: z.string() });
const linkSchema = z.object({
  ticket_id: z.number().int(),
  issue_url: z.string(),
  issue_number: z.number().int(),
  repo: z.string().describe('owner/name'),
  direction: z.enum(['freescout_to_github', 'github_to_freescout', 'manual']),
  linked_at: z.string().nullable(),
  issue: z
    .object({
      title: z.string(),
      state: z.string(),
      labels: z.array(z.string()),
      updated_at: z.string(),
    })
    .nullable()
    .describe("the service's copy of the issue; null until it was ever read"),
});
const ticketParams = z.object({ ticket_id: ticketId.describe('FreeScout conversation id') });

/** Links between tickets and issues (either direction, or made by hand), for the console's badge. */
export const linksRoutes: FastifyPluginAsync<FeatureDeps> = async (app, deps) => {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.addHook(
    'onRequest',
    requireFeature(deps.config.links.enabled, 'FLAG_FREESCOUT_GITHUB_AUTOLINK or FLAG_GITHUB_FREESCOUT_SYNC'),
  );

  api.get(
    '/api/console/tickets/:ticket_id/github-link',
    {
      config: { access: 'internal' },
      schema: {
        summary: "A ticket's GitHub issue, with the issue's title, state and labels",
        params: ticketParams,
        response: { 200: linkSchema, 404: errorSchema.describe('`not_linked` or `feature_disabled`') },
      },
    },
    async (request) => readLink(deps, request.params.ticket_id),
  );

  api.get(
    '/api/console/github-links',
    {
      config: { access: 'internal' },
      schema: {
        summary: 'The GitHub issues of many tickets at once (a console list); unlinked tickets are left out',
        querystring: z.object({
          ticket_ids: z.string().describe(`comma-separated ticket ids, up to ${MAX_TICKETS_PER_READ}`),
        }),
        response: { 200: z.object({ links: z.array(linkSchema) }) },
      },
    },
    async (request) => {
      const ids = parseTicketIds(request.query.ticket_ids);
      return { links: await readLinks(deps, ids) };
    },
  );

  api.put(
    '/api/console/tickets/:ticket_id/github-link',
    {
      config: { access: 'internal' },
      schema: {
        summary: 'Link the ticket to an existing issue of GITHUB_REPO (idempotent)',
        params: ticketParams,
        body: z.object({
          issue_url: z
            .string()
            .max(500)
            .describe('https://github.com/<owner>/<repo>/issues/<n>, <owner>/<repo>#<n> or #<n>'),
        }),
        response: {
          200: linkSchema,
          404: errorSchema.describe('`ticket_not_found` or `feature_disabled`'),
          409: errorSchema.describe(
            '`already_linked` (to another issue, or the issue to another ticket) or `link_in_progress`',
          ),
          422: errorSchema.describe('`issue_not_found`: no such issue in GITHUB_REPO'),
          502: errorSchema.describe(
            '`github_unavailable` / `freescout_unavailable`: the same request again resumes',
          ),
        },
      },
    },
    async (request) => linkExistingIssue(deps, request.params.ticket_id, request.body.issue_url),
  );

  api.delete(
    '/api/console/tickets/:ticket_id/github-link',
    {
      config: { access: 'internal' },
      schema: {
        summary: 'Unlink the ticket from its issue: the field is cleared and a note says so',
        params: ticketParams,
        response: {
          200: z.object({ ticket_id: z.number().int(), unlinked: z.literal(true), issue_url: z.string() }),
          404: errorSchema.describe('`not_linked` or `feature_disabled`'),
          502: errorSchema.describe('`freescout_unavailable`: the same request again resumes'),
        },
      },
    },
    async (request) => unlinkIssue(deps, request.params.ticket_id),
  );
};

/**
 * `ticket_ids=1,2,3`: every item a ticket id (digits, blanks around it allowed), none empty. A
 * list the console built wrong (`1,,2`, a trailing comma, `1;2`) is refused, not read as a
 * shorter list; a repeated id is read once.
 */
function parseTicketIds(text: string): number[] {
  const parts = text.split(',').map((part) => part.trim());
  if (parts.length > MAX_TICKETS_PER_READ) {
    throw httpError(400, 'invalid_payload', `ticket_ids: at most ${MAX_TICKETS_PER_READ} ids`);
  }
  const bad = parts.findIndex(
    (part) => !/^\d{1,10}$/.test(part) || Number(part) < 1 || Number(part) > 2_147_483_647,
  );
  if (bad !== -1) {
    const item =
      parts[bad] === '' ? 'is empty' : `(${JSON.stringify(parts[bad]?.slice(0, 20))}) is not a ticket id`;
    throw httpError(
      400,
      'invalid_payload',
      `ticket_ids: item ${bad + 1} ${item}; expected 1 to ${MAX_TICKETS_PER_READ} comma-separated positive integers`,
    );
  }
  return [...new Set(parts.map(Number))];
}
