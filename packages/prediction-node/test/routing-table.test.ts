import test from 'ava';
import { assignSlots, type RouteSplit } from '@switchyard/core';
import type { LoadedVersion } from '../src/loaded-version.js';
import { knownModel, ModelRoute, type RouteEntry, type RoutingTable } from '../src/routing-table.js';
import { refusalLabels } from '../src/inference-service.js';

const fake = (version: string, closed = false) => ({ model: 'm', version, closed }) as unknown as LoadedVersion;

/** A route over `splits` with every version READY except those in `notReady`. */
function routeOf(splits: RouteSplit[], slots = assignSlots(undefined, splits), notReady: string[] = []): ModelRoute {
  const entries: RouteEntry[] = splits.filter((s) => s.weight > 0 && !notReady.includes(s.version)).map((s) => ({ loaded: fake(s.version), weight: s.weight }));
  return new ModelRoute('m', entries, slots);
}

function shares(route: ModelRoute, n: number, request: (i: number) => [string | undefined, number]): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const v = route.pick(...request(i)).loaded.version;
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return new Map([...counts].map(([v, c]) => [v, c / n]));
}

const ABC: RouteSplit[] = [
  { version: 'a', weight: 5_000 },
  { version: 'b', weight: 3_000 },
  { version: 'c', weight: 2_000 },
];

test('draws versions in exact proportion to their weights over evenly spaced random numbers', (t) => {
  const route = new ModelRoute('m', [
    { loaded: fake('v1'), weight: 7_000 },
    { loaded: fake('v2'), weight: 2_000 },
    { loaded: fake('v3'), weight: 1_000 },
  ]);
  const n = 100_000;
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const v = route.pick(undefined, i / n).loaded.version;
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  t.deepEqual(Object.fromEntries(counts), { v1: 70_000, v2: 20_000, v3: 10_000 });
});

test('100,000 random requests land within ±1 pp of the weights', (t) => {
  const got = shares(routeOf(ABC), 100_000, () => [undefined, Math.random()]);
  for (const s of ABC) t.true(Math.abs((got.get(s.version) ?? 0) - s.weight / 10_000) < 0.01, `${s.version}: ${got.get(s.version)}`);
});

test('100,000 routing keys land within ±1 pp of the weights, and a key always gets the same version', (t) => {
  const route = routeOf(ABC);
  const got = shares(route, 100_000, (i) => [`customer-${i}`, 0]);
  for (const s of ABC) t.true(Math.abs((got.get(s.version) ?? 0) - s.weight / 10_000) < 0.01, `${s.version}: ${got.get(s.version)}`);
  for (let i = 0; i < 1000; i++) {
    const key = `customer-${i}`;
    const first = route.pick(key, Math.random()).loaded.version;
    // A rebuilt picker from the same route (what every reconcile pass does) agrees.
    if (routeOf(ABC).pick(key, Math.random()).loaded.version !== first || route.pick(key).loaded.version !== first) return t.fail(key);
  }
  t.pass();
});

test('A 50/B 30/C 20 → A 40/B 40/C 20 moves only keys from A to B, about 10% of them', (t) => {
  const before = routeOf(ABC);
  const nextSplits = [
    { version: 'a', weight: 4_000 },
    { version: 'b', weight: 4_000 },
    { version: 'c', weight: 2_000 },
  ];
  const after = routeOf(nextSplits, assignSlots(assignSlots(undefined, ABC), nextSplits));
  const n = 100_000;
  let moved = 0;
  for (let i = 0; i < n; i++) {
    const key = `customer-${i}`;
    const from = before.pick(key).loaded.version;
    const to = after.pick(key).loaded.version;
    if (from === to) continue;
    if (from !== 'a' || to !== 'b') return t.fail(`${key} moved ${from}→${to}`);
    moved++;
  }
  t.true(Math.abs(moved / n - 0.1) < 0.01, `moved ${moved / n}`);
});

test('a weighted version that is not READY gets nothing; its share goes to the READY ones by weight, flagged as fallback', (t) => {
  const route = routeOf(ABC, undefined, ['b']);
  const n = 100_000;
  const counts = new Map<string, number>();
  let fallbacks = 0;
  for (let i = 0; i < n; i++) {
    const pick = route.pick(undefined, Math.random());
    counts.set(pick.loaded.version, (counts.get(pick.loaded.version) ?? 0) + 1);
    if (pick.fallbackFrom !== undefined) {
      t.is(pick.fallbackFrom, 'b');
      fallbacks++;
    }
  }
  t.false(counts.has('b'));
  // a: 50% + 30% × 5/7; c: 20% + 30% × 2/7.
  t.true(Math.abs((counts.get('a') ?? 0) / n - (0.5 + 0.3 * (5 / 7))) < 0.01);
  t.true(Math.abs((counts.get('c') ?? 0) / n - (0.2 + 0.3 * (2 / 7))) < 0.01);
  t.true(Math.abs(fallbacks / n - 0.3) < 0.01);
  // A key keeps its fallback version too; keys of READY versions do not move.
  const full = routeOf(ABC);
  for (let i = 0; i < 2000; i++) {
    const key = `k${i}`;
    const pick = route.pick(key);
    if (route.pick(key).loaded !== pick.loaded) return t.fail(`${key} is not sticky in fallback`);
    const intended = full.pick(key).loaded.version;
    if (intended !== 'b' && pick.loaded.version !== intended) return t.fail(`${key} moved off READY ${intended}`);
    if ((intended === 'b') !== (pick.fallbackFrom === 'b')) return t.fail(`${key} fallback flag`);
  }
  t.pass();
});

test('a single version is always picked; a closed version makes the route unusable', (t) => {
  const route = new ModelRoute('m', [{ loaded: fake('v1'), weight: 10_000 }]);
  t.is(route.pick(undefined, 0.999).loaded.version, 'v1');
  t.is(route.pick('any key').loaded.version, 'v1');
  t.true(route.usable());
  t.false(new ModelRoute('m', [{ loaded: fake('v1', true), weight: 10_000 }]).usable());
});

test('a model is known when routed, retired or loaded; refusals of unknown names share one label', (t) => {
  const held = { model: 'held', version: 'v2', closed: false } as unknown as LoadedVersion;
  const table: RoutingTable = {
    routes: new Map([['m', routeOf([{ version: 'a', weight: 10_000 }])]]),
    versions: new Map([['held/v2', held]]),
    retired: new Map([['old', '2026-01-01T00:00:00Z']]),
  };
  for (const name of ['m', 'held', 'old']) t.true(knownModel(table, name), name);
  t.false(knownModel(table, 'nobody'));
  t.false(knownModel(table, 'v2'), 'a version name is not a model name');
  t.deepEqual(refusalLabels(table, 'held', 'v2'), { model: 'held', version: 'v2' });
  t.deepEqual(refusalLabels(table, 'held', 'v9'), { model: 'held', version: 'unknown' });
  t.deepEqual(refusalLabels(table, 'nobody', 'v1'), { model: 'unknown', version: 'unknown' });
  // A new snapshot is a new set: a version loaded since is known there.
  const next: RoutingTable = { ...table, versions: new Map([...table.versions, ['late/v1', { model: 'late', version: 'v1' } as unknown as LoadedVersion]]) };
  t.false(knownModel(table, 'late'));
  t.true(knownModel(next, 'late'));
});
