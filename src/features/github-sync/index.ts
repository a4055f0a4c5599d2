/** The github-sync feature as the composition roots see it: its routes, jobs and readiness. */
export { githubSyncJobs as jobs } from './jobs.ts';
export { readinessSpecs } from './readiness.ts';
export { githubSyncRoutes as routes } from './routes.ts';
