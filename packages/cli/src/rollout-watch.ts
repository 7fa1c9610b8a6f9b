import cliProgress from 'cli-progress';
import type { AdminClient } from '@switchyard/client';
import type { RolloutMessage } from '@switchyard/core';
import { printJson, printLine, type OutputFormat } from './output-format.js';
import { formatRollout, rolloutEnded, rolloutLine, stepProgress } from './rollout-format.js';

/** Options for {@link watchRollout}. */
export interface WatchOptions {
  output: OutputFormat;
  intervalMs: number;
  /** Whether stdout and stderr are terminals (a live bar) or not (a line per change). @default both are TTYs */
  interactive?: boolean;
}

/**
 * Follows a rollout until it ends: on a terminal, a bar of the current
 * step's progress on stderr and a line on stdout per step; otherwise a line
 * (or, with -o json, a JSON document) per change. Resolves the last state.
 */
export async function watchRollout(admin: AdminClient, model: string, options: WatchOptions): Promise<RolloutMessage> {
  const interactive = options.interactive ?? Boolean(process.stdout.isTTY && process.stderr.isTTY);
  const bar =
    interactive && options.output !== 'json'
      ? new cliProgress.SingleBar(
          { format: 'step {step} [{bar}] {percentage}% | {waiting}', stream: process.stderr, hideCursor: true, clearOnComplete: true, fps: 5 },
          cliProgress.Presets.shades_classic,
        )
      : undefined;
  let barStep: number | undefined;
  let lastKey = '';
  try {
    for (;;) {
      const rollout = await admin.getRollout(model);
      const key = `${rollout.state}|${rollout.step_index}|${rollout.waiting_for.replace(/\d+/g, '#')}`;
      if (key !== lastKey) {
        if (options.output === 'json') printJson(rollout);
        else if (!bar || rollout.step_index !== barStep || rolloutEnded(rollout)) {
          if (bar && barStep !== undefined) bar.stop();
          barStep = undefined;
          printLine(rolloutLine(rollout));
        }
        lastKey = key;
      }
      if (rolloutEnded(rollout)) {
        if (options.output !== 'json') printLine(formatRollout(rollout));
        return rollout;
      }
      if (bar) {
        const payload = { step: `${rollout.step_index + 1}/${rollout.steps.length}`, waiting: rollout.waiting_for || rollout.state.toLowerCase() };
        const value = Math.round(stepProgress(rollout) * 100);
        if (barStep === undefined) {
          bar.start(100, value, payload);
          barStep = rollout.step_index;
        } else bar.update(value, payload);
      }
      await new Promise((resolve) => setTimeout(resolve, options.intervalMs));
    }
  } finally {
    if (bar && barStep !== undefined) bar.stop();
  }
}
