import { UpstreamError } from '../lib/errors.ts';
import { createAgent, send } from './http.ts';

const TIMEOUT_MS = 5_000;

/** The console's alerts bell (`ALERTS_SOURCE_URL`): one JSON alert per POST, any 2xx taken. */
export interface AlertsSourceClient {
  post(alert: object): Promise<void>;
  close(): Promise<void>;
}

export function createAlertsSourceClient(url: string, timeoutMs = TIMEOUT_MS): AlertsSourceClient {
  const agent = createAgent(timeoutMs);
  return {
    async post(alert) {
      const { status } = await send({
        upstream: 'alerts',
        label: 'alerts source POST',
        url,
        method: 'POST',
        agent,
        timeoutMs,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(alert),
      });
      if (status >= 300) throw new UpstreamError('alerts', `alerts source answered ${status}`, { status });
    },
    close: () => agent.close(),
  };
}
