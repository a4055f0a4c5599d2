/** The investigate feature as the composition roots see it: routes only, no jobs. */
export { investigateRoutes as routes } from './routes.ts';
