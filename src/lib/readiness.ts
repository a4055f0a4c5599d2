import type { Config } from '../config.ts';
import { type HttpError, httpError } from './errors.ts';

/** One feature as routes, jobs, preflight and the operator page see it. */
export interface FeatureReadiness {
  feature: string;
  title: string;
  flag: string;
  enabled: boolean;
  /** Flag on and nothing required missing. */
  ready: boolean;
  /** Names of the environment variables still needed: never their values. */
  missing: string[];
  /** The webhook routes (route patterns) this feature receives on. */
  webhookRoutes: string[];
}

/** One setting a feature needs; `intake` ones its webhook cannot accept a delivery without. */
export interface Requirement {
  name: string;
  present: boolean;
  intake?: boolean;
}

export interface ReadinessSpec {
  feature: string;
  title: string;
  flag: string;
  enabled: boolean;
  required: Requirement[];
  webhookRoutes?: string[];
}

/**
 * Derived from `Config` alone: cheap, side-effect free, the same answer on every instance.
 * Each feature declares its spec in its `readiness.ts`; `src/registry.ts` lists them all.
 */
export function readinessOf(spec: ReadinessSpec): FeatureReadiness {
  const missing = spec.required.filter((requirement) => !requirement.present).map(({ name }) => name);
  return {
    feature: spec.feature,
    title: spec.title,
    flag: spec.flag,
    enabled: spec.enabled,
    ready: spec.enabled && missing.length === 0,
    missing,
    webhookRoutes: spec.webhookRoutes ?? [],
  };
}

/** The settings a webhook needs before it may accept a delivery, still unset. */
export function intakeMissing(spec: ReadinessSpec): string[] {
  return spec.required
    .filter((requirement) => requirement.intake && !requirement.present)
    .map(({ name }) => name);
}

/** 503 `not_configured`, naming what is unset. */
export function notConfigured(missing: string[]): HttpError {
  return httpError(
    503,
    'not_configured',
    `${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} not set`,
  );
}

/** FreeScout's API, needed by several features. */
export function freescoutApiRequirements(config: Config): Requirement[] {
  const present = config.freescout.api !== undefined;
  return [
    { name: 'FREESCOUT_API_URL', present },
    { name: 'FREESCOUT_API_KEY', present },
  ];
}

/** GitHub's repository and credentials, needed by both autolink directions. */
export function githubRequirements(config: Config): Requirement[] {
  const { github } = config;
  return [
    { name: 'GITHUB_REPO', present: github.repo !== undefined },
    {
      name: 'GITHUB_ISSUE_BOT_TOKEN or GITHUB_APP_*',
      present: github.token !== undefined || github.app !== undefined,
    },
  ];
}
