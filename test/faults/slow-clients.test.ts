import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { useTestApp, useTestDatabase } from '../support/setup.ts';

const POSTMARK_TOKEN = 'slow-client-token';

const database = useTestDatabase();
const app = useTestApp(() => ({
  db: database.db,
  listen: true,
  env: {
    REQUEST_TIMEOUT_SECONDS: '2',
    FLAG_POSTMARK_DELIVERY_MONITOR: '1',
    POSTMARK_DELIVERY_WEBHOOK_SECRET: POSTMARK_TOKEN,
    FLAG_FREESCOUT_WEBHOOK_RECEIVE: '1',
    FREESCOUT_AUDIT_WEBHOOK_SECRET: 'slow-client-secret',
    FLAG_FREESCOUT_GITHUB_AUTOLINK: '1',
    FREESCOUT_WEBHOOK_SECRET: 'slow-client-secret',
    FREESCOUT_API_USER_ID: '1',
  },
}));

interface Exchange {
  socket: Socket;
  /** Everything the server wrote, and how long after connecting the socket closed. */
  closed: Promise<{ response: string; ms: number }>;
}

function open(): Exchange {
  const port = Number(new URL(app.url).port);
  const started = performance.now();
  const socket = connect(port, '127.0.0.1');
  let response = '';
  socket.on('data', (chunk) => {
    response += chunk.toString();
  });
  socket.on('error', () => undefined);
  const closed = new Promise<{ response: string; ms: number }>((resolve) =>
    socket.on('close', () => resolve({ response, ms: performance.now() - started })),
  );
  return { socket, closed };
}

/** Writes one byte every `everyMs` until the socket closes. */
function trickle(socket: Socket, everyMs: number): void {
  const timer = setInterval(() => {
    if (socket.destroyed || !socket.writable) clearInterval(timer);
    else socket.write('x');
  }, everyMs);
  socket.on('close', () => clearInterval(timer));
}

const statusOf = (response: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1]);

describe('a client trickling its request', () => {
  it('is answered 408 and closed once the request timeout passes while the body trickles in', async () => {
    const { socket, closed } = open();
    socket.write(
      'POST /webhooks/postmark/delivery HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
        `X-Postmark-Webhook-Token: ${POSTMARK_TOKEN}\r\nContent-Length: 100000\r\n\r\n{"RecordType":`,
    );
    trickle(socket, 200);
    const { response, ms } = await closed;
    expect(statusOf(response)).toBe(408);
    expect(response).toContain('"error":"request_timeout"');
    expect(ms).toBeLessThan(5_000);
  });

  it('is answered 408 and closed when the headers trickle in', async () => {
    const { socket, closed } = open();
    socket.write('POST /webhooks/postmark/delivery HTTP/1.1\r\nHost: x\r\n');
    const timer = setInterval(() => socket.writable && socket.write('X-Slow: 1\r\n'), 200);
    const { response, ms } = await closed;
    clearInterval(timer);
    expect(statusOf(response)).toBe(408);
    expect(ms).toBeLessThan(5_000);
  });
});

describe('unauthenticated requests are refused before their body is read', () => {
  const cases: Array<[string, string, number]> = [
    ['a Postmark delivery without its token', 'POST /webhooks/postmark/delivery', 401],
    ['a FreeScout delivery without a signature', 'POST /api/internal/freescout-webhook/audit', 401],
    ['an autolink delivery without a signature', 'POST /api/webhooks/freescout/ops', 401],
    ['a webhook whose flag is off', 'POST /api/internal/freescout-webhook/rbac', 404],
  ];

  it.each(cases)('%s gets its answer with the body still unsent', async (_name, requestLine, status) => {
    const { socket, closed } = open();
    const answered = new Promise<string>((resolve) =>
      socket.once('data', (chunk) => resolve(chunk.toString())),
    );
    const started = performance.now();
    socket.write(
      `${requestLine} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n`,
    );
    const head = await answered;
    expect(statusOf(head)).toBe(status);
    expect(head.toLowerCase()).toContain('connection: close');
    // The server hangs up instead of waiting for a body it will not use.
    await closed;
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
