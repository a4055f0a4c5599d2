import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect, inject, vi } from 'vitest';

/** A FreeScout test instance, as its `up.sh` describes it. */
export interface RealFreeScout {
  url: string;
  api_key: string;
  /** `md5(APP_KEY . "webhook_key")`: every webhook of the instance is signed with it. */
  webhook_secret: string;
  admin_user_id: number;
  mailboxes: { Support: number; Operations: number };
  /** The `github_issue_url` field of each mailbox. */
  custom_fields: { Support: number; Operations: number };
  /** How often its queue worker looks for webhooks to send, in seconds. */
  queue_sleep: number;
  /** Where it runs: `freescout/` (the application) and `logs/` (web, queue, schedule). */
  state_dir: string;
}

/** The instance of this run, or why there is none. */
export function realFreeScout(): { instance: RealFreeScout } | { missing: string } {
  const instance = inject('realFreeScout');
  return instance ? { instance } : { missing: inject('realFreeScoutMissing') };
}

const exec = promisify(execFile);

/**
 * `php artisan queue:restart`, as FreeScout's schedule runs it every hour: the worker exits after
 * its current job and the instance's supervisor starts a new one. Resolves once the old one exited.
 */
export async function restartQueueWorker(instance: RealFreeScout): Promise<void> {
  const log = path.join(instance.state_dir, 'logs', 'queue.log');
  const exits = async () => ((await readFile(log, 'utf8')).match(/queue:work exited/g) ?? []).length;
  const before = await exits();
  await exec('php', ['artisan', 'queue:restart'], { cwd: path.join(instance.state_dir, 'freescout') });
  await vi.waitFor(async () => expect(await exits()).toBeGreaterThan(before), {
    timeout: 30_000,
    interval: 200,
  });
}
