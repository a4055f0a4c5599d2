import type { IncomingHttpHeaders } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { UpstreamError } from '../lib/errors.ts';
import { backoffMs, createAgent, parseJsonOrText, parseRetryAfter, retryAfterOf, send } from './http.ts';

const CONNECT_TIMEOUT_MS = 3_000;
const DEFAULT_TIMEOUT_MS = 10_000;
const MAX_RETRIES = 2;
const RETRY_AFTER_CAP_SECONDS = 5;
const BACKOFF_BASE_MS = 200;
/** An error page (a proxy's HTML, a stack trace) is kept only this long in errors and logs. */
const ERROR_BODY_MAX_CHARS = 2_000;
const USER_AGENT = 'raptor-ops-bridge';
/** A mailbox's custom fields are kept this long; a lookup that misses lists them again sooner. */
const CUSTOM_FIELDS_MAX_AGE_MS = 5 * 60_000;

const tagSchema = z.union([z.looseObject({ id: z.number().int().optional(), name: z.string() }), z.string()]);

const customFieldSchema = z.looseObject({
  id: z.number().int(),
  name: z.string().optional(),
  value: z.union([z.string(), z.number()]).nullish(),
  text: z.string().nullish(),
});

/**
 * Every status a conversation can have. A list without `status` is documented to return only
 * `active` ones, while 1.8.159 applies no filter at all: a reader names them all either way.
 */
export const ALL_CONVERSATION_STATUSES = 'active,pending,closed,spam';

/** Tolerant on purpose: FreeScout versions and modules differ, and unknown keys are kept. */
export const freeScoutConversationSchema = z.looseObject({
  id: z.number().int().positive(),
  number: z.number().int().optional(),
  status: z.string(),
  state: z.string().optional(),
  subject: z.string().nullish(),
  mailboxId: z.number().int().optional(),
  createdAt: z.iso.datetime({ offset: true }).optional(),
  updatedAt: z.iso.datetime({ offset: true }).optional(),
  customFields: z.array(customFieldSchema).nullish(),
  // Tags are never a top-level key: only `_embedded.tags`, and only when `embed` names them.
  _embedded: z.looseObject({ tags: z.array(tagSchema).nullish() }).nullish(),
});

export type FreeScoutConversation = z.infer<typeof freeScoutConversationSchema>;

/** The tag names of a conversation read with `embed=tags` (webhook bodies carry none). */
export function conversationTagNames(conversation: Pick<FreeScoutConversation, '_embedded'>): string[] {
  return (conversation._embedded?.tags ?? []).map((tag) => (typeof tag === 'string' ? tag : tag.name));
}

export function customFieldValue(
  conversation: Pick<FreeScoutConversation, 'customFields'>,
  fieldId: number,
): string | null {
  const value = conversation.customFields?.find((field) => field.id === fieldId)?.value;
  const text = value === null || value === undefined ? '' : String(value).trim();
  return text === '' ? null : text;
}

const userSchema = z.looseObject({
  id: z.number().int(),
  firstName: z.string().optional(),
  lastName: z.string().optional(),
  email: z.string().optional(),
});

const mailboxSchema = z.looseObject({ id: z.number().int(), name: z.string(), email: z.string().optional() });

// Versions differ in which paging keys they send; a list without them is one whole page.
const pageSchema = z
  .looseObject({
    number: z.number().int().default(1),
    size: z.number().int().optional(),
    totalElements: z.number().int().optional(),
    totalPages: z.number().int().default(1),
  })
  .default({ number: 1, totalPages: 1 });

const mailboxListSchema = z.object({
  _embedded: z.object({ mailboxes: z.array(mailboxSchema) }).optional(),
  page: pageSchema,
});

const mailboxCustomFieldSchema = z.looseObject({ id: z.number().int(), name: z.string() });

// The Custom Fields module embeds `custom_fields`; Help Scout-style proxies say `fields`.
const mailboxCustomFieldListSchema = z.object({
  _embedded: z
    .object({
      custom_fields: z.array(mailboxCustomFieldSchema).optional(),
      fields: z.array(mailboxCustomFieldSchema).optional(),
    })
    .optional(),
  page: pageSchema,
});

const tagListSchema = z.object({ page: pageSchema });

const conversationListSchema = z.object({
  _embedded: z.object({ conversations: z.array(freeScoutConversationSchema) }).optional(),
  page: pageSchema,
});

export interface FreeScoutMailbox {
  id: number;
  name: string;
  email?: string;
}

export interface FreeScoutCustomField {
  id: number;
  name: string;
}

export type FreeScoutPage = z.infer<typeof pageSchema>;

export interface ConversationQuery {
  updatedSince?: Date;
  mailboxId?: number;
  /** One status, or several separated by commas. */
  status?: string;
  tag?: string;
  sortField?: 'createdAt' | 'updatedAt' | 'number';
  sortOrder?: 'asc' | 'desc';
  page?: number;
  pageSize?: number;
}

export interface ConversationPage {
  conversations: FreeScoutConversation[];
  page: FreeScoutPage;
}

export interface NewConversation {
  type: 'email' | 'phone' | 'chat';
  mailboxId: number;
  subject: string;
  customer: { email: string; firstName?: string; lastName?: string };
  threads: Array<{
    type: 'customer' | 'message' | 'note';
    text: string;
    customer?: { email: string };
    user?: number;
  }>;
  status?: 'active' | 'pending' | 'closed';
  imported?: boolean;
  assignTo?: number;
  // No `tags`: FreeScout drops them on create; set them with `replaceTags` afterwards.
  customFields?: CustomFieldValue[];
}

export interface CustomFieldValue {
  id: number;
  value: string;
}

export interface FreeScoutUser {
  id: number;
  firstName?: string;
  lastName?: string;
  email?: string;
}

/** No `mailboxes`: FreeScout's `POST /api/webhooks` ignores it (every webhook fires for every mailbox). */
export interface NewWebhook {
  url: string;
  events: string[];
}

export interface FreeScoutClient {
  /** How long one request may take; a create older than this (plus a margin) has settled upstream. */
  readonly timeoutMs: number;
  /** The agent notes are written as (`FREESCOUT_API_USER_ID`), when configured. */
  readonly userId: number | undefined;
  listMailboxes(): Promise<FreeScoutMailbox[]>;
  getUser(id: number): Promise<FreeScoutUser>;
  /**
   * The custom fields defined in one mailbox (FreeScout's Custom Fields module; a field belongs
   * to one mailbox). Kept for a few minutes per mailbox; `refresh` lists them again.
   */
  listMailboxCustomFields(
    mailboxId: number,
    options?: { refresh?: boolean },
  ): Promise<FreeScoutCustomField[]>;
  /** How many tags FreeScout has (`GET /api/tags`, Tags module): a 400 says the module is off. */
  countTags(): Promise<number>;
  /** Reads with `embed=threads,tags`: the only way FreeScout returns a conversation's tags. */
  getConversation(id: number): Promise<FreeScoutConversation>;
  listConversations(query?: ConversationQuery): Promise<ConversationPage>;
  iterateConversations(query?: ConversationQuery): AsyncGenerator<FreeScoutConversation>;
  /** Never retried: a second attempt could open a second conversation. */
  createConversation(input: NewConversation): Promise<{ id: number }>;
  /** FreeScout replaces the whole set: callers read, merge, then write. */
  replaceTags(id: number, tags: string[]): Promise<void>;
  /** Read-merge-write of `replaceTags`; answers the tags it added (none when all were there). */
  addTags(id: number, tags: string[]): Promise<string[]>;
  updateCustomFields(id: number, fields: CustomFieldValue[]): Promise<void>;
  /**
   * Never retried: a second attempt could add a second note. Written as the configured user
   * (FreeScout refuses a note without one); throws when none is configured.
   */
  addNote(id: number, note: { text: string }): Promise<void>;
  /** Never retried; answers the new webhook's id (FreeScout cannot list them: keep it). */
  createWebhook(webhook: NewWebhook): Promise<{ id: number }>;
  /** False when FreeScout no longer has it. */
  deleteWebhook(id: number): Promise<boolean>;
  close(): Promise<void>;
}

export interface FreeScoutClientOptions {
  /** The instance root; the client appends `/api/...`. */
  baseUrl: string;
  apiKey: string;
  timeoutMs?: number;
  /** FREESCOUT_API_USER_ID: the agent notes are written as. */
  userId?: number;
}

type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';

interface FreeScoutAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: unknown;
}

// These fail before a byte of the request leaves, so even a POST cannot have taken effect.
const NOT_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

export function createFreeScoutClient(options: FreeScoutClientOptions): FreeScoutClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const agent = createAgent(CONNECT_TIMEOUT_MS);
  const customFieldsByMailbox = new Map<number, { fields: FreeScoutCustomField[]; listedAt: number }>();

  async function exchangeOnce(method: Method, path: string, payload?: unknown): Promise<FreeScoutAnswer> {
    const requestLabel = `FreeScout ${method} ${path.split('?')[0]}`;
    const { status, headers, text } = await send({
      upstream: 'freescout',
      label: requestLabel,
      url: `${baseUrl}${path}`,
      method,
      agent,
      timeoutMs,
      headers: {
        'x-freescout-api-key': options.apiKey,
        'user-agent': USER_AGENT,
        accept: 'application/json',
        ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
      outcomeUnknown: (error) => method === 'POST' && !NOT_SENT_CODES.has(errorCode(error)),
    });
    const body = parseJsonOrText(text);
    if (status >= 400) {
      const retryAfterSeconds = parseRetryAfter(headers['retry-after']);
      throw new UpstreamError('freescout', `${requestLabel} answered ${status}${describeBody(body)}`, {
        status,
        body: typeof body === 'string' ? body.slice(0, ERROR_BODY_MAX_CHARS) : body,
        ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
        // A 5xx may come after FreeScout already stored the entity.
        outcomeUnknown: method === 'POST' && status >= 500,
      });
    }
    return { status, headers, body };
  }

  async function exchange(method: Method, path: string, payload?: unknown): Promise<FreeScoutAnswer> {
    for (let retry = 0; ; retry++) {
      try {
        return await exchangeOnce(method, path, payload);
      } catch (error) {
        if (method === 'POST' || retry >= MAX_RETRIES || !isTransient(error)) throw error;
        await sleep(retryDelayMs(error, retry));
      }
    }
  }

  async function getParsed<T>(path: string, schema: z.ZodType<T>): Promise<T> {
    const answer = await exchange('GET', path);
    const parsed = schema.safeParse(answer.body);
    if (!parsed.success) {
      throw new UpstreamError('freescout', `FreeScout GET ${path} answered an unexpected shape`, {
        status: answer.status,
        body: answer.body,
        cause: parsed.error,
      });
    }
    return parsed.data;
  }

  async function listConversations(query: ConversationQuery = {}): Promise<ConversationPage> {
    const list = await getParsed(`/api/conversations?${conversationSearch(query)}`, conversationListSchema);
    return { conversations: list._embedded?.conversations ?? [], page: list.page };
  }

  return {
    timeoutMs,
    userId: options.userId,

    async listMailboxes() {
      const mailboxes: FreeScoutMailbox[] = [];
      for (let page = 1, totalPages = 1; page <= totalPages; page++) {
        const list = await getParsed(`/api/mailboxes?page=${page}`, mailboxListSchema);
        for (const { id, name, email } of list._embedded?.mailboxes ?? []) {
          mailboxes.push(email === undefined ? { id, name } : { id, name, email });
        }
        totalPages = list.page.totalPages;
      }
      return mailboxes;
    },

    async listMailboxCustomFields(mailboxId, { refresh = false } = {}) {
      const kept = customFieldsByMailbox.get(mailboxId);
      if (!refresh && kept && Date.now() - kept.listedAt < CUSTOM_FIELDS_MAX_AGE_MS) return kept.fields;
      const fields: FreeScoutCustomField[] = [];
      for (let page = 1, totalPages = 1; page <= totalPages; page++) {
        const list = await getParsed(
          `/api/mailboxes/${mailboxId}/custom_fields?page=${page}`,
          mailboxCustomFieldListSchema,
        );
        for (const { id, name } of [
          ...(list._embedded?.custom_fields ?? []),
          ...(list._embedded?.fields ?? []),
        ]) {
          fields.push({ id, name });
        }
        totalPages = list.page.totalPages;
      }
      customFieldsByMailbox.set(mailboxId, { fields, listedAt: Date.now() });
      return fields;
    },

    async countTags() {
      const list = await getParsed('/api/tags?pageSize=1', tagListSchema);
      return list.page.totalElements ?? 0;
    },

    getConversation(id) {
      return getParsed(`/api/conversations/${id}?embed=threads,tags`, freeScoutConversationSchema);
    },

    async getUser(id) {
      return getParsed(`/api/users/${id}`, userSchema);
    },

    listConversations,

    async *iterateConversations(query = {}) {
      for (let page = query.page ?? 1, totalPages = page; page <= totalPages; page++) {
        const result = await listConversations({ ...query, page });
        yield* result.conversations;
        totalPages = result.page.totalPages;
      }
    },

    async createConversation(input) {
      const answer = await exchange('POST', '/api/conversations', input);
      const id = createdId(answer);
      if (id === undefined) {
        throw new UpstreamError('freescout', 'FreeScout created a conversation but did not say its id', {
          status: answer.status,
          body: answer.body,
          outcomeUnknown: true,
        });
      }
      return { id };
    },

    async replaceTags(id, tags) {
      await exchange('PUT', `/api/conversations/${id}/tags`, { tags });
    },

    async addTags(id, tags) {
      const current = conversationTagNames(
        await getParsed(`/api/conversations/${id}?embed=tags`, freeScoutConversationSchema),
      );
      const known = new Set(current.map((tag) => tag.toLowerCase()));
      const missing = tags.filter((tag) => !known.has(tag.toLowerCase()));
      if (missing.length === 0) return [];
      await exchange('PUT', `/api/conversations/${id}/tags`, { tags: [...current, ...missing] });
      return missing;
    },

    async updateCustomFields(id, fields) {
      await exchange('PUT', `/api/conversations/${id}/custom_fields`, { customFields: fields });
    },

    async addNote(id, { text }) {
      if (options.userId === undefined) {
        throw new UpstreamError(
          'freescout',
          'FREESCOUT_API_USER_ID is not set: FreeScout refuses a note without a user',
        );
      }
      await exchange('POST', `/api/conversations/${id}/threads`, {
        type: 'note',
        text,
        user: options.userId,
      });
    },

    async createWebhook(webhook) {
      const answer = await exchange('POST', '/api/webhooks', webhook);
      const id = createdId(answer);
      if (id === undefined) {
        throw new UpstreamError('freescout', 'FreeScout created a webhook but did not say its id', {
          status: answer.status,
          body: answer.body,
          outcomeUnknown: true,
        });
      }
      return { id };
    },

    async deleteWebhook(id) {
      try {
        await exchange('DELETE', `/api/webhooks/${id}`);
        return true;
      } catch (error) {
        if (error instanceof UpstreamError && error.status === 404) return false;
        throw error;
      }
    },

    close: () => agent.close(),
  };
}

function conversationSearch(query: ConversationQuery): URLSearchParams {
  const search = new URLSearchParams();
  const { updatedSince, ...rest } = query;
  if (updatedSince) search.set('updatedSince', updatedSince.toISOString());
  for (const [key, value] of Object.entries(rest)) {
    if (value !== undefined) search.set(key, String(value));
  }
  return search;
}

/** FreeScout documents `Resource-ID`; some versions send `Location` or echo the entity instead. */
function createdId(answer: FreeScoutAnswer): number | undefined {
  const candidates = [
    headerValue(answer.headers['resource-id']),
    headerValue(answer.headers.location)?.match(/\/(\d+)\/?$/)?.[1],
    isRecord(answer.body) ? answer.body.id : undefined,
  ];
  for (const candidate of candidates) {
    const id = Number(candidate);
    if (candidate !== undefined && Number.isInteger(id) && id > 0) return id;
  }
  return undefined;
}

function isTransient(error: unknown): boolean {
  if (!(error instanceof UpstreamError)) return false;
  const { status } = error.details;
  return status === undefined || status === 429 || status >= 500;
}

/** A short in-call retry: FreeScout's Retry-After (capped) when it sent one, else a quick exponential curve. */
function retryDelayMs(error: unknown, retry: number): number {
  const retryAfterSeconds = retryAfterOf(error);
  if (retryAfterSeconds !== undefined) return Math.min(retryAfterSeconds, RETRY_AFTER_CAP_SECONDS) * 1000;
  return backoffMs(retry + 1, { baseMs: BACKOFF_BASE_MS, capMs: Number.POSITIVE_INFINITY });
}

function headerValue(header: string | string[] | undefined): string | undefined {
  return Array.isArray(header) ? header[0] : header;
}

function errorCode(error: unknown): string {
  return isRecord(error) && typeof error.code === 'string' ? error.code : '';
}

/** FreeScout's reason is in `_embedded.errors[0].message`; the top-level `message` is often just "Error occurred". */
function describeBody(body: unknown): string {
  if (isRecord(body)) {
    const embedded = isRecord(body._embedded) ? body._embedded : undefined;
    const first = Array.isArray(embedded?.errors) ? embedded.errors[0] : undefined;
    if (isRecord(first) && typeof first.message === 'string' && first.message !== '') {
      return `: ${first.message}${typeof first.path === 'string' && first.path !== '' ? ` (${first.path})` : ''}`;
    }
    if (typeof body.message === 'string') return `: ${body.message}`;
  }
  return typeof body === 'string' && body !== '' ? `: ${body.slice(0, 200)}` : '';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
