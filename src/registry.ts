import type { Config } from './config.ts';
import * as autolink from './features/autolink/index.ts';
import * as freescoutWebhooks from './features/freescout-webhooks/index.ts';
import * as githubSync from './features/github-sync/index.ts';
import * as investigate from './features/investigate/index.ts';
import * as ops from './features/ops/index.ts';
import * as postmark from './features/postmark/index.ts';
import type { ServiceDeps } from './lib/deps.ts';
import type { Job } from './lib/jobs.ts';
import { type FeatureReadiness, readinessOf } from './lib/readiness.ts';

/**
 * Every background job of every feature, on or off. `server.ts` starts `WEB_JOBS` of them
 * (default: all), `worker.ts` starts `WORKER_JOBS` (default: the two GitHub inbox workers and
 * the sweep); a job whose feature is off or not configured never starts.
 */
export function allJobs(deps: ServiceDeps): Job[] {
  return [
    ...freescoutWebhooks.jobs(deps),
    ...postmark.jobs(deps),
    ...autolink.jobs(deps),
    ...githubSync.jobs(deps),
    ...ops.jobs(deps),
  ];
}

/** Every feature's readiness, in the order the operator page and preflight show them. */
export function allReadiness(config: Config): FeatureReadiness[] {
  return [
    ...freescoutWebhooks.readinessSpecs(config),
    ...postmark.readinessSpecs(config),
    ...investigate.readinessSpecs(config),
    ...autolink.readinessSpecs(config),
    ...githubSync.readinessSpecs(config),
  ].map(readinessOf);
}
