// cli-progress is the npm ecosystem's standard terminal bar (tens of millions of
// weekly downloads, maintained, no dependencies beyond string-width): it
// throttles redraws, computes the ETA and restores the cursor, which a
// hand-written bar would have to get right on every terminal.
import cliProgress from 'cli-progress';
import type { UploadProgress } from '@switchyard/client';
import { formatBytes } from './byte-size.js';
import type { OutputFormat } from './output-format.js';

/** Uploads smaller than this finish before a bar would be worth drawing. */
export const PROGRESS_MIN_BYTES = 8 * 1024 * 1024;

/** What decides whether to draw a bar. */
export interface ProgressContext {
  size: number;
  output: OutputFormat;
  /** Whether stdout and stderr are terminals. @default process.stdout.isTTY && process.stderr.isTTY */
  interactive?: boolean;
}

/**
 * A bar only for people watching a large upload: not for small files, not
 * when the output is piped or logged, not for `--output json` (scripts).
 */
export function wantsProgressBar(context: ProgressContext): boolean {
  const interactive = context.interactive ?? Boolean(process.stdout.isTTY && process.stderr.isTTY);
  return interactive && context.output !== 'json' && context.size > PROGRESS_MIN_BYTES;
}

/** A progress bar on stderr (stdout stays for the result); call `stop` when the upload ends, however it ends. */
export function uploadProgressBar(label: string): { onProgress: UploadProgress; stop: () => void } {
  const bar = new cliProgress.SingleBar(
    {
      format: `${label} [{bar}] {percentage}% {sent}/{size} ETA {eta_formatted}`,
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: true,
      fps: 10,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    onProgress: (sent, total) => {
      const payload = { sent: formatBytes(sent), size: formatBytes(total) };
      if (!started) {
        bar.start(total, sent, payload);
        started = true;
      } else {
        bar.update(sent, payload);
      }
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}
