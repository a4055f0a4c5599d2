/** The freescout-webhooks feature as the composition roots see it: its routes and its jobs. */
export { freescoutWebhookJobs as jobs } from './jobs.ts';
export { freescoutWebhookRoutes as routes } from './routes.ts';
