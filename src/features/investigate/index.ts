/** The investigate feature as the composition roots see it: its routes and readiness (no jobs). */

export { readinessSpecs } from './readiness.ts';
export { investigateRoutes as routes } from './routes.ts';
