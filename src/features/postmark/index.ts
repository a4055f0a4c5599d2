/** The postmark feature as the composition roots see it: its routes and its jobs. */
export { postmarkJobs as jobs } from './jobs.ts';
export { postmarkRoutes as routes } from './routes.ts';
