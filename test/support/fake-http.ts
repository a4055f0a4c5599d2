import { createServer, type IncomingHttpHeaders, type IncomingMessage, STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the fake received it; faulted requests are recorded too. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Parsed JSON, the raw text when it was not JSON, or undefined when empty. */
  body: unknown;
}

export interface FakeReply {
  status: number;
  headers?: Record<string, string>;
  /** Sent as JSON; undefined sends no body. */
  body?: unknown;
}

export type Fault =
  /** Answer this status with the service's error body (or `body`); `retryAfter` sets Retry-After. */
  | { status: number; retryAfter?: number; headers?: Record<string, string>; body?: unknown }
  /** Answer normally, late. */
  | { delayMs: number }
  /** Never answer; the socket stays open until close(). */
  | { hang: true }
  /** Destroy the socket without answering or acting. */
  | { reset: true }
  /** Do the real work, then destroy the socket: the caller cannot know it happened. */
  | { applyThenReset: true };

export interface FaultMatch {
  method?: string;
  path?: RegExp;
  /** How many matching requests fail; 1 unless told. */
  times?: number;
}

export interface FakeRoute {
  method: string;
  /** Matched against the path without the query; named groups become params. */
  path: RegExp;
  handle: (request: RecordedRequest, params: Record<string, string>) => FakeReply;
}

export interface FakeHttpServer {
  url: string;
  requests: RecordedRequest[];
  failNext(fault: Fault, match?: FaultMatch): void;
  /** Forgets recorded requests only, keeping state and scripted faults: a fresh log for the next test or step. */
  clearRequests(): void;
  /** Forgets recorded requests and scripted faults (fakes with state forget that too), between tests. */
  reset(): void;
  close(): Promise<void>;
}

export interface FakeHttpServerOptions {
  routes: FakeRoute[];
  /** A reply refusing the request's credentials, or undefined to let it through. */
  authorize?: (request: RecordedRequest) => FakeReply | undefined;
  /** The service's own error reply, for scripted faults, unknown routes and unreadable bodies. */
  errorReply: (status: number, message: string) => FakeReply;
}

interface ScriptedFault {
  fault: Fault;
  match: FaultMatch;
  remaining: number;
}

export async function startFakeHttpServer(options: FakeHttpServerOptions): Promise<FakeHttpServer> {
  const requests: RecordedRequest[] = [];
  const scripted: ScriptedFault[] = [];
  const delays = new Set<NodeJS.Timeout>();

  function takeFault(request: RecordedRequest): Fault | undefined {
    const entry = scripted.find(
      ({ match }) =>
        (match.method === undefined || match.method.toUpperCase() === request.method) &&
        (match.path === undefined || match.path.test(request.path)),
    );
    if (!entry) return undefined;
    entry.remaining -= 1;
    if (entry.remaining <= 0) scripted.splice(scripted.indexOf(entry), 1);
    return entry.fault;
  }

  function pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        delays.delete(timer);
        resolve();
      }, ms);
      delays.add(timer);
    });
  }

  function answer(request: RecordedRequest, unreadableBody: boolean): FakeReply {
    const refusal = options.authorize?.(request);
    if (refusal) return refusal;
    if (unreadableBody) return options.errorReply(400, 'The request body is not valid JSON');
    for (const route of options.routes) {
      const match = route.method === request.method ? route.path.exec(request.path) : null;
      if (!match) continue;
      try {
        return route.handle(request, { ...match.groups });
      } catch (error) {
        return options.errorReply(500, `The fake failed: ${String(error)}`);
      }
    }
    return options.errorReply(404, 'Not Found');
  }

  function faultReply(fault: Extract<Fault, { status: number }>): FakeReply {
    const base = options.errorReply(fault.status, STATUS_CODES[fault.status] ?? 'Scripted failure');
    return {
      status: fault.status,
      headers: {
        ...base.headers,
        ...(fault.retryAfter === undefined ? {} : { 'retry-after': String(fault.retryAfter) }),
        ...fault.headers,
      },
      body: fault.body ?? base.body,
    };
  }

  const server = createServer((incoming, response) => {
    void (async () => {
      const raw = await readBody(incoming);
      const url = new URL(incoming.url ?? '/', 'http://fake.invalid');
      const { body, unreadable } = parseBody(raw);
      const request: RecordedRequest = {
        method: incoming.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: incoming.headers,
        body,
      };
      requests.push(request);

      const fault = takeFault(request);
      if (fault && 'hang' in fault) return;
      if (fault && 'reset' in fault) {
        incoming.socket.destroy();
        return;
      }
      if (fault && 'delayMs' in fault) await pause(fault.delayMs);
      const reply = fault && 'status' in fault ? faultReply(fault) : answer(request, unreadable);
      if (fault && 'applyThenReset' in fault) {
        incoming.socket.destroy();
        return;
      }
      const payload = reply.body === undefined ? undefined : JSON.stringify(reply.body);
      response.writeHead(reply.status, {
        ...(payload === undefined ? {} : { 'content-type': 'application/json; charset=utf-8' }),
        ...reply.headers,
      });
      response.end(payload);
    })().catch(() => incoming.socket.destroy());
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    failNext(fault, match = {}) {
      scripted.push({ fault, match, remaining: match.times ?? 1 });
    },
    clearRequests() {
      requests.length = 0;
    },
    reset() {
      requests.length = 0;
      scripted.length = 0;
    },
    close() {
      for (const timer of delays) clearTimeout(timer);
      delays.clear();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function readBody(incoming: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    incoming.on('error', reject);
  });
}

function parseBody(raw: string): { body: unknown; unreadable: boolean } {
  if (raw === '') return { body: undefined, unreadable: false };
  try {
    return { body: JSON.parse(raw), unreadable: false };
  } catch {
    return { body: raw, unreadable: true };
  }
}

/** ISO 8601 without milliseconds, as FreeScout and GitHub print timestamps. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}
