import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { systemClock } from '../../src/lib/clock.ts';
import { startJobs, unknownJobNames } from '../../src/lib/jobs.ts';
import { allJobs } from '../../src/registry.ts';
import { useTestDatabase } from '../support/setup.ts';

const database = useTestDatabase();

const jobsFor = (env: Record<string, string>) =>
  allJobs({
    config: loadConfig(env),
    db: database.db,
    log: pino({ level: 'silent' }),
    clients: {},
    clock: systemClock,
  });

describe('background jobs', () => {
  it('are listed by every feature, whatever the flags', () => {
    expect(jobsFor({}).map((job) => [job.feature, job.name])).toEqual([
      ['freescout-webhooks', 'security-notifications'],
      ['freescout-webhooks', 'freescout-cache-poll'],
      ['postmark', 'postmark-retention'],
      ['autolink', 'autolink-worker'],
      ['autolink', 'autolink-sweep'],
      ['github-sync', 'github-sync-worker'],
      ['ops', 'delivery-log-retention'],
    ]);
  });

  it('start only when selected and their feature is on and configured', async () => {
    const jobs = jobsFor({ FLAG_FREESCOUT_GITHUB_AUTOLINK: '1', FLAG_FREESCOUT_CACHE_POLL: '1' });
    const worker = startJobs(
      jobs,
      ['autolink-worker', 'github-sync-worker', 'freescout-cache-poll'],
      pino({ level: 'silent' }),
    );
    try {
      // github-sync is off; the poller has no FreeScout API configured.
      expect(worker.names).toEqual(['autolink-worker']);
    } finally {
      await worker.stop();
    }
    const web = startJobs(jobs, 'all', pino({ level: 'silent' }));
    try {
      expect(web.names).toEqual([
        'postmark-retention',
        'autolink-worker',
        'autolink-sweep',
        'delivery-log-retention',
      ]);
    } finally {
      await web.stop();
    }
  });

  it('refuse a name no feature offers', () => {
    expect(unknownJobNames(jobsFor({}), ['autolink-worker', 'autolink-wroker'])).toEqual(['autolink-wroker']);
  });
});
