/** The ops feature as the composition roots see it: its routes and its jobs. */
export { opsJobs as jobs } from './jobs.ts';
export { opsRoutes as routes } from './routes.ts';
