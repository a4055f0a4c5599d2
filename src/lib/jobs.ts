import type { Logger } from 'pino';
import type { BackgroundJob } from './background.ts';

/**
 * One background loop a feature offers. Features only describe their jobs; the composition
 * roots (`server.ts`, `worker.ts`) choose which to start, so any process can run any subset.
 */
export interface Job {
  /** Stable name: `WORKER_JOBS` and the start-up log line use it. */
  name: string;
  feature: string;
  /** Its feature's flag (or setting) asks for it. */
  enabled: boolean;
  /** Enabled but not configured: why it does not start (logged as a warning). */
  notConfigured?: string;
  /** Runs, but something an operator should know (logged as a warning when it starts). */
  warning?: string;
  start(): BackgroundJob;
}

export interface RunningJobs {
  /** The names of the jobs started. */
  names: string[];
  /** Stops every started job and waits for runs in progress. */
  stop(): Promise<void>;
}

/**
 * Starts the selected jobs whose feature is on and configured. One that is on but not
 * configured is skipped with a warning saying what is missing.
 */
export function startJobs(jobs: Job[], selected: readonly string[] | 'all', log: Logger): RunningJobs {
  const wanted = selected === 'all' ? jobs : jobs.filter((job) => selected.includes(job.name));
  const runnable = wanted.filter((job) => {
    if (!job.enabled) return false;
    if (job.notConfigured !== undefined) log.warn({ job: job.name }, job.notConfigured);
    return job.notConfigured === undefined;
  });
  const started = runnable.map((job) => {
    if (job.warning !== undefined) log.warn({ job: job.name }, job.warning);
    return job.start();
  });
  return {
    names: runnable.map((job) => job.name),
    async stop() {
      await Promise.all(started.map((job) => job.stop()));
    },
  };
}

/** Names in `selected` that no feature offers: a typo in `WORKER_JOBS` is refused at start. */
export function unknownJobNames(jobs: Job[], selected: readonly string[]): string[] {
  const known = new Set(jobs.map((job) => job.name));
  return selected.filter((name) => !known.has(name));
}
