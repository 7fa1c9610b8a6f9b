import { Command } from 'commander';
import type { RolloutGatesMessage, RolloutMessage, StartRolloutRequest } from '@switchyard/core';
import { addClientOptions, type ClientFlags } from '../client-options.js';
import { withAdmin } from '../client-connection.js';
import { parseDuration } from '../duration.js';
import { failedError } from '../exit-codes.js';
import { integerFlag } from '../integer-flag.js';
import { printJson, printLine } from '../output-format.js';
import { parseRatio, parseShare, parseSteps } from '../rollout-flags.js';
import { formatRollout } from '../rollout-format.js';
import { watchRollout } from '../rollout-watch.js';

interface WatchFlags extends ClientFlags {
  watch?: boolean;
  interval: string;
}

interface StartFlags extends WatchFlags {
  from?: string;
  steps?: string;
  minStepTime?: string;
  minStepRequests?: string;
  maxErrorRate?: string;
  maxErrorRatio?: string;
  maxP99Ratio?: string;
  p99Tolerance?: string;
  minShadowAgreement?: string;
  minShadowRequests?: string;
  progressDeadline?: string;
}

interface ActionFlags extends ClientFlags {
  reason?: string;
}

/** `switchyard rollout start|status|pause|resume|abort|promote`. */
export function rolloutCommand(): Command {
  const rollout = new Command('rollout').description("move a model's traffic to a new version in gated steps, rolled back automatically when a gate fails");
  rollout.addCommand(
    withWatch(addClientOptions(new Command('start')))
      .description('start a rollout: the leading control plane applies each step once the new version passes the gates over the last one')
      .argument('<model>', 'model name')
      .argument('<to>', 'the new version')
      .option('--from <version>', 'the version to move traffic from (default: the one with the most weight)')
      .option('--steps <list>', 'percent of the traffic for the new version per step, the last 100', '1,5,25,50,100')
      .option('--min-step-time <duration>', 'least time per step, e.g. 60s, 5m', '60s')
      .option('--min-step-requests <n>', 'least requests the new version takes per step before it is judged', '100')
      .option('--max-error-rate <share>', "largest error rate of the new version, e.g. 1% or 0.01; 'off' to skip (default 1%)")
      .option('--max-error-ratio <ratio>', "largest new/old error-rate ratio; 'off' to skip (default 2)")
      .option('--max-p99-ratio <ratio>', "largest new/old p99 latency ratio; 'off' to skip (default 1.5)")
      .option('--p99-tolerance <duration>', 'p99 differences under this never fail the p99 gate (default 5ms)')
      .option('--min-shadow-agreement <share>', 'least share of shadowed requests whose outputs agreed, e.g. 99% (default: not checked)')
      .option('--min-shadow-requests <n>', 'shadowed requests needed before the first step (default 0)')
      .option(
        '--progress-deadline <duration>',
        "roll back when the rollout has waited this long since its last step, start or resume (a version that never becomes READY, no traffic); '0' never",
        '30m',
      )
      .action(async (model: string, to: string, flags: StartFlags, command: Command) => {
        const request = startRequest(model, to, flags);
        await withAdmin(command, async (admin) => {
          const started = await admin.startRollout(request);
          if (!flags.watch) return show(started, flags);
          return finish(await watchRollout(admin, model, { output: flags.output, intervalMs: interval(flags) }));
        });
      }),
  );
  rollout.addCommand(
    withWatch(addClientOptions(new Command('status')))
      .description("a model's active (or last) rollout: steps with the current one marked, live figures of the step, gates")
      .argument('<model>', 'model name')
      .action(async (model: string, flags: WatchFlags, command: Command) => {
        await withAdmin(command, async (admin) => {
          if (!flags.watch) return show(await admin.getRollout(model), flags);
          return finish(await watchRollout(admin, model, { output: flags.output, intervalMs: interval(flags) }));
        });
      }),
  );
  const actions = [
    ['pause', 'hold the rollout at its current step (traffic stays as it is)', 'pauseRollout'],
    ['resume', 'let a paused rollout continue', 'resumeRollout'],
    ['abort', 'end the rollout and send 100% of the traffic back to the old version', 'abortRollout'],
    ['promote', 'end the rollout and send 100% of the traffic to the new version now', 'promoteRollout'],
  ] as const;
  for (const [name, description, method] of actions) {
    rollout.addCommand(
      addClientOptions(new Command(name))
        .description(description)
        .argument('<model>', 'model name')
        .option('--reason <text>', 'recorded as the reason of the change')
        .action(async (model: string, flags: ActionFlags, command: Command) => {
          const result = await withAdmin(command, (admin) => admin[method](model, flags.reason ?? ''));
          show(result, flags);
        }),
    );
  }
  return rollout;
}

function withWatch(command: Command): Command {
  return command
    .option('--watch', 'follow the rollout until it ends (a live bar on a terminal, a line per change otherwise); exit 1 unless it succeeds')
    .option('--interval <duration>', 'how often --watch polls', '1s');
}

function interval(flags: WatchFlags): number {
  return Math.max(100, parseDuration(flags.interval, '--interval'));
}

function show(rollout: RolloutMessage, flags: ClientFlags): void {
  if (flags.output === 'json') printJson(rollout);
  else printLine(formatRollout(rollout));
}

/** A watched rollout that did not succeed fails the command, so scripts can gate on it. */
function finish(rollout: RolloutMessage): void {
  if (rollout.state !== 'SUCCEEDED') throw failedError(`the rollout of ${rollout.model} ended ${rollout.state}: ${rollout.reason}`);
}

/** The StartRollout request of the command line; absent flags leave the control plane's defaults. */
export function startRequest(model: string, to: string, flags: StartFlags): StartRolloutRequest {
  const gates: RolloutGatesMessage = {};
  if (flags.maxErrorRate !== undefined) gates.max_error_rate = parseShare('--max-error-rate', flags.maxErrorRate);
  if (flags.maxErrorRatio !== undefined) gates.max_error_rate_ratio = parseRatio('--max-error-ratio', flags.maxErrorRatio);
  if (flags.maxP99Ratio !== undefined) gates.max_p99_ratio = parseRatio('--max-p99-ratio', flags.maxP99Ratio);
  if (flags.p99Tolerance !== undefined) gates.p99_tolerance_ms = parseDuration(flags.p99Tolerance, '--p99-tolerance');
  if (flags.minShadowAgreement !== undefined) gates.min_shadow_agreement = parseShare('--min-shadow-agreement', flags.minShadowAgreement);
  if (flags.minShadowRequests !== undefined) gates.min_shadow_requests = integerFlag('--min-shadow-requests', flags.minShadowRequests, 0);
  return {
    model,
    to_version: to,
    from_version: flags.from ?? '',
    steps: parseSteps(flags.steps ?? '1,5,25,50,100'),
    min_step_seconds: parseDuration(flags.minStepTime ?? '60s', '--min-step-time') / 1000,
    min_step_requests: integerFlag('--min-step-requests', flags.minStepRequests ?? '100', 0),
    progress_deadline_seconds: parseDuration(flags.progressDeadline ?? '30m', '--progress-deadline') / 1000,
    gates,
  };
}
