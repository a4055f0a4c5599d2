import type { Logger } from 'pino';

export interface BackgroundJob {
  /** Stops the loop and waits for a run in progress to finish. */
  stop(): Promise<void>;
}

/**
 * Runs `task` every `intervalMs` until stopped, never two runs at once. A failing run is
 * logged and the loop goes on: background work must outlive a database restart.
 */
export function runEvery(
  name: string,
  intervalMs: number,
  task: (signal: AbortSignal) => Promise<unknown>,
  log: Logger,
): BackgroundJob {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const tick = () => {
    running = task(controller.signal)
      .then(
        () => undefined,
        (error: unknown) => log.error({ err: error, job: name }, 'background job failed'),
      )
      .finally(() => {
        if (!controller.signal.aborted) timer = setTimeout(tick, intervalMs);
      });
  };
  timer = setTimeout(tick, 0);

  return {
    async stop() {
      controller.abort();
      clearTimeout(timer);
      await running;
    },
  };
}
