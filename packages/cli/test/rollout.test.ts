import anyTest, { type TestFn } from 'ava';
import { AdminClient } from '@switchyard/client';
import type { RolloutMessage } from '@switchyard/core';
import { linearModel } from '@switchyard/testkit';
import { parseRatio, parseShare, parseSteps } from '../src/rollout-flags.js';
import { formatSteps, stepProgress } from '../src/rollout-format.js';
import { startRequest } from '../src/commands/rollout.js';
import { cli, useCliCluster, type CliContext } from './helpers/cli-fixture.js';

const test = anyTest as TestFn<CliContext>;

useCliCluster(test, { nodes: 1 });

test('gate and step flags: shares as % or fractions, ratios with or without x, off turns a gate off', (t) => {
  t.is(parseShare('--max-error-rate', '1%'), 0.01);
  t.is(parseShare('--max-error-rate', '0.05'), 0.05);
  t.is(parseShare('--max-error-rate', 'off'), -1);
  t.throws(() => parseShare('--max-error-rate', '150%'), { message: /not a share/ });
  t.is(parseRatio('--max-p99-ratio', '1.5x'), 1.5);
  t.is(parseRatio('--max-p99-ratio', 'off'), -1);
  t.throws(() => parseRatio('--max-p99-ratio', '0'), { message: /not a ratio above 0/ });
  t.deepEqual(parseSteps('1,5%, 25,100'), [1, 5, 25, 100]);
  t.throws(() => parseSteps('1,,100'), { message: /not a list of percentages/ });
  t.is(startRequest('m', 'v2', {} as never).progress_deadline_seconds, 1800, 'default 30m');
  t.is(startRequest('m', 'v2', { progressDeadline: '0' } as never).progress_deadline_seconds, 0);
  t.is(startRequest('m', 'v2', { progressDeadline: '2h' } as never).progress_deadline_seconds, 7200);
  t.throws(() => startRequest('m', 'v2', { progressDeadline: 'never' } as never), { message: /--progress-deadline 'never' is not a duration/ });
});

test('status marks the steps done and the current one; the bar shows the lesser of time and requests', (t) => {
  const rollout = { steps: [1, 5, 25, 100], step_index: 2, state: 'PROGRESSING', min_step_seconds: 10, min_step_requests: 100, step_started_at: new Date(0).toISOString(), current_to: { requests: '30' } } as unknown as RolloutMessage;
  t.is(formatSteps(rollout), '[x] 1%  [x] 5%  [>] 25%  [ ] 100%');
  t.is(stepProgress(rollout, 5000), 0.3);
  t.is(stepProgress({ ...rollout, current_to: { requests: '300' } } as unknown as RolloutMessage, 5000), 0.5);
  t.is(formatSteps({ ...rollout, state: 'ROLLED_BACK' }), '[x] 1%  [x] 5%  [!] 25%  [ ] 100%');
});

test.serial('rollout start --watch, start, pause, abort, and status --watch of a failed rollout exits 1', async (t) => {
  // Set up through the API: every CLI run costs a process start.
  const admin = AdminClient.connect(t.context.cluster.controlPlane.address, { source: 'the test' });
  t.teardown(() => admin.close());
  for (const bias of [0, 1, 2]) {
    const { sha256 } = await admin.uploadBytes(linearModel({ weights: [1, 1, 1], bias }));
    await admin.createVersion({ model: 'm', artifact_sha256: sha256 });
  }
  await admin.setRoute({ model: 'm', splits: [{ version: 'v1', weight: 10_000 }] });
  // One step of 100%: nothing to observe, the controller applies it and the rollout succeeds.
  const watched = await cli(t, 'rollout', 'start', 'm', 'v2', '--steps', '100', '--watch', '--interval', '100ms');
  t.is(watched.code, 0, watched.stderr);
  t.regex(watched.stdout, /m v1 -> v2 SUCCEEDED step 1\/1 \(100%\)/);
  t.regex(watched.stdout, /state: +SUCCEEDED/);

  const started = await cli(t, 'rollout', 'start', 'm', 'v3', '--min-step-time', '10m', '--max-error-rate', '0.5%', '--max-p99-ratio', 'off', '-o', 'json');
  t.is(started.code, 0, started.stderr);
  const json = JSON.parse(started.stdout) as RolloutMessage;
  t.is(json.from_version, 'v2');
  t.deepEqual(json.steps, [1, 5, 25, 50, 100]);
  t.is(json.min_step_seconds, 600);
  t.is(json.gates?.max_error_rate, 0.005);
  t.is(json.gates?.max_p99_ratio, undefined);

  const status = await cli(t, 'rollout', 'pause', 'm', '--reason', 'lunch');
  t.is(status.code, 0, status.stderr);
  t.regex(status.stdout, /state: +PAUSED/);
  t.regex(status.stdout, /reason: +lunch/);
  t.regex(status.stdout, /steps: +\[[ >]\] 1%/);

  const aborted = await cli(t, 'rollout', 'abort', 'm');
  t.is(aborted.code, 0, aborted.stderr);
  t.regex(aborted.stdout, /state: +ABORTED/);
  const again = await cli(t, 'rollout', 'status', 'm', '--watch');
  t.is(again.code, 1);
  t.regex(again.stderr, /ended ABORTED/);
  t.deepEqual((await admin.getRoute('m')).splits, [{ version: 'v2', weight: 10_000 }]);
});
