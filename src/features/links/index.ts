/** The links feature as the composition roots see it: its routes (no jobs; on with either GitHub flag). */
export { linksRoutes as routes } from './routes.ts';
