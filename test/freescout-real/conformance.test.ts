import { it } from 'vitest';
import { describeFreeScoutConformance } from '../support/freescout-conformance.ts';
import { realFreeScout, restartQueueWorker } from './instance.ts';

/** The fake's conformance cases (test/support/fake-freescout.conformance.test.ts) against the real FreeScout. */
const real = realFreeScout();

if ('missing' in real) {
  it('conformance of the fake against a real FreeScout', (context) => context.skip(real.missing));
} else {
  const { instance } = real;
  describeFreeScoutConformance('the conformance cases hold on a real FreeScout 1.8.159', () => ({
    url: instance.url,
    apiKey: instance.api_key,
    webhookSecret: instance.webhook_secret,
    userId: instance.admin_user_id,
    mailboxes: { support: instance.mailboxes.Support, operations: instance.mailboxes.Operations },
    issueUrlFields: {
      support: instance.custom_fields.Support,
      operations: instance.custom_fields.Operations,
    },
    // The queue worker's sleep, and ~15 s of undo window for a conversation an agent created.
    webhookWithinMs: 30_000 + instance.queue_sleep * 1000,
    agentCreatedDelayMs: 10_000,
    // Jobs already queued go out within one sleep of the worker; a margin for the load.
    settleWebhooks: () => new Promise((resolve) => setTimeout(resolve, instance.queue_sleep * 1000 + 2_000)),
    restartQueueWorker: () => restartQueueWorker(instance),
  }));
}
