/** The freescout-webhooks feature as the composition roots see it: its routes, jobs and readiness. */
export { freescoutWebhookJobs as jobs } from './jobs.ts';
export { readinessSpecs } from './readiness.ts';
export { freescoutWebhookRoutes as routes } from './routes.ts';
