/** The postmark feature as the composition roots see it: its routes, jobs and readiness. */
export { postmarkJobs as jobs } from './jobs.ts';
export { readinessSpecs } from './readiness.ts';
export { postmarkRoutes as routes } from './routes.ts';
