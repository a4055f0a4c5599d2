/** The autolink feature as the composition roots see it: its routes, jobs and readiness. */
export { autolinkJobs as jobs } from './jobs.ts';
export { readinessSpecs } from './readiness.ts';
export { autolinkRoutes as routes } from './routes.ts';
