import { type FakeHttpServer, startFakeHttpServer } from './fake-http.ts';

/** The console's alert-source endpoint (ALERTS_SOURCE_URL): accepts any JSON POST with 202. */
export async function startFakeAlertsSource(): Promise<FakeHttpServer> {
  return startFakeHttpServer({
    errorReply: (status, message) => ({ status, body: { error: 'fake_error', message } }),
    routes: [{ method: 'POST', path: /^\//, handle: () => ({ status: 202, body: { ok: true } }) }],
  });
}
