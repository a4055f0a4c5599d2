/** The github-sync feature as the composition roots see it: its routes and its jobs. */
export { githubSyncJobs as jobs } from './jobs.ts';
export { githubSyncRoutes as routes } from './routes.ts';
