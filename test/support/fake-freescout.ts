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
  customFields: Array<{ id: number; name: string; value: string; text: string }>;
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

export interface FakeFreeScoutState {
  readonly mailboxes: FakeMailbox[];
  /** Stores a conversation directly, as if created in FreeScout's UI; no request is recorded. */
  insertConversation(seed?: ConversationSeed): FakeConversation;
  /** Changes the status the way an agent would, bumping updatedAt; nobody is notified. */
  setStatus(id: number, status: FakeConversationStatus): FakeConversation;
  conversation(id: number): FakeConversation | undefined;
  conversations(): FakeConversation[];
}

export interface FakeFreeScout extends FakeHttpServer {
  state: FakeFreeScoutState;
}

export interface FakeFreeScoutOptions {
  apiKey: string;
  mailboxes?: FakeMailbox[];
  /** Custom fields every mailbox defines (listed by `/api/mailboxes/{id}/custom_fields`), by id; conversations also accept unknown ids as `field_<id>`. */
  customFieldNames?: Record<number, string>;
  clock?: Clock;
}

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
  tags: z.array(z.string()).optional(),
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

export async function startFakeFreeScout(options: FakeFreeScoutOptions): Promise<FakeFreeScout> {
  const clock = options.clock ?? systemClock;
  const mailboxes = options.mailboxes ?? DEFAULT_MAILBOXES;
  const conversations = new Map<number, FakeConversation>();
  const tagIds = new Map<string, number>();
  const customerIds = new Map<string, number>();
  let lastConversationId = 0;
  let lastNumber = 1000;
  let lastThreadId = 0;

  /** Second resolution like FreeScout, yet every change moves updatedAt forward. */
  function stamp(previous?: string): string {
    const now = Math.floor(clock.now().getTime() / 1000) * 1000;
    return isoSeconds(previous === undefined ? now : Math.max(now, Date.parse(previous) + 1000));
  }

  function tagsNamed(names: string[]): FakeConversation['tags'] {
    return [...new Set(names)].map((name) => {
      const id = tagIds.get(name) ?? tagIds.size + 1;
      tagIds.set(name, id);
      return { id, name };
    });
  }

  function setCustomFields(conversation: FakeConversation, fields: z.infer<typeof customFieldsSchema>): void {
    for (const { id, value } of fields) {
      const field = {
        id,
        name: options.customFieldNames?.[id] ?? `field_${id}`,
        value: String(value),
        text: String(value),
      };
      const index = conversation.customFields.findIndex((existing) => existing.id === id);
      if (index === -1) conversation.customFields.push(field);
      else conversation.customFields[index] = field;
    }
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

  function insertConversation(seed: ConversationSeed = {}): FakeConversation {
    const id = seed.id ?? lastConversationId + 1;
    lastConversationId = Math.max(lastConversationId, id);
    lastNumber += 1;
    const email = seed.customer?.email ?? `customer${id}@example.test`;
    const customerId = customerIds.get(email) ?? customerIds.size + 1;
    customerIds.set(email, customerId);
    const createdAt = seed.createdAt ?? stamp();
    const status = seed.status ?? 'active';
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
      threads: [],
    };
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
    if (!conversation) return errorReply(404, 'Conversation not found');
    const at = stamp(conversation.updatedAt);
    const reply = change(conversation, at);
    if (reply.status < 400) conversation.updatedAt = at;
    return reply;
  }

  const mailboxExists = (id: number) => mailboxes.some((mailbox) => mailbox.id === id);
  const unknownMailbox = () => validationReply([{ path: 'mailboxId', message: 'Mailbox not found' }]);

  const routes: FakeRoute[] = [
    {
      method: 'GET',
      path: /^\/api\/mailboxes$/,
      handle: (request) => {
        const paging = validate(pagingSchema, request.query, 'query');
        return 'reply' in paging ? paging.reply : halPage('mailboxes', mailboxes, paging.data);
      },
    },
    {
      method: 'GET',
      path: /^\/api\/mailboxes\/(?<id>\d+)\/custom_fields$/,
      handle: (request, params) => {
        if (!mailboxExists(Number(params.id))) return errorReply(404, 'Mailbox not found');
        const paging = validate(pagingSchema, request.query, 'query');
        if ('reply' in paging) return paging.reply;
        const fields = Object.entries(options.customFieldNames ?? {}).map(([id, name]) => ({
          id: Number(id),
          name,
          type: 'text',
          required: false,
          sortOrder: Number(id),
        }));
        return halPage('custom_fields', fields, paging.data);
      },
    },
    {
      method: 'POST',
      path: /^\/api\/conversations$/,
      handle: (request) => {
        const input = validate(newConversationSchema, request.body);
        if ('reply' in input) return input.reply;
        if (!mailboxExists(input.data.mailboxId)) return unknownMailbox();
        const conversation = insertConversation(input.data);
        return { status: 201, headers: { 'resource-id': String(conversation.id) } };
      },
    },
    {
      method: 'GET',
      path: /^\/api\/conversations$/,
      handle: (request) => {
        const query = validate(conversationListQuerySchema, request.query, 'query');
        if ('reply' in query) return query.reply;
        const { mailboxId, status, tag, updatedSince, sortField, sortOrder } = query.data;
        const statuses = status === undefined || status === 'all' ? undefined : status.split(',');
        const since = updatedSince === undefined ? undefined : Date.parse(updatedSince);
        const direction = sortOrder === 'asc' ? 1 : -1;
        const sortKey = (conversation: FakeConversation) =>
          sortField === 'number' ? conversation.number : Date.parse(conversation[sortField]);
        const matching = [...conversations.values()]
          .filter(
            (conversation) =>
              (mailboxId === undefined || conversation.mailboxId === mailboxId) &&
              (statuses === undefined || statuses.includes(conversation.status)) &&
              (tag === undefined || conversation.tags.some((candidate) => candidate.name === tag)) &&
              // Inclusive: a poller must expect to see its cursor's conversation again.
              (since === undefined || Date.parse(conversation.updatedAt) >= since),
          )
          .sort((a, b) => (sortKey(a) - sortKey(b) || a.id - b.id) * direction);
        return halPage(
          'conversations',
          matching.map((conversation) => toWire(conversation, false)),
          query.data,
        );
      },
    },
    {
      method: 'GET',
      path: /^\/api\/conversations\/(?<id>\d+)$/,
      handle: (request, params) => {
        const conversation = conversations.get(Number(params.id));
        if (!conversation) return errorReply(404, 'Conversation not found');
        return {
          status: 200,
          body: toWire(conversation, request.query.embed?.split(',').includes('threads') ?? false),
        };
      },
    },
    {
      method: 'PUT',
      path: /^\/api\/conversations\/(?<id>\d+)$/,
      handle: (request, params) => {
        const patch = validate(conversationPatchSchema, request.body);
        if ('reply' in patch) return patch.reply;
        const { status, assignTo, mailboxId, subject } = patch.data;
        if (mailboxId !== undefined && !mailboxExists(mailboxId)) return unknownMailbox();
        return changeConversation(params, (conversation, at) => {
          if (status !== undefined) changeStatus(conversation, status, at);
          if (assignTo !== undefined) conversation.assignee = { id: assignTo };
          if (mailboxId !== undefined) conversation.mailboxId = mailboxId;
          if (subject !== undefined) conversation.subject = subject;
          return { status: 204 };
        });
      },
    },
    {
      method: 'PUT',
      path: /^\/api\/conversations\/(?<id>\d+)\/tags$/,
      handle: (request, params) => {
        const input = validate(z.object({ tags: z.array(z.string()) }), request.body);
        if ('reply' in input) return input.reply;
        return changeConversation(params, (conversation) => {
          conversation.tags = tagsNamed(input.data.tags);
          return { status: 204 };
        });
      },
    },
    {
      method: 'PUT',
      path: /^\/api\/conversations\/(?<id>\d+)\/custom_fields$/,
      handle: (request, params) => {
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
        return changeConversation(params, (conversation, at) => {
          const threadId = addThread(conversation, input.data, at);
          return { status: 201, headers: { 'resource-id': String(threadId) } };
        });
      },
    },
  ];

  const server = await startFakeHttpServer({
    routes,
    errorReply,
    authorize: (request: RecordedRequest) =>
      request.headers['x-freescout-api-key'] === options.apiKey
        ? undefined
        : errorReply(401, 'Invalid API key'),
  });

  return {
    ...server,
    state: {
      mailboxes,
      insertConversation,
      setStatus(id, status) {
        const conversation = conversations.get(id);
        if (!conversation) throw new Error(`no conversation ${id} in the fake`);
        const at = stamp(conversation.updatedAt);
        changeStatus(conversation, status, at);
        conversation.updatedAt = at;
        return conversation;
      },
      conversation: (id) => conversations.get(id),
      conversations: () => [...conversations.values()],
    },
  };
}

function toWire(conversation: FakeConversation, embedThreads: boolean): Record<string, unknown> {
  const { threads, ...fields } = conversation;
  return { ...fields, threadsCount: threads.length, ...(embedThreads ? { _embedded: { threads } } : {}) };
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

function errorReply(status: number, message: string): FakeReply {
  return { status, body: { message } };
}

function validationReply(errors: Array<{ path: string; message: string }>, source = 'body'): FakeReply {
  return {
    status: 400,
    body: {
      message: 'Validation error',
      _embedded: { errors: errors.map((error) => ({ ...error, source })) },
    },
  };
}

function validate<T>(
  schema: z.ZodType<T>,
  value: unknown,
  source: 'body' | 'query' = 'body',
): { data: T } | { reply: FakeReply } {
  const result = schema.safeParse(value ?? {});
  if (result.success) return { data: result.data };
  const errors = result.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
  return { reply: validationReply(errors, source) };
}
