/** Liveness and readiness probes: public routes, no jobs. */
export { healthRoutes as routes } from './routes.ts';
