import test from 'ava';
import { GrpcStatus, type PlacementRecord, type RouteRecord, type VersionRecord, type VersionStatusRecord } from '@switchyard/core';
import { capturingLogger } from '@switchyard/testkit';
import { LoadedVersion } from '../src/loaded-version.js';
import { MemoryLedger } from '../src/memory-ledger.js';
import { Reconciler, type StatusSink } from '../src/reconciler.js';
import type { VersionSession } from '../src/session-interface.js';
import type { TargetState } from '../src/target-state.js';
import { VersionStats } from '../src/version-stats.js';

const MIB = 1024 * 1024;

/** Models m0…m{n-1}, each one version v1 of `mib` MiB routed alone; placements naming this node for `placed`. */
function targetOf(n: number, mib: number, placed: number[] = []): TargetState {
  const versions = new Map<string, VersionRecord>();
  const routes = new Map<string, RouteRecord>();
  const placements = new Map<string, PlacementRecord>();
  for (let i = 0; i < n; i++) {
    const model = `m${i}`;
    versions.set(`${model}/v1`, { model, version: 'v1', artifact: { sha256: String(i).padStart(64, '0'), size: mib * MIB } } as unknown as VersionRecord);
    routes.set(model, { model, splits: [{ version: 'v1', weight: 10_000 }], shadows: [], slots: [{ start: 0, end: 10_000, version: 'v1' }] } as unknown as RouteRecord);
    if (placed.includes(i)) placements.set(`${model}/v1`, { model, version: 'v1', copies: [{ nodeId: 'me', since: '' }] } as unknown as PlacementRecord);
  }
  return { revision: 1, versions, routes, placements };
}

/** Loads that end at once, each costing its artifact's size; counts them per model. */
function instantLoader() {
  const loads = new Map<string, number>();
  const session = { host: 'inline', release: async () => undefined } as unknown as VersionSession;
  return {
    loads,
    loader: {
      load: async (r: VersionRecord) => {
        loads.set(r.model, (loads.get(r.model) ?? 0) + 1);
        await new Promise((resolve) => setTimeout(resolve, 5));
        const loaded = new LoadedVersion(r, session, new VersionStats(r.model, r.version), 5);
        loaded.memoryBytes = r.artifact.size;
        return loaded;
      },
    },
  };
}

function recordingStatus() {
  const last = new Map<string, Omit<VersionStatusRecord, 'nodeId' | 'updatedAt'>>();
  const sink: StatusSink = { report: (s) => last.set(s.model, s), clear: (model) => last.delete(model) };
  return { sink, last };
}

function reconcilerWith(target: TargetState, budgetMib: number) {
  const loads = instantLoader();
  const status = recordingStatus();
  const evicted: string[] = [];
  const reconciler = new Reconciler({
    target: { current: () => target },
    loader: loads.loader,
    status: status.sink,
    logger: capturingLogger().logger,
    density: { nodeId: 'me', memory: new MemoryLedger(budgetMib * MIB), onEvicted: (v) => evicted.push(v.model) },
  });
  reconciler.reconcile();
  return { reconciler, loads, status, evicted };
}

test('only placed versions load ahead of requests; 50 concurrent demands of a cold version share one load', async (t) => {
  const { reconciler, loads } = reconcilerWith(targetOf(4, 1, [0]), 100);
  t.teardown(() => reconciler.stop());
  await reconciler.whenSettled();
  t.deepEqual([...reconciler.table.versions.keys()], ['m0/v1']);
  const all = await Promise.all(Array.from({ length: 50 }, () => reconciler.demand('m2', 'v1')));
  t.true(all.every((v) => v === all[0]));
  t.is(loads.loads.get('m2'), 1);
  t.deepEqual([...reconciler.table.versions.keys()].sort(), ['m0/v1', 'm2/v1']);
  await t.throwsAsync(reconciler.demand('m9', 'v1'), { message: /not routed/ });
});

test('past the budget, the least recently used idle cached version goes first; placed ones and ones in use never do', async (t) => {
  // 11 MiB budget, 3 MiB each: three fit, a fourth needs one gone (a load's transient alone unloads only versions idle 250 ms).
  const { reconciler, evicted } = reconcilerWith(targetOf(6, 3, [0]), 11);
  t.teardown(() => reconciler.stop());
  await reconciler.whenSettled();
  const m1 = await reconciler.demand('m1', 'v1');
  await new Promise((r) => setTimeout(r, 5));
  const m2 = await reconciler.demand('m2', 'v1');
  await new Promise((r) => setTimeout(r, 5));
  // m1 is older, but busy: m2 goes instead.
  t.true(m1.acquire());
  await reconciler.demand('m3', 'v1');
  t.deepEqual(evicted, ['m2']);
  t.true(m2.closed);
  t.false(m1.closed);
  m1.release();
  t.true(reconciler.memoryUsedBytes() <= 11 * MIB);
  // Now m1 is the least recently used idle cached one; m0 (placed) stays whatever its age.
  await reconciler.demand('m4', 'v1');
  t.deepEqual(evicted, ['m2', 'm1']);
  t.true(reconciler.table.versions.has('m0/v1'));
});

test('a load that cannot fit is refused with the sizes: FAILED, the demand UNAVAILABLE, and the next demand tries again', async (t) => {
  // 5 MiB budget: the placed 3 MiB version, always resident, leaves no room for another 3 MiB one.
  const { reconciler, status } = reconcilerWith({ ...targetOf(2, 3, [0]), alwaysResidentModels: new Set(['m0']) }, 5);
  t.teardown(() => reconciler.stop());
  await reconciler.whenSettled();
  const error = await t.throwsAsync(reconciler.demand('m1', 'v1'));
  t.is((error as { code?: number }).code, GrpcStatus.UNAVAILABLE);
  t.regex(error!.message, /not loaded: it needs 3\.0 MiB \(5\.0 MiB while it loads\) and this node's budget is 5\.0 MiB, 3\.0 MiB held, 3\.0 MiB of it by 1 version\(s\) always resident, loading or serving requests/);
  t.is(status.last.get('m1')?.state, 'FAILED');
  // No back-off for a request's load: the next one is decided afresh (and refused again here).
  await t.throwsAsync(reconciler.demand('m1', 'v1'), { message: /not loaded/ });
  t.deepEqual(reconciler.displaced(), []);
});

test('a version a request needs displaces the least recently used idle placed copy when no cached one is left; the copy stays unloaded while displaced and is forgotten once its placement moves', async (t) => {
  // 8 MiB budget, 3 MiB each: m0 and m1 placed here leave 2 MiB (a third load needs one of them gone).
  let target = targetOf(3, 3, [0, 1]);
  const displacedEvents: string[] = [];
  const { reconciler, loads } = fullOfPlacedCopies(() => target, (key, forKey) => displacedEvents.push(`${key} for ${forKey}`));
  t.teardown(() => reconciler.stop());
  await waitUntil(() => reconciler.table.versions.size === 2);
  t.deepEqual([...reconciler.table.versions.keys()].sort(), ['m0/v1', 'm1/v1']);
  // m1 used last: m0 is the least recently used.
  reconciler.table.versions.get('m1/v1')!.stats.lastUsedMs = Date.now() + 1000;
  await reconciler.demand('m2', 'v1');
  t.deepEqual(displacedEvents, ['m0/v1 for m2/v1']);
  t.deepEqual(reconciler.displaced(), ['m0/v1']);
  t.deepEqual([...reconciler.table.versions.keys()].sort(), ['m1/v1', 'm2/v1']);
  // Passes do not load it back while its placement still names this node.
  reconciler.reconcile();
  await new Promise((r) => setTimeout(r, 30));
  t.is(loads.get('m0'), 1);
  t.false(reconciler.table.versions.has('m0/v1'));
  // The placer moved it elsewhere: forgotten.
  target = { ...targetOf(3, 3, [1]) };
  reconciler.reconcile();
  t.deepEqual(reconciler.displaced(), []);
  // Placed here again later: an ordinary placed copy, loaded (making room by evicting the cached m2).
  target = { ...targetOf(3, 3, [0, 1]) };
  reconciler.reconcile();
  await waitUntil(() => reconciler.table.versions.has('m0/v1'));
  t.is(loads.get('m0'), 2);
});

test('a displaced copy that a request needs again loads on demand and is a placed copy again', async (t) => {
  const target = targetOf(3, 3, [0, 1]);
  const { reconciler } = fullOfPlacedCopies(() => target);
  t.teardown(() => reconciler.stop());
  await waitUntil(() => reconciler.table.versions.size === 2);
  await reconciler.demand('m2', 'v1');
  t.is(reconciler.displaced().length, 1);
  const [gone] = reconciler.displaced();
  const [model] = gone!.split('/');
  await reconciler.demand(model!, 'v1');
  t.deepEqual(reconciler.displaced().includes(gone!), false);
  t.true(reconciler.table.versions.has(gone!));
});

async function waitUntil(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * 12 MiB of budget, two 3 MiB placed copies: both loaded once the first
 * measurement corrects the default estimate (1.5 × the artifact, plus the
 * artifact twice while loading, so the two first loads do not fit together
 * and one retries 10 ms later).
 */
function fullOfPlacedCopies(target: () => TargetState, onDisplaced?: (key: string, forKey: string) => void) {
  const loads = instantLoader();
  const reconciler = new Reconciler({
    target: { current: target },
    loader: loads.loader,
    status: recordingStatus().sink,
    logger: capturingLogger().logger,
    retryMinMs: 10,
    density: { nodeId: 'me', memory: new MemoryLedger(8 * MIB), ...(onDisplaced ? { onDisplaced } : {}) },
  });
  reconciler.reconcile();
  return { reconciler, loads: loads.loads };
}

test('versions evicted for a load are not loaded again in the same pass: nobody asked for them', async (t) => {
  // 12 MiB, 2 MiB versions (a load holds 6 MiB while it runs: its artifact read twice more).
  const { reconciler, loads, evicted } = reconcilerWith(targetOf(5, 2), 12);
  t.teardown(() => reconciler.stop());
  await reconciler.whenSettled();
  await reconciler.demand('m3', 'v1');
  await reconciler.demand('m4', 'v1');
  // Idle long enough to go for another load's transient.
  await new Promise((r) => setTimeout(r, 300));
  // One pass takes both demands: m1 fits, m2 unloads m3 and m4.
  await Promise.all([reconciler.demand('m1', 'v1'), reconciler.demand('m2', 'v1')]);
  await reconciler.whenSettled();
  t.deepEqual(evicted.sort(), ['m3', 'm4']);
  t.is(loads.loads.get('m3'), 1, 'm3 was not loaded again');
  t.is(loads.loads.get('m4'), 1, 'm4 was not loaded again');
  t.deepEqual([...reconciler.table.versions.keys()].sort(), ['m1/v1', 'm2/v1']);
});
