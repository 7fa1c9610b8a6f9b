import type { Logger } from '@switchyard/core';
import { waitForSignal } from './wait-for-signal.js';

/** Blocks until SIGINT/SIGTERM, then runs `stop`; a second signal exits at once. */
export async function serveUntilSignal(logger: Logger, stop: () => Promise<void>): Promise<void> {
  const signal = await waitForSignal((again) => {
    logger.warn('second signal; exiting without a clean stop', { signal: again });
    process.exit(130);
  });
  logger.info('stopping', { signal });
  await stop();
}
