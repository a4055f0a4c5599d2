import { createHash, createHmac } from 'node:crypto';
import { request as httpRequest } from 'undici';
import { z } from 'zod';
import { type Clock, systemClock } from '../../src/lib/clock.ts';
import {
  type FakeHttpServer,
  type FakeReply,
  type FakeRoute,
  isoSeconds,
  type RecordedRequest,
  startFakeHttpServer,
} from './fake-http.ts';

export type FakeConversationStatus = 'active' | 'pending' | 'closed' | 'spam';
type ThreadType = 'customer' | 'message' | 'note';

export interface FakeMailbox {
  id: number;
  name: string;
  email: string;
}

/** A custom field of FreeScout's Custom Fields module: it belongs to one mailbox. */
export interface FakeCustomField {
  id: number;
  mailboxId: number;
  name: string;
}

export interface FakeThread {
  id: number;
  type: ThreadType;
  status: 'active';
  state: 'published';
  body: string;
  createdAt: string;
  createdBy: { id: number; type: 'user' | 'customer' };
}

/** Stored in FreeScout's wire shape, minus `threadsCount` and `_embedded` (added on the way out). */
export interface FakeConversation {
  id: number;
  number: number;
  type: 'email' | 'phone' | 'chat';
  status: FakeConversationStatus;
  state: 'published';
  subject: string;
  preview: string;
  mailboxId: number;
  assignee: { id: number } | null;
  customer: { id: number; email: string; firstName: string | null; lastName: string | null };
  imported: boolean;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  tags: Array<{ id: number; name: string }>;
  /**
   * What FreeScout shows: every field of the conversation's own mailbox, in order, with its
   * value (`""` when none). Kept in step with `customFieldValues` and `mailboxId`.
   */
  customFields: Array<{ id: number; name: string; value: string; text: string }>;
  /** Every value written, by field id, including other mailboxes' fields (stored, never shown). */
  customFieldValues: Record<number, string>;
  threads: FakeThread[];
}

export interface ConversationSeed {
  id?: number;
  type?: FakeConversation['type'];
  mailboxId?: number;
  subject?: string;
  status?: FakeConversationStatus;
  customer?: { email: string; firstName?: string; lastName?: string };
  threads?: Array<{ type: ThreadType; text: string; user?: number }>;
  assignTo?: number;
  imported?: boolean;
  tags?: string[];
  customFields?: Array<{ id: number; value: string | number }>;
  createdAt?: string;
  updatedAt?: string;
}

export interface FakeUser {
  id: number;
  firstName: string;
  lastName: string;
  email: string;
  role: 'admin' | 'user';
}

/** `mailboxes` is not kept: `Webhook::create` (the API's) ignores it, so every webhook fires for every mailbox. */
export interface FakeWebhook {
  id: number;
  url: string;
  events: string[];
}

/** One webhook FreeScout sent: what it posted, and what the receiver answered (0: no answer). */
export interface FakeWebhookDelivery {
  webhookId: number;
  url: string;
  event: string;
  body: string;
  signature: string;
  status: number;
}

export interface FakeFreeScoutState {
  readonly mailboxes: FakeMailbox[];
  readonly users: FakeUser[];
  /** Stores a conversation directly, as if created in FreeScout's UI; no request is recorded. */
  insertConversation(seed?: ConversationSeed): FakeConversation;
  /** Changes the status the way an agent would, bumping updatedAt; nobody is notified. */
  setStatus(id: number, status: FakeConversationStatus): FakeConversation;
  /** An agent adds tags in the UI: as in FreeScout, no webhook is sent and updatedAt does not move. */
  addTags(id: number, tags: string[]): FakeConversation;
  /** Removes a conversation for good (later reads answer 404); nobody is notified. */
  deleteConversation(id: number): void;
  /** Sends `event` about a conversation to every webhook registered for it, as FreeScout would. */
  fire(event: string, conversationId: number): void;
  /** `php artisan queue:restart`: the worker forgets the webhooks it had loaded (see `fireFromWorker`). */
  restartQueueWorker(): void;
  conversation(id: number): FakeConversation | undefined;
  conversations(): FakeConversation[];
  webhooks(): FakeWebhook[];
  /** Every webhook delivery attempted so far, in order. */
  readonly deliveries: FakeWebhookDelivery[];
  /** Resolves once every webhook already due or scheduled has been delivered. */
  flushWebhooks(): Promise<void>;
  /** Forgets every conversation, webhook, delivery and recorded request. */
  reset(): void;
}

export interface FakeFreeScout extends FakeHttpServer {
  state: FakeFreeScoutState;
  /** The key FreeScout signs webhooks with: `md5(APP_KEY . "webhook_key")`. */
  webhookSecret: string;
}

/** The Webhooks module's events (`Entities/Webhook.php` `$events`); others are dropped at registration. */
export const FREESCOUT_WEBHOOK_EVENTS = [
  'convo.assigned',
  'convo.created',
  'convo.deleted',
  'convo.deleted_forever',
  'convo.restored',
  'convo.moved',
  'convo.status',
  'convo.customer.reply.created',
  'convo.agent.reply.created',
  'convo.note.created',
  'customer.created',
  'customer.updated',
];

export interface FakeFreeScoutOptions {
  apiKey: string;
  mailboxes?: FakeMailbox[];
  /**
   * The Custom Fields module's fields, each in one mailbox (listed by
   * `/api/mailboxes/{id}/custom_fields`); a value written to an id that no field has is dropped.
   */
  customFields?: FakeCustomField[];
  /** Which of the modules the API answers for are active (`Module::isActive`); both unless told. */
  modules?: { tags?: boolean; customFields?: boolean };
  clock?: Clock;
  /** Agents that exist (`user` of notes and messages must be one of them); one admin unless told. */
  users?: FakeUser[];
  /** FreeScout's APP_KEY, from which its webhook signing key is derived. */
  appKey?: string;
  /**
   * How long after an API create with a user's first thread FreeScout sends `convo.created`
   * (in FreeScout about 15 s, the undo window); a customer's first thread fires at once.
   */
  userCreatedWebhookDelayMs?: number;
}

const DEFAULT_USERS: FakeUser[] = [
  { id: 1, firstName: 'Ada', lastName: 'Admin', email: 'admin@example.test', role: 'admin' },
];

const DEFAULT_MAILBOXES: FakeMailbox[] = [
  { id: 1, name: 'Support', email: 'support@example.test' },
  { id: 2, name: 'Operations', email: 'operations@example.test' },
];

const statusSchema = z.enum(['active', 'pending', 'closed', 'spam']);
const threadSchema = z.object({
  type: z.enum(['customer', 'message', 'note']),
  text: z.string().min(1),
  user: z.number().int().positive().optional(),
});
const customFieldsSchema = z.array(
  z.object({ id: z.number().int().positive(), value: z.union([z.string(), z.number()]) }),
);

const newConversationSchema = z.object({
  type: z.enum(['email', 'phone', 'chat']),
  mailboxId: z.number().int().positive(),
  subject: z.string().min(1),
  customer: z.object({ email: z.email(), firstName: z.string().optional(), lastName: z.string().optional() }),
  threads: z.array(threadSchema).min(1),
  status: z.enum(['active', 'pending', 'closed']).optional(),
  imported: z.boolean().optional(),
  assignTo: z.number().int().positive().optional(),
  // No `tags`: FreeScout's create ignores them (zod drops unknown keys the same way).
  customFields: customFieldsSchema.optional(),
});

const conversationPatchSchema = z.object({
  status: statusSchema.optional(),
  assignTo: z.number().int().positive().optional(),
  mailboxId: z.number().int().positive().optional(),
  subject: z.string().min(1).optional(),
  byUser: z.number().int().positive().optional(),
});

const pagingSchema = z.object({
  page: z.coerce.number().int().positive().default(1),
  pageSize: z.coerce.number().int().positive().max(100).default(50),
});

const conversationListQuerySchema = pagingSchema.extend({
  mailboxId: z.coerce.number().int().positive().optional(),
  status: z.string().optional(),
  tag: z.string().optional(),
  updatedSince: z.iso.datetime({ offset: true }).optional(),
  sortField: z.enum(['createdAt', 'updatedAt', 'number']).default('createdAt'),
  sortOrder: z.enum(['asc', 'desc']).default('desc'),
});

/**
 * A loopback FreeScout (API & Webhooks module 1.0.82) that is no kinder than the real one.
 * Each behaviour below follows `Modules/ApiWebhooks/Http/Controllers/ApiController.php`,
 * `Entities/Webhook.php` or `Providers/ApiWebhooksServiceProvider.php`; the conformance test
 * (`fake-freescout.conformance.test.ts`) pins them with the lines they follow.
 */
export async function startFakeFreeScout(options: FakeFreeScoutOptions): Promise<FakeFreeScout> {
  const clock = options.clock ?? systemClock;
  const mailboxes = options.mailboxes ?? DEFAULT_MAILBOXES;
  const users = options.users ?? DEFAULT_USERS;
  const webhookSecret = createHash('md5')
    .update(`${options.appKey ?? 'base64:ZmFrZS1mcmVlc2NvdXQtYXBwLWtleS0zMi1ieXRlcyE='}webhook_key`)
    .digest('hex');
  const userCreatedDelayMs = options.userCreatedWebhookDelayMs ?? 50;
  const customFieldDefinitions = options.customFields ?? [];
  const tagsActive = options.modules?.tags ?? true;
  const customFieldsActive = options.modules?.customFields ?? true;
  const conversations = new Map<number, FakeConversation>();
  const tagIds = new Map<string, number>();
  const customerIds = new Map<string, number>();
  const webhooks = new Map<number, FakeWebhook>();
  /** The queue worker's in-memory copy of the webhooks (see `fireFromWorker`). */
  let workerWebhooks: FakeWebhook[] = [];
  const deliveries: FakeWebhookDelivery[] = [];
  const inFlight = new Set<Promise<void>>();
  const scheduled = new Set<NodeJS.Timeout>();
  let lastConversationId = 0;
  let lastNumber = 1000;
  let lastThreadId = 0;
  let lastWebhookId = 0;

  /** Second resolution like FreeScout, yet every change moves updatedAt forward. */
  function stamp(previous?: string): string {
    const now = Math.floor(clock.now().getTime() / 1000) * 1000;
    return isoSeconds(previous === undefined ? now : Math.max(now, Date.parse(previous) + 1000));
  }

  /** `Tag::normalizeName`: trimmed, lower case. */
  function tagsNamed(names: string[]): FakeConversation['tags'] {
    return [...new Set(names.map((name) => name.trim().toLowerCase()).filter((name) => name !== ''))].map(
      (name) => {
        const id = tagIds.get(name) ?? tagIds.size + 1;
        tagIds.set(name, id);
        return { id, name };
      },
    );
  }

  /**
   * CustomField::setValue: any existing field's value is stored, whichever mailbox the field
   * belongs to (it is then never shown); an id no field has is dropped.
   */
  function setCustomFields(conversation: FakeConversation, fields: z.infer<typeof customFieldsSchema>): void {
    if (!customFieldsActive) return;
    for (const { id, value } of fields) {
      if (customFieldDefinitions.some((field) => field.id === id)) {
        conversation.customFieldValues[id] = String(value);
      }
    }
    showCustomFields(conversation);
  }

  /** CustomField::getCustomFieldsWithValues: the fields of the conversation's own mailbox, valued or `""`. */
  function showCustomFields(conversation: FakeConversation): void {
    conversation.customFields = customFieldsActive
      ? customFieldDefinitions
          .filter((field) => field.mailboxId === conversation.mailboxId)
          .map(({ id, name }) => ({ id, name, value: conversation.customFieldValues[id] ?? '', text: '' }))
      : [];
  }

  function addThread(
    conversation: FakeConversation,
    thread: z.infer<typeof threadSchema>,
    at: string,
  ): number {
    lastThreadId += 1;
    conversation.threads.push({
      id: lastThreadId,
      type: thread.type,
      status: 'active',
      state: 'published',
      body: thread.text,
      createdAt: at,
      createdBy:
        thread.type === 'customer'
          ? { id: conversation.customer.id, type: 'customer' }
          : { id: thread.user ?? 1, type: 'user' },
    });
    conversation.preview = thread.text.slice(0, 255);
    return lastThreadId;
  }

  /** ApiController::createThread: a note or message needs an existing `user`, a customer thread a customer. */
  function threadRefusal(thread: z.infer<typeof threadSchema>): FakeReply | undefined {
    if (thread.type === 'customer') return undefined;
    if (thread.user === undefined || !users.some((user) => user.id === thread.user)) {
      return freescoutErrorResponse('`user` parameter is required', 'user');
    }
    return undefined;
  }

  function insertConversation(seed: ConversationSeed = {}): FakeConversation {
    const id = seed.id ?? lastConversationId + 1;
    lastConversationId = Math.max(lastConversationId, id);
    lastNumber += 1;
    const email = seed.customer?.email ?? `customer${id}@example.test`;
    const customerId = customerIds.get(email) ?? customerIds.size + 1;
    customerIds.set(email, customerId);
    const createdAt = seed.createdAt ?? stamp();
    // An agent's reply leaves a conversation pending (the mailbox's default); a create is no different.
    const agentReply = seed.threads?.some((thread) => thread.type === 'message') ?? false;
    const status = seed.status ?? (agentReply ? 'pending' : 'active');
    const conversation: FakeConversation = {
      id,
      number: lastNumber,
      type: seed.type ?? 'email',
      status,
      state: 'published',
      subject: seed.subject ?? `Conversation ${id}`,
      preview: '',
      mailboxId: seed.mailboxId ?? mailboxes[0]?.id ?? 1,
      assignee: seed.assignTo === undefined ? null : { id: seed.assignTo },
      customer: {
        id: customerId,
        email,
        firstName: seed.customer?.firstName ?? null,
        lastName: seed.customer?.lastName ?? null,
      },
      imported: seed.imported ?? false,
      createdAt,
      updatedAt: seed.updatedAt ?? createdAt,
      closedAt: status === 'closed' ? createdAt : null,
      tags: tagsNamed(seed.tags ?? []),
      customFields: [],
      customFieldValues: {},
      threads: [],
    };
    showCustomFields(conversation);
    setCustomFields(conversation, seed.customFields ?? []);
    for (const thread of seed.threads ?? [{ type: 'customer', text: `Seeded conversation ${id}` }]) {
      addThread(conversation, thread, createdAt);
    }
    conversations.set(id, conversation);
    return conversation;
  }

  function changeStatus(conversation: FakeConversation, status: FakeConversationStatus, at: string): void {
    if (status === 'closed' && conversation.status !== 'closed') conversation.closedAt = at;
    if (status !== 'closed') conversation.closedAt = null;
    conversation.status = status;
  }

  /** Runs a change on a stored conversation and bumps its updatedAt; 404 when there is none. */
  function changeConversation(
    params: Record<string, string>,
    change: (conversation: FakeConversation, at: string) => FakeReply,
  ): FakeReply {
    const conversation = conversations.get(Number(params.id));
    if (!conversation) return errorReply(404, 'Not Found');
    const at = stamp(conversation.updatedAt);
    const reply = change(conversation, at);
    if (reply.status < 400) conversation.updatedAt = at;
    return reply;
  }

  /**
   * ServiceProvider::maybeRunWebhook + `webhook.run`: every webhook subscribed to the event,
   * whatever the conversation's mailbox (the API cannot limit one), gets the conversation as the
   * API formats it without `embed` — threads, never tags, its own mailbox's custom fields —
   * signed over the exact bytes sent.
   */
  function fire(event: string, conversationId: number, subscribers = [...webhooks.values()]): void {
    const conversation = conversations.get(conversationId);
    if (!conversation) return;
    const body = JSON.stringify(toWire(conversation, undefined));
    for (const webhook of subscribers) {
      if (!webhook.events.includes(event)) continue;
      const signature = createHmac('sha1', webhookSecret).update(body).digest('base64');
      const delivery: FakeWebhookDelivery = {
        webhookId: webhook.id,
        url: webhook.url,
        event,
        body,
        signature,
        status: 0,
      };
      deliveries.push(delivery);
      const sending = httpRequest(webhook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-freescout-event': event,
          'x-freescout-signature': signature,
        },
        body,
        signal: AbortSignal.timeout(30_000),
      })
        .then(async (response) => {
          delivery.status = response.statusCode;
          await response.body.dump();
        })
        .catch(() => {})
        .finally(() => inFlight.delete(sending));
      inFlight.add(sending);
    }
  }

  /**
   * An event raised inside FreeScout's queue worker (the delayed `convo.created` of an agent's
   * create) goes to the webhooks that long-lived process loaded the first time it found any
   * (`ApiWebhooksServiceProvider::$webhooks`, a static cache) — not to ones registered since,
   * until the worker restarts. One deleted since fails in its job and sends nothing.
   */
  function fireFromWorker(event: string, conversationId: number): void {
    if (workerWebhooks.length === 0) workerWebhooks = [...webhooks.values()];
    fire(
      event,
      conversationId,
      workerWebhooks.filter((webhook) => webhooks.has(webhook.id)),
    );
  }

  function fireLater(event: string, conversationId: number, delayMs: number): void {
    if (delayMs <= 0) {
      fire(event, conversationId);
      return;
    }
    const timer = setTimeout(() => {
      scheduled.delete(timer);
      fireFromWorker(event, conversationId);
    }, delayMs);
    scheduled.add(timer);
  }

  const mailboxExists = (id: number) => mailboxes.some((mailbox) => mailbox.id === id);
  const unknownMailbox = () => validationReply([{ path: 'mailboxId', message: 'Mailbox not found' }]);

  const routes: FakeRoute[] = [
    {
      method: 'GET',
      path: /^\/api\/mailboxes$/,
      handle: (request) => {
        const paging = validate(pagingSchema, request.query);
        return 'reply' in paging ? paging.reply : halPage('mailboxes', mailboxes, paging.data);
      },
    },
    {
      method: 'GET',
      path: /^\/api\/mailboxes\/(?<id>\d+)\/custom_fields$/,
      handle: (request, params) => {
        // ApiController::mailboxCustomFields: the mailbox first, then the module.
        if (!mailboxExists(Number(params.id))) return errorReply(404, 'Not Found');
        if (!customFieldsActive) return customFieldsInactive();
        const paging = validate(pagingSchema, request.query);
        if ('reply' in paging) return paging.reply;
        const fields = customFieldDefinitions
          .filter((field) => field.mailboxId === Number(params.id))
          .map(({ id, name }, index) => ({
            id,
            name,
            type: 'singleline',
            options: '',
            required: false,
            sortOrder: index + 1,
          }));
        return halPage('custom_fields', fields, paging.data);
      },
    },
    {
      method: 'GET',
      path: /^\/api\/tags$/,
      handle: (request) => {
        if (!tagsActive) return tagsInactive();
        const paging = validate(pagingSchema, request.query);
        if ('reply' in paging) return paging.reply;
        const tags = [...tagIds].map(([name, id]) => ({
          id,
          name,
          counter: [...conversations.values()].filter((conversation) =>
            conversation.tags.some((tag) => tag.id === id),
          ).length,
          color: 0,
        }));
        return halPage('tags', tags, paging.data);
      },
    },
    {
      method: 'GET',
      path: /^\/api\/users$/,
      handle: (request) => {
        const paging = validate(pagingSchema, request.query);
        return 'reply' in paging ? paging.reply : halPage('users', users, paging.data);
      },
    },
    {
      method: 'GET',
      path: /^\/api\/users\/(?<id>\d+)$/,
      handle: (_request, params) => {
        const user = users.find((candidate) => candidate.id === Number(params.id));
        return user ? { status: 200, body: user } : errorReply(404, 'Not Found');
      },
    },
    {
      method: 'POST',
      path: /^\/api\/conversations$/,
      handle: (request) => {
        const input = validate(newConversationSchema, request.body);
        if ('reply' in input) return input.reply;
        if (!mailboxExists(input.data.mailboxId)) return unknownMailbox();
        for (const thread of input.data.threads) {
          const refusal = threadRefusal(thread);
          if (refusal) return refusal;
        }
        const conversation = insertConversation(input.data);
        // ServiceProvider: `conversation.created_by_customer` fires at once, `created_by_user` after the undo window.
        const firstThread = input.data.threads[input.data.threads.length - 1];
        fireLater(
          'convo.created',
          conversation.id,
          firstThread?.type === 'customer' ? 0 : userCreatedDelayMs,
        );
        return {
          status: 201,
          headers: { 'resource-id': String(conversation.id) },
          body: toWire(conversation, undefined),
        };
      },
    },
    {
      method: 'GET',
      path: /^\/api\/conversations$/,
      handle: (request) => {
        const query = validate(conversationListQuerySchema, request.query);
        if ('reply' in query) return query.reply;
        const { mailboxId, status, tag, updatedSince, sortField, sortOrder } = query.data;
        // Documented as "defaults to active", yet 1.8.159 applies no status filter without `status`.
        const statuses = status?.split(',').map((item) => item.trim());
        const since = updatedSince === undefined ? undefined : Date.parse(updatedSince);
        const direction = sortOrder === 'asc' ? 1 : -1;
        const tagName = tag?.trim().toLowerCase();
        const sortKey = (conversation: FakeConversation) =>
          sortField === 'number' ? conversation.number : Date.parse(conversation[sortField]);
        const matching = [...conversations.values()]
          .filter(
            (conversation) =>
              (mailboxId === undefined || conversation.mailboxId === mailboxId) &&
              (statuses === undefined || statuses.includes(conversation.status)) &&
              (tagName === undefined || conversation.tags.some((candidate) => candidate.name === tagName)) &&
              // Inclusive: a poller must expect to see its cursor's conversation again.
              (since === undefined || Date.parse(conversation.updatedAt) >= since),
          )
          .sort((a, b) => (sortKey(a) - sortKey(b) || a.id - b.id) * direction);
        const embeds = embedsOf(request.query.embed) ?? new Set<string>();
        return halPage(
          'conversations',
          matching.map((conversation) => toWire(conversation, embeds)),
          query.data,
        );
      },
    },
    {
      method: 'GET',
      path: /^\/api\/conversations\/(?<id>\d+)$/,
      handle: (request, params) => {
        const conversation = conversations.get(Number(params.id));
        if (!conversation) return errorReply(404, 'Not Found');
        return { status: 200, body: toWire(conversation, embedsOf(request.query.embed)) };
      },
    },
    {
      method: 'PUT',
      path: /^\/api\/conversations\/(?<id>\d+)$/,
      handle: (request, params) => {
        const patch = validate(conversationPatchSchema, request.body);
        if ('reply' in patch) return patch.reply;
        const { status, assignTo, mailboxId, subject, byUser } = patch.data;
        // ApiController::updateConversation: these three changes are made as a user.
        if (status !== undefined || assignTo !== undefined || mailboxId !== undefined) {
          if (byUser === undefined) return freescoutErrorResponse('byUser parameter is required.', 'byUser');
          if (!users.some((user) => user.id === byUser)) {
            return freescoutErrorResponse('User not found.', 'byUser');
          }
        }
        if (mailboxId !== undefined && !mailboxExists(mailboxId)) return unknownMailbox();
        const reply = changeConversation(params, (conversation, at) => {
          if (status !== undefined) changeStatus(conversation, status, at);
          if (assignTo !== undefined) conversation.assignee = { id: assignTo };
          if (mailboxId !== undefined) {
            conversation.mailboxId = mailboxId;
            showCustomFields(conversation);
          }
          if (subject !== undefined) conversation.subject = subject;
          return { status: 204 };
        });
        if (reply.status === 204) {
          // ServiceProvider: each change fires its own event.
          if (status !== undefined) fire('convo.status', Number(params.id));
          if (assignTo !== undefined) fire('convo.assigned', Number(params.id));
          if (mailboxId !== undefined) fire('convo.moved', Number(params.id));
        }
        return reply;
      },
    },
    {
      method: 'PUT',
      path: /^\/api\/conversations\/(?<id>\d+)\/tags$/,
      handle: (request, params) => {
        if (!tagsActive) return tagsInactive();
        const input = validate(z.object({ tags: z.array(z.string()) }), request.body);
        if ('reply' in input) return input.reply;
        // The whole set is replaced: tags not listed are detached. No webhook (there is no tag
        // event), and updatedAt stays: Tags' attachByName/detachByName never save the conversation.
        const conversation = conversations.get(Number(params.id));
        if (!conversation) return errorReply(404, 'Not Found');
        conversation.tags = tagsNamed(input.data.tags);
        return { status: 204 };
      },
    },
    {
      method: 'PUT',
      path: /^\/api\/conversations\/(?<id>\d+)\/custom_fields$/,
      handle: (request, params) => {
        if (!customFieldsActive) return customFieldsInactive();
        const input = validate(z.object({ customFields: customFieldsSchema }), request.body);
        if ('reply' in input) return input.reply;
        return changeConversation(params, (conversation) => {
          setCustomFields(conversation, input.data.customFields);
          return { status: 204 };
        });
      },
    },
    {
      method: 'POST',
      path: /^\/api\/conversations\/(?<id>\d+)\/threads$/,
      handle: (request, params) => {
        const input = validate(threadSchema, request.body);
        if ('reply' in input) return input.reply;
        if (!conversations.has(Number(params.id))) return errorReply(404, 'Not Found');
        const refusal = threadRefusal(input.data);
        if (refusal) return refusal;
        const reply = changeConversation(params, (conversation, at) => {
          const threadId = addThread(conversation, input.data, at);
          const thread = conversation.threads.find((candidate) => candidate.id === threadId);
          return { status: 201, headers: { 'resource-id': String(threadId) }, body: thread };
        });
        fire(THREAD_EVENTS[input.data.type], Number(params.id));
        return reply;
      },
    },
    {
      method: 'POST',
      path: /^\/api\/webhooks$/,
      handle: (request) => {
        const input = validate(
          z.object({
            url: z.string().min(1),
            // `mailboxes` is not read: Webhook::create ignores it.
            events: z.union([z.array(z.string()), z.string()]),
          }),
          request.body,
        );
        if ('reply' in input) return input.reply;
        const requested =
          typeof input.data.events === 'string' ? input.data.events.split(',') : input.data.events;
        // Webhook::create drops unknown events, and creates nothing when none is left.
        const events = requested.filter((event) => FREESCOUT_WEBHOOK_EVENTS.includes(event));
        if (events.length === 0) return errorReply(400, 'Error occurred');
        lastWebhookId += 1;
        const webhook = { id: lastWebhookId, url: input.data.url, events };
        webhooks.set(webhook.id, webhook);
        return {
          status: 201,
          headers: { 'resource-id': String(webhook.id) },
          body: { ...webhook, lastRunTime: null, lastRunError: '' },
        };
      },
    },
    {
      method: 'DELETE',
      path: /^\/api\/webhooks\/(?<id>\d+)$/,
      handle: (_request, params) => {
        if (!webhooks.delete(Number(params.id))) return errorReply(404, 'Not Found');
        return { status: 204 };
      },
    },
  ];

  const server = await startFakeHttpServer({
    routes,
    errorReply,
    // The header or `?api_key=`; anything else (a Bearer token included) is refused.
    authorize: (request: RecordedRequest) =>
      request.headers['x-freescout-api-key'] === options.apiKey || request.query.api_key === options.apiKey
        ? undefined
        : { status: 401, body: { message: 'Not Authorized' } },
  });

  function stored(id: number): FakeConversation {
    const conversation = conversations.get(id);
    if (!conversation) throw new Error(`no conversation ${id} in the fake`);
    return conversation;
  }

  function reset(): void {
    for (const timer of scheduled) clearTimeout(timer);
    scheduled.clear();
    conversations.clear();
    webhooks.clear();
    workerWebhooks = [];
    deliveries.length = 0;
    server.reset();
  }

  return {
    ...server,
    webhookSecret,
    async close() {
      for (const timer of scheduled) clearTimeout(timer);
      scheduled.clear();
      await Promise.all([...inFlight]);
      await server.close();
    },
    state: {
      mailboxes,
      users,
      insertConversation,
      setStatus(id, status) {
        const conversation = stored(id);
        const at = stamp(conversation.updatedAt);
        changeStatus(conversation, status, at);
        conversation.updatedAt = at;
        return conversation;
      },
      addTags(id, tags) {
        const conversation = stored(id);
        conversation.tags = tagsNamed([...conversation.tags.map((tag) => tag.name), ...tags]);
        return conversation;
      },
      deleteConversation(id) {
        conversations.delete(id);
      },
      fire: (event, conversationId) => fire(event, conversationId),
      restartQueueWorker() {
        workerWebhooks = [];
      },
      conversation: (id) => conversations.get(id),
      conversations: () => [...conversations.values()],
      webhooks: () => [...webhooks.values()],
      deliveries,
      async flushWebhooks() {
        while (scheduled.size > 0 || inFlight.size > 0) {
          await Promise.all([...inFlight]);
          if (scheduled.size > 0) await new Promise((resolve) => setTimeout(resolve, 10));
        }
      },
      reset,
    },
    reset,
  };
}

const THREAD_EVENTS: Record<ThreadType, string> = {
  customer: 'convo.customer.reply.created',
  message: 'convo.agent.reply.created',
  note: 'convo.note.created',
};

/** `embed=a,b`: undefined when absent (FreeScout then includes threads, and no tags). */
function embedsOf(embed: string | undefined): Set<string> | undefined {
  return embed === undefined || embed === '' ? undefined : new Set(embed.split(','));
}

/**
 * ApiWebhooksServiceProvider::formatEntity: `_embedded.threads` is always present (empty unless
 * threads are wanted); `_embedded.tags` only when asked for; never a top-level `tags`.
 */
function toWire(conversation: FakeConversation, embeds: Set<string> | undefined): Record<string, unknown> {
  const { threads, tags, customFieldValues, customFields, ...fields } = conversation;
  const withThreads = embeds === undefined || embeds.has('threads');
  return {
    ...fields,
    // formatEntity sets `customFields` only when the mailbox has some.
    ...(customFields.length > 0 ? { customFields } : {}),
    threadsCount: threads.length,
    // Newest first, as FreeScout lists them.
    _embedded: {
      threads: withThreads ? [...threads].reverse() : [],
      ...(embeds?.has('tags') ? { tags } : {}),
    },
  };
}

/** ApiController::getErrorResponse: a 400 naming the parameter. */
function freescoutErrorResponse(message: string, path: string): FakeReply {
  return {
    status: 400,
    body: { message: 'Error occurred', _embedded: { errors: [{ path, message, source: 'JSON' }] } },
  };
}

function halPage<T>(key: string, items: T[], paging: z.infer<typeof pagingSchema>): FakeReply {
  const { page, pageSize } = paging;
  return {
    status: 200,
    body: {
      _embedded: { [key]: items.slice((page - 1) * pageSize, page * pageSize) },
      page: {
        size: pageSize,
        totalElements: items.length,
        totalPages: Math.max(1, Math.ceil(items.length / pageSize)),
        number: page,
      },
    },
  };
}

/** ApiController: the Tags routes answer this while the Tags module is not active. */
function tagsInactive(): FakeReply {
  return errorReply(400, 'Tags module is not installed or not activated');
}

/** ApiController: the custom-field routes answer this while the Custom Fields module is not active. */
function customFieldsInactive(): FakeReply {
  return errorReply(400, 'Custom Fields module is not installed or not activated');
}

/** ApiController::getErrorBody. */
function errorReply(status: number, message: string): FakeReply {
  return { status, body: { message, _embedded: { errors: [] } } };
}

/** ApiController's validation answer: "Error occurred", the reason per parameter in `_embedded.errors`. */
function validationReply(errors: Array<{ path: string; message: string }>): FakeReply {
  return {
    status: 400,
    body: {
      message: 'Error occurred',
      _embedded: { errors: errors.map((error) => ({ ...error, source: 'JSON' })) },
    },
  };
}

function validate<T>(schema: z.ZodType<T>, value: unknown): { data: T } | { reply: FakeReply } {
  const result = schema.safeParse(value ?? {}, { reportInput: true });
  if (result.success) return { data: result.data };
  // ApiController checks one parameter at a time and answers with the first it refuses,
  // naming a missing or empty one its own way.
  const [issue] = result.error.issues;
  const path = issue?.path.join('.') ?? '';
  const missing = issue !== undefined && (issue.input === undefined || issue.input === '');
  return {
    reply: validationReply([
      { path, message: missing ? `\`${path}\` parameter is required` : (issue?.message ?? '') },
    ]),
  };
}
