import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import type { RealFreeScout } from './instance.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The FreeScout test instance the suite runs against (up.sh's JSON), or null. */
    realFreeScout: RealFreeScout | null;
    /** Why there is none, shown as the reason of the skipped tests. */
    realFreeScoutMissing: string;
  }
}

/** The test kit of a FreeScout test instance: beside the repository, for this project's CI only. */
const KIT = path.resolve(import.meta.dirname, '../../../shared/freescout');

/**
 * The real FreeScout `npm run test:freescout` talks to: the one named by FREESCOUT_TEST_INSTANCE
 * (the JSON file `up.sh` writes, as `.ci/run` does), else one this run brings up from the kit
 * beside the repository and takes down after (FS_PORT, default 18080). Without either the suite
 * is skipped, visibly — unless REQUIRE_REAL_FREESCOUT is set: then the run fails.
 */
export default async function setup(project: TestProject) {
  const given = process.env.FREESCOUT_TEST_INSTANCE;
  if (given) {
    project.provide('realFreeScout', JSON.parse(await readFile(given, 'utf8')) as RealFreeScout);
    project.provide('realFreeScoutMissing', '');
    return;
  }
  if (!existsSync(path.join(KIT, 'up.sh'))) {
    const missing =
      'no FreeScout test instance (FREESCOUT_TEST_INSTANCE unset, no FreeScout test kit beside the repository)';
    if (process.env.REQUIRE_REAL_FREESCOUT) throw new Error(`REQUIRE_REAL_FREESCOUT is set, yet ${missing}`);
    process.stderr.write(`real-FreeScout suite skipped: ${missing}\n`);
    project.provide('realFreeScout', null);
    project.provide('realFreeScoutMissing', missing);
    return;
  }
  const state = await mkdtemp(path.join(tmpdir(), 'raptor-freescout-'));
  const stop = async () => {
    await run(path.join(KIT, 'down.sh'), [state], {});
    await rm(state, { recursive: true, force: true });
  };
  try {
    await run(path.join(KIT, 'up.sh'), [state], { FS_PORT: process.env.FS_PORT ?? '18080' });
    const instance = JSON.parse(await readFile(path.join(state, 'freescout.json'), 'utf8')) as RealFreeScout;
    project.provide('realFreeScout', instance);
    project.provide('realFreeScoutMissing', '');
  } catch (error) {
    await stop();
    throw error;
  }
  return stop;
}

/** Runs a kit script, its progress on our stderr; rejects with its exit code. */
function run(script: string, args: string[], env: Record<string, string>): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(script, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${path.basename(script)} exited with ${code}`)),
    );
  });
}
