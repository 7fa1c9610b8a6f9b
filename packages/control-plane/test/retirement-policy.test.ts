import test from 'ava';
import { TOTAL_WEIGHT, validateSlots, type RouteRecord, type VersionRecord } from '@switchyard/core';
import { resolveRetirementOptions } from '../src/retirement-options.js';
import { assessVersion, heldBy } from '../src/retirement-policy.js';
import { rescale, routeWithout } from '../src/retirement-route.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const options = resolveRetirementOptions();
const iso = (ms: number) => new Date(ms).toISOString();

function version(extra: Partial<VersionRecord> = {}): VersionRecord {
  return {
    model: 'm',
    version: 'v1',
    artifact: { sha256: '0'.repeat(64), size: 1 },
    signature: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }] },
    createdAt: iso(T0),
    createdBy: '',
    description: '',
    labels: {},
    expiresAfterSeconds: 0,
    samples: null,
    ...extra,
  };
}

const assess = (v: VersionRecord, nowMs: number, lastPrimaryMs?: number, defaultExpires = 0) =>
  assessVersion({
    version: v,
    model: { name: 'm', owner: '', description: '', defaultExpiresAfterSeconds: defaultExpires, createdAt: iso(T0), updatedAt: iso(T0) },
    usage: lastPrimaryMs === undefined ? undefined : { lastPrimaryMs, lastShadowMs: undefined },
    route: undefined,
    nowMs,
    options,
  });

test('expiration: the version, else the model, else the cluster; the clock starts at the later of last use and creation', (t) => {
  t.is(assess(version(), T0).expiresAtMs, T0 + 30 * DAY);
  t.is(assess(version(), T0, undefined, 10 * 86_400).expiresAtMs, T0 + 10 * DAY);
  t.is(assess(version({ expiresAfterSeconds: 90 }), T0, undefined, 10 * 86_400).expiresAtMs, T0 + 90_000);
  t.is(assess(version(), T0 + 5 * DAY, T0 + 2 * DAY).expiresAtMs, T0 + 32 * DAY);
  t.is(assess(version(), T0 + 5 * DAY, T0 - 2 * DAY).expiresAtMs, T0 + 30 * DAY, 'use before creation (clock skew) does not shorten it');
});

test('warning window, clearing, and retirement no sooner than a full window after the warning', (t) => {
  t.is(assess(version(), T0 + 22 * DAY).action, 'KEEP');
  t.is(assess(version(), T0 + 24 * DAY).action, 'WARN');
  const warned = version({ retirement: { state: 'WARNED', activeSince: null, warnedAt: iso(T0 + 24 * DAY), retiredAt: null, reason: '', artifactDeleteAfter: null, artifactDeletedAt: null } });
  t.is(assess(warned, T0 + 30 * DAY).action, 'KEEP', 'expired, but warned only 6 days ago');
  t.is(assess(warned, T0 + 31 * DAY).action, 'RETIRE');
  t.is(assess(warned, T0 + 31 * DAY, T0 + 25 * DAY).action, 'CLEAR', 'used after the warning');
  t.is(assess({ ...warned, pinned: true }, T0 + 40 * DAY).action, 'CLEAR', 'pinned');
  t.is(assess(version({ pinned: true }), T0 + 400 * DAY).action, 'KEEP');
  // Expiration shortened to 1 day long after creation: warned first, retired a whole window later.
  const short = version({ expiresAfterSeconds: 86_400 });
  t.is(assess(short, T0 + 10 * DAY).action, 'WARN');
  t.is(assess(short, T0 + 10 * DAY).retireAtMs, T0 + 17 * DAY);
});

test('retired versions are collected after their retention', (t) => {
  const retired = version({
    retirement: { state: 'RETIRED', activeSince: null, warnedAt: null, retiredAt: iso(T0), reason: '', artifactDeleteAfter: iso(T0 + 7 * DAY), artifactDeletedAt: null },
  });
  t.is(assess(retired, T0 + 6 * DAY).action, 'KEEP');
  t.is(assess(retired, T0 + 7 * DAY).action, 'COLLECT');
  t.is(assess({ ...retired, retirement: { ...retired.retirement!, artifactDeletedAt: iso(T0 + 7 * DAY) } }, T0 + 9 * DAY).action, 'KEEP');
});

test('rescale keeps proportions and adds up to exactly TOTAL_WEIGHT', (t) => {
  t.deepEqual(rescale([{ version: 'a', weight: 3000 }, { version: 'b', weight: 5000 }]), [{ version: 'a', weight: 3750 }, { version: 'b', weight: 6250 }]);
  const thirds = rescale([{ version: 'a', weight: 1 }, { version: 'b', weight: 1 }, { version: 'c', weight: 1 }]);
  t.is(thirds.reduce((s, x) => s + x.weight, 0), TOTAL_WEIGHT);
  t.deepEqual(thirds.map((x) => x.weight), [3334, 3333, 3333]);
  t.deepEqual(rescale([{ version: 'a', weight: 0 }, { version: 'b', weight: 7 }]), [{ version: 'a', weight: 0 }, { version: 'b', weight: TOTAL_WEIGHT }]);
});

test('routeWithout drops the version from splits and shadows and moves only its slots', (t) => {
  const route: RouteRecord = {
    model: 'm',
    splits: [{ version: 'v1', weight: 2000 }, { version: 'v2', weight: 3000 }, { version: 'v3', weight: 5000 }],
    slots: [{ start: 0, end: 2000, version: 'v1' }, { start: 2000, end: 5000, version: 'v2' }, { start: 5000, end: 10_000, version: 'v3' }],
    updatedAt: iso(T0),
    updatedBy: '',
    shadows: [{ version: 'v1', fraction: 0.1, until: null, budget: null, tolerance: 1e-5, addedAt: iso(T0), addedBy: '', auto: false }],
    rollout: null,
  };
  const next = routeWithout(route, 'v1', { now: iso(T0), actor: 'test' });
  t.false(next.modelRetired);
  t.deepEqual(next.route.splits, [{ version: 'v2', weight: 3750 }, { version: 'v3', weight: 6250 }]);
  t.deepEqual(next.route.shadows, []);
  t.is(validateSlots(next.route.slots!, next.route.splits), undefined);
  const owner = (slot: number) => next.route.slots!.find((r) => slot >= r.start && slot < r.end)!.version;
  t.is(owner(2500), 'v2', "v2's slots stay");
  t.is(owner(9000), 'v3', "v3's slots stay");

  const only = routeWithout({ ...route, splits: [{ version: 'v1', weight: TOTAL_WEIGHT }, { version: 'v2', weight: 0 }], slots: undefined }, 'v1', { now: iso(T0), actor: 't' });
  t.true(only.modelRetired);
  t.deepEqual(only.route.splits, []);
  t.false(routeWithout(route, 'v9', { now: iso(T0), actor: 't' }).changed);
});

test('a running rollout holds the versions it moves and the weights it owns', (t) => {
  const route = (state: string): RouteRecord => ({
    model: 'm',
    splits: [{ version: 'v1', weight: 9000 }, { version: 'v2', weight: 1000 }, { version: 'v3', weight: 0 }],
    updatedAt: iso(T0),
    updatedBy: '',
    shadows: [],
    rollout: { id: 'r', from: 'v1', to: 'v2', steps: [10, 100], stepIndex: 0, stepStartedAt: null, minStepSeconds: 0, minStepRequests: 0, progressDeadlineSeconds: 0, gates: { maxErrorRate: null, maxErrorRateRatio: null, maxP99Ratio: null, minShadowAgreement: null, minShadowRequests: 0 }, state: state as 'PROGRESSING', reason: '', lastFigures: null, startedAt: iso(T0), startedBy: '', updatedAt: iso(T0) },
  });
  t.regex(heldBy(route('PROGRESSING'), 'v1') ?? '', /rollout v1 -> v2 is PROGRESSING/);
  t.is(heldBy(route('PROGRESSING'), 'v3'), undefined, 'no weight, not part of it');
  t.is(heldBy(route('SUCCEEDED'), 'v1'), undefined, 'an ended rollout holds nothing');
  t.is(assessVersion({ version: version(), model: undefined, usage: undefined, route: route('PAUSED'), nowMs: T0 + 40 * DAY, options }).action, 'KEEP');
});
