import test from 'ava';
import { assignSlots, type RouteRecord, type RouteSplit, type VersionRecord } from '@switchyard/core';
import type { ClusterView } from '../src/cluster-view.js';
import { DEFAULT_LOAD_MS_PER_MIB, expectedLoadMs, resolveRequest, slotVersion, type ResolveInputs } from '../src/density-serving.js';
import type { LoadedVersion } from '../src/loaded-version.js';
import { ModelRoute, type RoutingTable } from '../src/routing-table.js';
import type { TargetState } from '../src/target-state.js';

const fake = (version: string) => ({ model: 'm', version, closed: false }) as unknown as LoadedVersion;

function route(splits: RouteSplit[], shadows: string[] = []): RouteRecord {
  return {
    model: 'm',
    splits,
    slots: assignSlots(undefined, splits),
    updatedAt: '',
    updatedBy: '',
    shadows: shadows.map((version) => ({ version, fraction: 1 })),
    rollout: null,
  } as unknown as RouteRecord;
}

function target(r: RouteRecord, versions: string[]): TargetState {
  return { revision: 1, routes: new Map([['m', r]]), versions: new Map(versions.map((v) => [`m/${v}`, { model: 'm', version: v } as VersionRecord])) };
}

/** A table holding `loaded` of route `r`. */
function table(r: RouteRecord, loaded: string[]): RoutingTable {
  const entries = r.splits.filter((s) => s.weight > 0 && loaded.includes(s.version)).map((s) => ({ loaded: fake(s.version), weight: s.weight }));
  return {
    routes: entries.length > 0 ? new Map([['m', new ModelRoute('m', entries, r.slots)]]) : new Map(),
    versions: new Map(loaded.map((v) => [`m/${v}`, entries.find((e) => e.loaded.version === v)?.loaded ?? fake(v)])),
  };
}

const view = (holders: Record<string, string[]>): ClusterView => ({
  holders: (key) => holders[key] ?? [],
  address: (id) => `${id}:1`,
});

const inputs = (over: Partial<ResolveInputs> & Pick<ResolveInputs, 'table' | 'target'>): ResolveInputs => ({
  view: view({}),
  selfId: 'me',
  forwarded: false,
  routedVersion: undefined,
  key: undefined,
  random: 0.25,
  ...over,
});

const ONE = route([{ version: 'v1', weight: 10_000 }]);
const HALF = route([
  { version: 'v1', weight: 5_000 },
  { version: 'v2', weight: 5_000 },
]);

test('a version loaded here is served here', (t) => {
  const r = resolveRequest('m', '', inputs({ table: table(ONE, ['v1']), target: target(ONE, ['v1']) }));
  t.is(r?.kind, 'local');
  t.is(r?.kind === 'local' ? r.pick.loaded.version : '', 'v1');
});

test('not loaded here: forwarded to a holder, never when already forwarded (then loaded here)', (t) => {
  const base = { table: table(ONE, []), target: target(ONE, ['v1']), view: view({ 'm/v1': ['me', 'other'] }) };
  t.deepEqual(resolveRequest('m', '', inputs(base)), { kind: 'forward', version: 'v1', nodeId: 'other', address: 'other:1' });
  t.deepEqual(resolveRequest('m', '', inputs({ ...base, forwarded: true })), { kind: 'load', version: 'v1' });
  // Only this node "holds" it (a stale view): load here rather than forward to itself.
  t.deepEqual(resolveRequest('m', '', inputs({ ...base, view: view({ 'm/v1': ['me'] }) })), { kind: 'load', version: 'v1' });
  // An explicit version goes the same way.
  t.deepEqual(resolveRequest('m', 'v1', inputs(base)), { kind: 'forward', version: 'v1', nodeId: 'other', address: 'other:1' });
});

test("the slot's version not held anywhere, another of the route's versions here: served by it as a fallback while the slot's version warms", (t) => {
  const slot = slotVersion(HALF, undefined, 0.75)!;
  const other = slot === 'v1' ? 'v2' : 'v1';
  const r = resolveRequest('m', '', inputs({ table: table(HALF, [other]), target: target(HALF, ['v1', 'v2']), random: 0.75 }));
  t.is(r?.kind, 'local');
  if (r?.kind !== 'local') return;
  t.is(r.pick.loaded.version, other);
  t.is(r.pick.fallbackFrom, slot);
  t.is(r.warm, slot);
});

test("the version a forwarding node chose is served when it is one of the route's weighted versions, else ignored", (t) => {
  const both = { table: table(HALF, ['v1', 'v2']), target: target(HALF, ['v1', 'v2']) };
  for (const random of [0.1, 0.9]) {
    const r = resolveRequest('m', '', inputs({ ...both, random, routedVersion: 'v2', forwarded: true }));
    t.is(r?.kind === 'local' ? r.pick.loaded.version : '', 'v2');
  }
  const ignored = resolveRequest('m', '', inputs({ ...both, random: 0.1, routedVersion: 'nope' }));
  t.is(ignored?.kind === 'local' ? ignored.pick.loaded.version : '', slotVersion(HALF, undefined, 0.1)!);
});

test('names nobody routes are left to the plain path (its NOT_FOUND); a shadow named explicitly loads', (t) => {
  const withShadow = route([{ version: 'v1', weight: 10_000 }], ['s1']);
  const state = { table: table(withShadow, ['v1']), target: target(withShadow, ['v1', 's1', 'old']) };
  t.is(resolveRequest('m', 'old', inputs(state)), undefined);
  t.is(resolveRequest('other', '', inputs(state)), undefined);
  t.deepEqual(resolveRequest('m', 's1', inputs(state)), { kind: 'load', version: 's1' });
});

test('a routing key picks the same slot version as the node-side picker', (t) => {
  const both = { table: table(HALF, ['v1', 'v2']), target: target(HALF, ['v1', 'v2']) };
  for (const key of ['a', 'b', 'c', 'user-42', 'user-43']) {
    const r = resolveRequest('m', '', inputs({ ...both, key }));
    t.is(r?.kind === 'local' ? r.pick.loaded.version : '', slotVersion(HALF, key, 0)!);
  }
});

test('the expected cold-load time: the median time per MiB of the last loads timed here, else the default', (t) => {
  t.is(expectedLoadMs(10 * 1024 * 1024, []), 10 * DEFAULT_LOAD_MS_PER_MIB);
  t.is(expectedLoadMs(2 * 1024 * 1024, [30, 10, 20]), 40);
});
