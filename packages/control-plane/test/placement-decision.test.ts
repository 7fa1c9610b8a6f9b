import test from 'ava';
import { DEFAULT_PLACEMENT_SETTINGS, RouteRecordSchema, type PlacementSettings, type UsageRecord, type VersionRecord } from '@switchyard/core';
import {
  DEFAULT_PLACEMENT_POLICY,
  decidePlacements,
  placementId,
  type PlacementCandidate,
  type PlacementInput,
  type PlacementNode,
  type PlacementPolicy,
} from '../src/placement-decision.js';
import { costEstimate, MIN_VERSION_BYTES, versionCost } from '../src/placement-cost.js';
import { NEW_VERSION_AGE_MS, placementCandidates, withRecentlyDisplaced } from '../src/placement-inputs.js';

const MB = 1024 * 1024;
const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const iso = (ms: number): string => new Date(ms).toISOString();
/** Whole budgets, so the sizes in a test are the sizes it fills. */
const POLICY: PlacementPolicy = { ...DEFAULT_PLACEMENT_POLICY, fillRatio: 1 };

const node = (id: string, budgetMb: number, extra: Partial<PlacementNode> = {}): PlacementNode => ({ id, budgetBytes: budgetMb * MB, ...extra });

function version(name: string, extra: Partial<Omit<PlacementCandidate, 'settings'>> & { settings?: Partial<PlacementSettings> } = {}): PlacementCandidate {
  const { settings, ...rest } = extra;
  return {
    model: 'm',
    version: name,
    costBytes: 10 * MB,
    ratePerSecond: 0,
    lastUsedMs: T0,
    shadowOf: [],
    rolloutTarget: false,
    copies: [],
    ...rest,
    settings: { ...DEFAULT_PLACEMENT_SETTINGS, ...settings },
  };
}

function decide(nodes: PlacementNode[], versions: PlacementCandidate[], extra: Partial<PlacementInput> = {}) {
  return decidePlacements({ nowMs: T0, nodes, versions, policy: POLICY, quietSince: new Map(), ...extra });
}

/** version → its nodes, for short assertions. */
function where(decision: ReturnType<typeof decide>): Record<string, string[]> {
  return Object.fromEntries(decision.placements.map((p) => [p.version, p.copies.map((c) => c.nodeId)]));
}

test('by default each routed version gets one copy, spread over the nodes with the most free memory', (t) => {
  const d = decide([node('a', 100), node('b', 100)], [version('v1'), version('v2'), version('v3'), version('v4')]);
  t.deepEqual(where(d), { v1: ['a'], v2: ['b'], v3: ['a'], v4: ['b'] });
  for (const p of d.placements) {
    t.is(p.wantedCopies, 1);
    t.is(p.reason, '');
    t.is(p.estimatedBytes, 10 * MB);
    t.is(p.copies[0]!.since, iso(T0));
  }
  t.deepEqual(d.nodes.get('a'), { plannedBytes: 20 * MB, capacityBytes: 100 * MB });
});

test('nodes without a known budget (0) get nothing, and the reason says so', (t) => {
  const d = decide([node('a', 0), node('b', 0)], [version('v1')]);
  t.deepEqual(where(d), { v1: [] });
  t.regex(d.placements[0]!.reason, /0 of 1 wanted copy placed: no live node has a known memory budget yet; it loads on its next request/);
});

test('a version bigger than every node is not placed, with both sizes in the reason', (t) => {
  const d = decide([node('a', 100), node('b', 200)], [version('big', { costBytes: 300 * MB }), version('small')]);
  t.deepEqual(where(d), { big: [], small: ['b'] });
  t.regex(d.placements[0]!.reason, /one copy needs 300 MiB, more than any node may hold \(the largest: 200 MiB\)/);
});

test('when memory runs out the least recently used versions lose their copies first, down to zero', (t) => {
  const versions = [
    version('old', { lastUsedMs: T0 - 3_600_000 }),
    version('recent', { lastUsedMs: T0 - 1000 }),
    version('middle', { lastUsedMs: T0 - 60_000 }),
    version('never', { lastUsedMs: undefined }),
  ];
  const d = decide([node('a', 25)], versions);
  t.deepEqual(where(d), { old: [], recent: ['a'], middle: ['a'], never: [] });
  t.regex(d.placements[0]!.reason, /0 of 1 wanted copy placed: the nodes are full of versions used more recently; it loads on its next request/);
});

test('an existing copy of a less recently used version gives way to a more recently used one', (t) => {
  const versions = [
    version('old', { lastUsedMs: T0 - 3_600_000, copies: [{ nodeId: 'a', since: iso(T0 - 7_200_000) }] }),
    version('new', { lastUsedMs: T0 }),
  ];
  const d = decide([node('a', 15)], versions);
  t.deepEqual(where(d), { old: [], new: ['a'] });
});

test('always-resident versions keep their copies whatever was used more recently, even with minCopies 0', (t) => {
  const versions = [
    version('hot', { lastUsedMs: T0 }),
    version('resident', { lastUsedMs: T0 - 86_400_000, settings: { alwaysResident: true, minCopies: 0 } }),
  ];
  const d = decide([node('a', 15)], versions);
  t.deepEqual(where(d), { hot: [], resident: ['a'] });
  t.is(d.placements[1]!.wantedCopies, 1);
});

test("a rollout's target is placed before versions used more recently", (t) => {
  const versions = [version('v1', { lastUsedMs: T0 }), version('v2', { lastUsedMs: undefined, rolloutTarget: true })];
  t.deepEqual(where(decide([node('a', 15)], versions)), { v1: [], v2: ['a'] });
  // ...and with minCopies 0 it still gets one copy.
  const zero = [version('v1'), version('v2', { lastUsedMs: undefined, rolloutTarget: true, settings: { minCopies: 0 } })];
  t.deepEqual(where(decide([node('a', 100)], zero)), { v1: ['a'], v2: [] });
});

test('minCopies 0: no copy until load asks for one', (t) => {
  const idle = decide([node('a', 100)], [version('v1', { settings: { minCopies: 0 } })]);
  t.deepEqual(where(idle), { v1: [] });
  t.is(idle.placements[0]!.wantedCopies, 0);
  t.is(idle.placements[0]!.reason, '');
  const busy = decide([node('a', 100)], [version('v1', { settings: { minCopies: 0 }, ratePerSecond: 1 })]);
  t.deepEqual(where(busy), { v1: ['a'] });
});

test('a copy stays on its node while it fits there, even when another node has more free memory', (t) => {
  const d = decide([node('a', 100), node('b', 1000)], [version('v1', { copies: [{ nodeId: 'a', since: iso(T0 - 1000) }] })]);
  t.deepEqual(where(d), { v1: ['a'] });
  t.is(d.placements[0]!.copies[0]!.since, iso(T0 - 1000));
});

test('new copies do not land on memory held by copies that stay', (t) => {
  // v1 has the only room on a; v2 (used more recently, so placed first) goes to b.
  const versions = [version('v1', { lastUsedMs: T0 - 1000, copies: [{ nodeId: 'a', since: iso(T0 - 1000) }] }), version('v2', { lastUsedMs: T0 })];
  t.deepEqual(where(decide([node('a', 20), node('b', 15)], versions)), { v1: ['a'], v2: ['b'] });
});

test('minCopies 2 on one node: one copy, and the reason counts the nodes', (t) => {
  const d = decide([node('a', 100)], [version('v1', { settings: { minCopies: 2 } })]);
  t.deepEqual(where(d), { v1: ['a'] });
  t.is(d.placements[0]!.wantedCopies, 2);
  t.regex(d.placements[0]!.reason, /1 of 2 wanted copies placed: one copy per node, and one node is usable/);
});

test('copies are added while the rate per copy is above the threshold, up to maxCopies and the nodes', (t) => {
  const nodes = [node('a', 100), node('b', 100), node('c', 100), node('d', 100)];
  t.is(decide(nodes, [version('v1', { ratePerSecond: 50 })]).placements[0]!.copies.length, 1);
  t.is(decide(nodes, [version('v1', { ratePerSecond: 51 })]).placements[0]!.copies.length, 2);
  t.is(decide(nodes, [version('v1', { ratePerSecond: 140 })]).placements[0]!.copies.length, 3);
  t.is(decide(nodes, [version('v1', { ratePerSecond: 10_000 })]).placements[0]!.copies.length, 4);
  const capped = decide(nodes, [version('v1', { ratePerSecond: 10_000, settings: { maxCopies: 2 } })]);
  t.is(capped.placements[0]!.copies.length, 2);
  t.is(capped.placements[0]!.reason, '');
});

test('copies added for load come after every version has its minimum', (t) => {
  const versions = [version('hot', { ratePerSecond: 500, lastUsedMs: T0 }), version('cold', { lastUsedMs: T0 - 3_600_000 })];
  const d = decide([node('a', 10), node('b', 10)], versions);
  t.deepEqual(where(d), { hot: ['a'], cold: ['b'] });
  t.regex(d.placements[0]!.reason, /1 of 2 wanted copies placed/);
});

test('extra copies go only after a quiet period, never below the lower line, and never a young copy', (t) => {
  const nodes = [node('a', 100), node('b', 100), node('c', 100)];
  const copies = [
    { nodeId: 'a', since: iso(T0 - 3_600_000) },
    { nodeId: 'b', since: iso(T0 - 3_600_000) },
    { nodeId: 'c', since: iso(T0 - 3_600_000) },
  ];
  // 90 req/s over 3 copies: adding would stop at 2 (45 each), but 2 copies at 2/3 of the threshold take 66: keep 3.
  const near = decide(nodes, [version('v1', { ratePerSecond: 90, copies })]);
  t.is(near.placements[0]!.copies.length, 3);
  t.is(near.quietSince.size, 0);

  // 20 req/s: one copy is enough, but the quiet period starts now.
  const quiet = decide(nodes, [version('v1', { ratePerSecond: 20, copies })]);
  t.is(quiet.placements[0]!.copies.length, 3);
  t.is(quiet.placements[0]!.wantedCopies, 3);
  t.deepEqual([...quiet.quietSince], [[placementId('m', 'v1'), T0]]);

  const later = T0 + POLICY.quietMs;
  const after = decide(nodes, [version('v1', { ratePerSecond: 20, copies })], { nowMs: later, quietSince: quiet.quietSince });
  t.deepEqual(where(after), { v1: ['a'] });

  // No copy goes while any is young (one added lately means load was high lately).
  const young = [copies[0]!, { nodeId: 'b', since: iso(later - 1000) }];
  const kept = decide(nodes, [version('v1', { ratePerSecond: 0, copies: young })], { nowMs: later, quietSince: quiet.quietSince });
  t.deepEqual(where(kept), { v1: ['a', 'b'] });
  const aged = decide(nodes, [version('v1', { ratePerSecond: 0, copies: young })], { nowMs: later + POLICY.minCopyAgeMs, quietSince: quiet.quietSince });
  t.deepEqual(where(aged), { v1: ['a'] });

  // Load back above the line ends the quiet period.
  const busy = decide(nodes, [version('v1', { ratePerSecond: 140, copies })], { nowMs: later, quietSince: quiet.quietSince });
  t.is(busy.quietSince.size, 0);
  t.is(busy.placements[0]!.copies.length, 3);
});

test("a node that is gone or draining loses its copies, and they are placed on the others", (t) => {
  const copies = [{ nodeId: 'dead', since: iso(T0 - 60_000) }];
  t.deepEqual(where(decide([node('a', 100)], [version('v1', { copies })])), { v1: ['a'] });
  const draining = [{ nodeId: 'b', since: iso(T0 - 60_000) }];
  const d = decide([node('a', 100), node('b', 100, { draining: true })], [version('v1', { copies: draining })]);
  t.deepEqual(where(d), { v1: ['a'] });
  t.is(d.placements[0]!.copies[0]!.since, iso(T0));
  t.false(d.nodes.has('b'));
});

test("a shadow is placed where its primary's copies are when memory allows, else elsewhere", (t) => {
  const primary = version('v1', { lastUsedMs: T0, copies: [{ nodeId: 'b', since: iso(T0 - 1000) }] });
  const shadow = version('v2', { lastUsedMs: T0 - 1, shadowOf: ['v1'] });
  t.deepEqual(where(decide([node('a', 100), node('b', 50)], [primary, shadow])), { v1: ['b'], v2: ['b'] });
  // No room beside the primary: the shadow still gets a copy, elsewhere.
  t.deepEqual(where(decide([node('a', 100), node('b', 15)], [primary, shadow])), { v1: ['b'], v2: ['a'] });
  // As many copies as the primary has.
  const twice = version('v1', { copies: [{ nodeId: 'a', since: iso(T0) }, { nodeId: 'b', since: iso(T0) }], settings: { minCopies: 2 } });
  t.deepEqual(where(decide([node('a', 100), node('b', 100), node('c', 100)], [twice, shadow])), { v1: ['a', 'b'], v2: ['a', 'b'] });
});

test('maxCopies below minCopies caps the minimum', (t) => {
  const d = decide([node('a', 100), node('b', 100), node('c', 100)], [version('v1', { settings: { minCopies: 3, maxCopies: 2 } })]);
  t.is(d.placements[0]!.copies.length, 2);
  t.is(d.placements[0]!.wantedCopies, 2);
});

test('only fillRatio of a budget is planned', (t) => {
  const d = decidePlacements({ nowMs: T0, nodes: [node('a', 100)], versions: [version('v1', { costBytes: 95 * MB })], policy: DEFAULT_PLACEMENT_POLICY, quietSince: new Map() });
  t.deepEqual(where(d), { v1: [] });
  t.regex(d.placements[0]!.reason, /more than any node may hold \(the largest: 90 MiB\)/);
});

test('no node is ever planned past its budget, over many random clusters', (t) => {
  let seed = 42;
  const random = (): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let round = 0; round < 200; round++) {
    const nodes = Array.from({ length: 1 + Math.floor(random() * 5) }, (_, i) => node(`n${i}`, Math.floor(random() * 200), { draining: random() < 0.1 }));
    const versions = Array.from({ length: Math.floor(random() * 40) }, (_, i) =>
      version(`v${i}`, {
        costBytes: Math.floor(random() * 60 * MB),
        ratePerSecond: random() < 0.3 ? random() * 300 : 0,
        lastUsedMs: T0 - Math.floor(random() * 1e6),
        settings: { minCopies: Math.floor(random() * 3), maxCopies: Math.floor(random() * 3), alwaysResident: random() < 0.05 },
        copies: random() < 0.5 ? [{ nodeId: `n${Math.floor(random() * 6)}`, since: iso(T0 - 1e6) }] : [],
      }),
    );
    const d = decide(nodes, versions);
    const used = new Map<string, number>();
    for (const [i, p] of d.placements.entries()) {
      t.is(new Set(p.copies.map((c) => c.nodeId)).size, p.copies.length, 'one copy per node');
      for (const c of p.copies) used.set(c.nodeId, (used.get(c.nodeId) ?? 0) + Math.max(1, versions[i]!.costBytes));
      if (p.copies.length < p.wantedCopies) t.not(p.reason, '');
    }
    for (const [id, bytes] of used) {
      const n = nodes.find((x) => x.id === id)!;
      t.false(n.draining === true);
      t.true(bytes <= n.budgetBytes, `node ${id}: ${bytes} of ${n.budgetBytes}`);
    }
  }
});

test('the same input decides the same placements (a pass that changes nothing writes nothing)', (t) => {
  const nodes = [node('a', 50), node('b', 50)];
  const first = decide(nodes, [version('v1'), version('v2'), version('v3', { lastUsedMs: T0 - 5 })]);
  const again = decide(
    nodes,
    first.placements.map((p, i) => version(p.version, { lastUsedMs: i === 2 ? T0 - 5 : T0, copies: p.copies })),
    { nowMs: T0 + 60_000 },
  );
  t.deepEqual(again.placements, first.placements);
});

test('cost: measured on a node wins (the largest measurement), else artifact size times the median ratio of measured versions of a similar size', (t) => {
  const MB = 1024 * 1024;
  t.is(costEstimate([])(10 * MB), 15 * MB, 'nothing measured: the default factor');
  t.is(costEstimate([])(100), MIN_VERSION_BYTES, 'never below a session’s fixed cost, as the node');
  const estimate = costEstimate([
    { artifactBytes: 100 * MB, measuredBytes: [110 * MB, 120 * MB] },
    { artifactBytes: 100 * MB, measuredBytes: [130 * MB] },
    { artifactBytes: 100 * MB, measuredBytes: [] },
    { artifactBytes: 100 * MB, measuredBytes: [500 * MB] },
    // A session's fixed cost: it teaches only artifacts of a similar (tiny) size.
    ...Array.from({ length: 9 }, () => ({ artifactBytes: 100, measuredBytes: [3 * MB] })),
    { artifactBytes: 2 * MB, measuredBytes: [4 * MB] },
  ]);
  t.is(estimate(200 * MB), 260 * MB, 'ratios 1.2, 1.3 and 5 of 25–400 MB artifacts: the upper median, 1.3');
  t.is(estimate(1000 * MB), 1500 * MB, 'nothing measured within ×4: the default factor');
  t.is(estimate(8 * MB), 16 * MB, 'only the 2 MB version is within ×4: its ratio, 2');
  t.is(estimate(9 * MB), Math.round(9 * MB * 1.5), 'just past ×4 of 2 MB: the default');
  t.is(estimate(200), 6 * MB, 'tiny models learn from tiny models, as on the node');
  t.deepEqual(versionCost({ artifactBytes: 100, measuredBytes: [90, 95] }, estimate), { bytes: 95, measured: true });
  t.deepEqual(versionCost({ artifactBytes: 200 * MB, measuredBytes: [] }, estimate), { bytes: 260 * MB, measured: false });
});

test('candidates: routed, shadow and rollout versions with their settings, rate of recent usage only, last use or creation less an hour', (t) => {
  const at = iso(T0);
  const v = (name: string, size = 100): VersionRecord => ({
    model: 'm',
    version: name,
    artifact: { sha256: 'a'.repeat(64), size },
    signature: { inputs: [], outputs: [] },
    createdAt: at,
    createdBy: '',
    description: '',
    labels: {},
    expiresAfterSeconds: 0,
    samples: null,
  });
  const route = RouteRecordSchema.parse({
    model: 'm',
    splits: [{ version: 'v1', weight: 10_000 }, { version: 'v2', weight: 0 }],
    updatedAt: at,
    shadows: [{ version: 'v3', fraction: 1, addedAt: at }],
  });
  const usage = (nodeId: string, rate: number, updatedAt: string, lastPrimaryAt: string | null): UsageRecord => ({
    model: 'm', version: 'v1', nodeId, lastPrimaryAt, lastShadowAt: null, ratePerSecond: rate, updatedAt,
  });
  const candidates = placementCandidates(
    {
      nodes: [],
      memory: [],
      statuses: [],
      models: [{ name: 'm', owner: '', description: '', defaultExpiresAfterSeconds: 0, createdAt: at, updatedAt: at, placement: { minCopies: 2, maxCopies: 0, alwaysResident: false } }],
      versions: [v('v1'), v('v2'), v('v3'), v('v4')],
      routes: [route],
      usage: [usage('n1', 10, iso(T0 - 1000), iso(T0 - 5000)), usage('gone', 99, iso(T0 - 600_000), iso(T0 - 2000))],
      placements: [],
      placementRevisions: new Map(),
    },
    T0,
    180_000,
  );
  t.deepEqual(candidates.map((c) => c.version), ['v1', 'v2', 'v3'], 'v4 is not routed');
  const [v1, v2, v3] = candidates;
  t.is(v1!.ratePerSecond, 10, "a node's record older than the window adds no rate");
  t.is(v1!.lastUsedMs, T0 - 2000, 'its last use does count');
  t.is(v1!.settings.minCopies, 2);
  t.is(v2!.lastUsedMs, T0 - NEW_VERSION_AGE_MS, 'never used: as if an hour before it was created');
  t.deepEqual(v3!.shadowOf, ['v1']);
  t.is(v1!.costBytes, MIN_VERSION_BYTES, 'artifact size times the default factor, never below a session’s fixed cost');
});

test('a copy its node displaced no longer counts there, and goes to another node with room', (t) => {
  const d = decide([node('a', 100, { displaced: ['m/v1'] }), node('b', 100)], [version('v1', { copies: [{ nodeId: 'a', since: iso(T0 - 600_000) }] }), version('v2', { copies: [{ nodeId: 'a', since: iso(T0) }] })]);
  t.deepEqual(where(d), { v1: ['b'], v2: ['a'] }, "the node's other copies stay");
  t.is(d.placements[0]!.reason, '');
  t.deepEqual(d.nodes.get('a'), { plannedBytes: 10 * MB, capacityBytes: 100 * MB }, 'the displaced copy is not planned on its node');
});

test('a shadow follows its primary off the node that displaced the primary', (t) => {
  const primary = version('v1', { lastUsedMs: T0, copies: [{ nodeId: 'a', since: iso(T0 - 600_000) }] });
  const shadow = version('v2', { lastUsedMs: T0 - 1, shadowOf: ['v1'], copies: [{ nodeId: 'a', since: iso(T0 - 600_000) }] });
  const d = decide([node('a', 100, { displaced: ['m/v1'] }), node('b', 100), node('c', 100)], [primary, shadow]);
  t.deepEqual(where(d), { v1: ['b'], v2: ['b'] });
  t.is(d.placements[1]!.wantedCopies, 1, "the primary's displaced copy is not counted");
  // With nowhere else to go, the reason names the node and the primary.
  const alone = decide([node('a', 100, { displaced: ['m/v1'] })], [primary, shadow]);
  t.deepEqual(where(alone), { v1: [], v2: [] });
  t.regex(alone.placements[1]!.reason, /a unloaded it or the version it shadows/);
});

test('a displaced version is not placed on that node again while listed, even where most memory is free', (t) => {
  const d = decide([node('a', 1000, { displaced: ['m/v1'] }), node('b', 100)], [version('v1'), version('v2')]);
  t.deepEqual(where(d), { v1: ['b'], v2: ['a'] });
});

test('with no other node with room, a displaced version has fewer copies, and the reason says which node unloaded it', (t) => {
  const alone = decide([node('a', 100, { displaced: ['m/v1'] })], [version('v1', { copies: [{ nodeId: 'a', since: iso(T0) }] })]);
  t.deepEqual(where(alone), { v1: [] });
  t.regex(alone.placements[0]!.reason, /^0 of 1 wanted copy placed: a unloaded it to make room for versions requests needed, and no other node is usable; it loads on its next request$/);

  // b has room for one 10 MB copy, which v2, used more recently, holds.
  const full = decide([node('a', 100, { displaced: ['m/v1'] }), node('b', 15)], [version('v1', { lastUsedMs: T0 - 1000 }), version('v2', { lastUsedMs: T0, copies: [{ nodeId: 'b', since: iso(T0) }] })]);
  t.deepEqual(where(full).v1, []);
  t.regex(full.placements[0]!.reason, /a unloaded it to make room for versions requests needed, and no other node has room/);
});

test('of several copies only the displaced one moves; copies wanted beyond the nodes that did not displace it are missing, with the reason', (t) => {
  const copies = [
    { nodeId: 'a', since: iso(T0 - 600_000) },
    { nodeId: 'b', since: iso(T0 - 600_000) },
  ];
  const d = decide([node('a', 100, { displaced: ['m/v1'] }), node('b', 100), node('c', 100)], [version('v1', { copies, settings: { minCopies: 2 } })]);
  t.deepEqual(where(d), { v1: ['b', 'c'] });
  t.is(d.placements[0]!.copies.find((c) => c.nodeId === 'b')!.since, iso(T0 - 600_000), 'the copy that stays keeps its age');

  const three = decide([node('a', 100, { displaced: ['m/v1'] }), node('b', 100), node('c', 100)], [version('v1', { copies, settings: { minCopies: 3 } })]);
  t.deepEqual(where(three), { v1: ['b', 'c'] });
  t.regex(three.placements[0]!.reason, /^2 of 3 wanted copies placed: a unloaded it .*no other node is usable$/);
});

test('a draining node holds nothing: its copies go to the others', (t) => {
  const d = decide([node('a', 100, { draining: true }), node('b', 100)], [version('v1', { copies: [{ nodeId: 'a', since: iso(T0) }] })]);
  t.deepEqual(where(d), { v1: ['b'] });
});

test('a displaced copy stays off its node for the cool-down after the node stops listing it', (t) => {
  const listed = withRecentlyDisplaced([node('a', 100, { displaced: ['m/v1'] }), node('b', 100)], new Map(), T0, 300_000);
  t.deepEqual(listed.nodes.map((n) => n.displaced ?? []), [['m/v1'], []]);

  // The placement no longer names a, so a lists it no more; it stays barred for the cool-down.
  const after = withRecentlyDisplaced([node('a', 100), node('b', 100)], listed.remembered, T0 + 299_000, 300_000);
  t.deepEqual(after.nodes[0]!.displaced, ['m/v1']);
  t.deepEqual(where(decide(after.nodes, [version('v1')])), { v1: ['b'] });

  const later = withRecentlyDisplaced([node('a', 100), node('b', 100)], after.remembered, T0 + 300_000, 300_000);
  t.is(later.nodes[0]!.displaced, undefined);
  t.is(later.remembered.size, 0);
});
