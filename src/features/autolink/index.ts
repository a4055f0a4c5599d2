/** The autolink feature as the composition roots see it: its routes and its jobs. */
export { autolinkJobs as jobs } from './jobs.ts';
export { autolinkRoutes as routes } from './routes.ts';
