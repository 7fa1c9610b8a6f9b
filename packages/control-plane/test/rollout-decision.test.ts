import test from 'ava';
import { RolloutGatesSchema, RouteRecordSchema, type RolloutRecord, type RouteRecord } from '@switchyard/core';
import { decide, type StepFigures } from '../src/index.js';
import { abort, advanceTo, pause, promote, resume, rollBack } from '../src/rollout-transitions.js';

const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

function rollout(overrides: Partial<RolloutRecord> = {}): RolloutRecord {
  return {
    id: 'r1',
    from: 'v1',
    to: 'v2',
    steps: [10, 50, 100],
    stepIndex: -1,
    stepStartedAt: null,
    minStepSeconds: 60,
    minStepRequests: 100,
    progressDeadlineSeconds: 0,
    gates: RolloutGatesSchema.parse({}),
    state: 'PENDING',
    reason: '',
    lastFigures: null,
    startedAt: iso(T0),
    startedBy: 'alice',
    updatedAt: iso(T0),
    ...overrides,
  };
}

function figures(toRequests: number, toErrors = 0, toP99 = 1): StepFigures {
  return {
    from: { version: 'v1', requests: 1000, errors: 0, errorRate: 0, p99Ms: 1 },
    to: { version: 'v2', requests: toRequests, errors: toErrors, errorRate: toRequests ? toErrors / toRequests : 0, p99Ms: toP99 },
    shadow: null,
  };
}

const route = (r: RolloutRecord, splits = [{ version: 'v1', weight: 10_000 }, { version: 'v2', weight: 0 }]): RouteRecord =>
  RouteRecordSchema.parse({ model: 'm', splits, updatedAt: iso(T0), rollout: r });

test('PENDING applies the first step at once without shadow requirements, and waits for them with', (t) => {
  t.deepEqual(decide(rollout(), null, null, T0), { kind: 'advance', toIndex: 0 });
  const gated = rollout({ gates: { ...RolloutGatesSchema.parse({}), minShadowRequests: 50, minShadowAgreement: 0.99 } });
  const waiting = decide(gated, null, { compared: 10, agreed: 10 }, T0);
  t.is(waiting.kind, 'wait');
  t.regex((waiting as { waitingFor: string }).waitingFor, /40 more shadowed requests/);
  t.deepEqual(decide(gated, null, { compared: 50, agreed: 50 }, T0), { kind: 'advance', toIndex: 0 });
  const bad = decide(gated, null, { compared: 50, agreed: 40 }, T0);
  t.is(bad.kind, 'rollback');
  t.regex((bad as { reason: string }).reason, /before the first step: shadow agreement 80%/);
});

test('PROGRESSING waits for requests, then for time, then advances; a failing gate rolls back at once', (t) => {
  const r = rollout({ state: 'PROGRESSING', stepIndex: 0, stepStartedAt: iso(T0) });
  t.is(decide(r, null, null, T0).kind, 'wait');
  const few = decide(r, figures(40), null, T0 + 120_000);
  t.regex((few as { waitingFor: string }).waitingFor, /60 more requests to v2 \(40 of 100\)/);
  const early = decide(r, figures(150), null, T0 + 30_000);
  t.regex((early as { waitingFor: string }).waitingFor, /30 s more at this step/);
  t.deepEqual(decide(r, figures(150), null, T0 + 60_000), { kind: 'advance', toIndex: 1 });
  // Gates are judged as soon as there are enough requests, not only when the time is up.
  const slow = decide(r, figures(150, 0, 500), null, T0 + 1000);
  t.is(slow.kind, 'rollback');
  t.regex((slow as { reason: string }).reason, /step 1 \(10% to v2\) failed its gates: p99 latency of v2 500 ms/);
});

test('errors that already doom a step roll back before it has its minimum of requests', (t) => {
  const r = rollout({ state: 'PROGRESSING', stepIndex: 1, stepStartedAt: iso(T0) });
  // 1% of 100 requests is 1 error; 2 errors in the first 10 already exceed it.
  const doomed = decide(r, figures(10, 2), null, T0);
  t.is(doomed.kind, 'rollback');
  t.regex((doomed as { reason: string }).reason, /v2 failed 2 of its first 10 requests at step 2/);
  t.is(decide(r, figures(10, 1), null, T0).kind, 'wait');
});

test('a rollout waiting past its progress deadline since its last transition rolls back, saying what it waited for', (t) => {
  const r = rollout({ state: 'PROGRESSING', stepIndex: 1, stepStartedAt: iso(T0), updatedAt: iso(T0), progressDeadlineSeconds: 1800 });
  // A version that never became READY: nodes fall back, it takes no requests.
  t.is(decide(r, figures(0), null, T0 + 1800_000).kind, 'wait', 'at the deadline: still waiting');
  const stuck = decide(r, figures(0), null, T0 + 1800_001);
  t.is(stuck.kind, 'rollback');
  t.regex(
    (stuck as { reason: string }).reason,
    /no progress for 30 min at step 2 \(50% to v2\), more than the progress deadline of 30 min: still waiting for 100 more requests to v2 \(0 of 100\)/,
  );
  // A deadline counts from the last transition (a resume, a step), not from the start.
  t.is(decide({ ...r, updatedAt: iso(T0 + 1700_000) }, figures(0), null, T0 + 1800_001).kind, 'wait');
  // Ready to advance is progress, whatever the clock says; 0 means no deadline.
  t.deepEqual(decide(r, figures(150), null, T0 + 9e6), { kind: 'advance', toIndex: 2 });
  t.is(decide({ ...r, progressDeadlineSeconds: 0 }, figures(0), null, T0 + 9e9).kind, 'wait');
  // A step longer than the deadline is not a stall: once its gates pass it only waits for time.
  const long = { ...r, minStepSeconds: 7200 };
  t.regex((decide(long, figures(150), null, T0 + 3600_000) as { waitingFor: string }).waitingFor, /3600 s more at this step/);
  // Before the first step too: shadowed requests that never come.
  const pending = rollout({ progressDeadlineSeconds: 60, gates: RolloutGatesSchema.parse({ minShadowRequests: 500 }) });
  const reason = (decide(pending, null, null, T0 + 61_000) as { reason: string }).reason;
  t.regex(reason, /no progress for 61 s at the start, more than the progress deadline of 60 s: still waiting for 500 more shadowed requests of v2/);
  t.deepEqual(decide({ ...pending, state: 'PAUSED' }, null, null, T0 + 9e9), { kind: 'idle' }, 'a paused rollout has no deadline');
});

test('PAUSED and ended rollouts are left alone', (t) => {
  for (const state of ['PAUSED', 'SUCCEEDED', 'ROLLED_BACK', 'ABORTED'] as const) {
    t.deepEqual(decide(rollout({ state, stepIndex: 0, stepStartedAt: iso(T0) }), figures(1000, 1000), null, T0 + 1e9), { kind: 'idle' });
  }
});

test('transitions: steps move the weights and restart the step clock; the last one succeeds; rollback, abort and promote leave one version', (t) => {
  const ctx = { at: iso(T0 + 5000), actor: 'rollout-controller' };
  const r0 = rollout();
  const first = advanceTo(route(r0), r0, 0, null, ctx);
  t.is(first.action, 'RolloutStep');
  t.deepEqual(first.route.splits, [{ version: 'v1', weight: 9000 }, { version: 'v2', weight: 1000 }]);
  t.is(first.route.rollout!.state, 'PROGRESSING');
  t.is(first.route.rollout!.stepIndex, 0);
  t.is(first.route.rollout!.stepStartedAt, ctx.at);
  t.true(RouteRecordSchema.safeParse(first.route).success);

  const second = advanceTo(first.route, first.route.rollout!, 1, figures(200), ctx);
  t.deepEqual(second.route.splits, [{ version: 'v1', weight: 5000 }, { version: 'v2', weight: 5000 }]);
  t.is(second.route.rollout!.lastFigures!.to.requests, 200);

  const done = advanceTo(second.route, second.route.rollout!, 2, figures(300), ctx);
  t.is(done.action, 'RolloutSucceeded');
  t.is(done.route.rollout!.state, 'SUCCEEDED');
  t.deepEqual(done.route.splits, [{ version: 'v2', weight: 10_000 }]);

  const back = rollBack(second.route, second.route.rollout!, 'too slow', figures(300, 0, 900), ctx);
  t.is(back.route.rollout!.state, 'ROLLED_BACK');
  t.is(back.route.rollout!.reason, 'too slow');
  t.is(back.route.rollout!.lastFigures!.to.p99Ms, 900);
  t.deepEqual(back.route.splits, [{ version: 'v1', weight: 10_000 }]);

  t.deepEqual(abort(second.route, second.route.rollout!, '', ctx).route.splits, [{ version: 'v1', weight: 10_000 }]);
  t.is(abort(second.route, second.route.rollout!, '', ctx).route.rollout!.state, 'ABORTED');
  t.deepEqual(promote(second.route, second.route.rollout!, 'looks good', ctx).route.splits, [{ version: 'v2', weight: 10_000 }]);

  const paused = pause(second.route, second.route.rollout!, '', ctx);
  t.is(paused.route.rollout!.state, 'PAUSED');
  t.deepEqual(paused.route.splits, second.route.splits);
  t.is(resume(paused.route, paused.route.rollout!, '', ctx).route.rollout!.state, 'PROGRESSING');
  t.is(resume(route(rollout({ state: 'PAUSED' })), rollout({ state: 'PAUSED' }), '', ctx).route.rollout!.state, 'PENDING');
});

test('the first step waits for the new version to be placed and loaded (after the shadow gate), deadline included', (t) => {
  t.deepEqual(decide(rollout(), null, null, T0, 'a loaded copy of v2'), { kind: 'wait', waitingFor: 'a loaded copy of v2' });
  const late = decide(rollout({ progressDeadlineSeconds: 60 }), null, null, T0 + 61_000, 'the placer to place v2');
  t.is(late.kind, 'rollback');
  t.regex((late as { reason: string }).reason, /still waiting for the placer to place v2/);
  // Later steps never wait for it.
  const r = rollout({ state: 'PROGRESSING', stepIndex: 0, stepStartedAt: iso(T0) });
  t.deepEqual(decide(r, figures(150), null, T0 + 61_000, 'ignored'), { kind: 'advance', toIndex: 1 });
});
