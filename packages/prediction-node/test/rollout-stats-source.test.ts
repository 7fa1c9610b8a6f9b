import test from 'ava';
import { KeyLayout, RolloutGatesSchema, RolloutStatsRecordSchema, type RolloutRecord, type RouteRecord } from '@switchyard/core';
import { rolloutStatsSource } from '../src/rollout-stats-source.js';
import { VersionStats } from '../src/version-stats.js';

const keys = new KeyLayout('/t/');

function route(overrides: Partial<RolloutRecord>): RouteRecord {
  const rollout: RolloutRecord = {
    id: 'r1',
    from: 'v1',
    to: 'v2',
    steps: [10, 100],
    stepIndex: 0,
    stepStartedAt: '2026-01-01T00:00:00.000Z',
    minStepSeconds: 1,
    minStepRequests: 1,
    progressDeadlineSeconds: 0,
    gates: RolloutGatesSchema.parse({}),
    state: 'PROGRESSING',
    reason: '',
    lastFigures: null,
    startedAt: '2026-01-01T00:00:00.000Z',
    startedBy: '',
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
  return { model: 'm', splits: [{ version: 'v1', weight: 9000 }, { version: 'v2', weight: 1000 }], updatedAt: '', updatedBy: '', shadows: [], rollout };
}

test('publishes what each version served since the node first saw the step, only when it changed', (t) => {
  const stats = { v1: new VersionStats('m', 'v1'), v2: new VersionStats('m', 'v2') };
  // Traffic before the step must not count.
  for (let i = 0; i < 50; i++) stats.v1.record(0.001);
  let current = route({});
  const source = rolloutStatsSource({
    keys,
    nodeId: 'n1',
    incarnation: 'abcd',
    routes: () => [current],
    counters: (_m, v) => stats[v as 'v1' | 'v2'].counters(),
  });
  t.deepEqual([...source(0)], [], 'nothing served in the step yet: nothing written');

  for (let i = 0; i < 9; i++) stats.v1.record(0.001);
  stats.v2.record(0.002);
  stats.v2.recordError();
  const [entry] = [...source(1000)];
  t.is(entry!.key, keys.rolloutStats('m', 'r1', 0, 'n1.abcd'));
  const record = RolloutStatsRecordSchema.parse(JSON.parse(entry!.value!));
  t.is(record.step, 0);
  t.is(record.versions.v1!.requests, 9);
  t.is(record.versions.v2!.requests, 2);
  t.is(record.versions.v2!.errors, 1);
  t.is(record.versions.v2!.latency.reduce((a, b) => a + b, 0), 1);
  t.deepEqual([...source(2000)], [], 'unchanged figures are not written again');

  // The next step starts from a new baseline under its own key.
  current = route({ stepIndex: 1 });
  t.deepEqual([...source(3000)], []);
  stats.v2.record(0.002);
  const [next] = [...source(4000)];
  t.is(next!.key, keys.rolloutStats('m', 'r1', 1, 'n1.abcd'));
  const nextRecord = RolloutStatsRecordSchema.parse(JSON.parse(next!.value!));
  t.is(nextRecord.versions.v2!.requests, 1);
  t.is(nextRecord.versions.v1!.requests, 0);

  // An ended rollout publishes nothing more.
  current = route({ stepIndex: 1, state: 'ROLLED_BACK' });
  stats.v2.record(0.002);
  t.deepEqual([...source(5000)], []);
});
