import anyTest, { type TestFn } from 'ava';
import type { Etcd3 } from 'etcd3';
import {
  PlacementRecordSchema,
  type KeyLayout,
  type NodeMemoryRecord,
  type NodeRecord,
  type PlacementRecord,
  type RouteRecord,
  type UsageRecord,
  type VersionStatusRecord,
} from '@switchyard/core';
import { capturingLogger, waitFor } from '@switchyard/testkit';
import { EtcdTables } from '../src/etcd-tables.js';
import { StaticLeadership } from '../src/leader-election.js';
import { PlacementKeeper } from '../src/placement-keeper.js';
import { freshKeys, startControlPlane, useEtcd } from './helpers/harness.js';
import { ManualClock, seedModel, versionRecord } from './helpers/seed.js';

// The leader's placer against a real etcd: nodes, memory, status and usage records are written as nodes would write them.
const test = anyTest as TestFn;
const etcd = useEtcd(test);
const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const at = new Date(T0).toISOString();
const MB = 1024 * 1024;

async function putNode(client: Etcd3, keys: KeyLayout, id: string, budgetMb: number, lease?: ReturnType<Etcd3['lease']>): Promise<void> {
  const record: NodeRecord = { id, address: `127.0.0.1:${1000 + id.length}`, metricsAddress: '', buildVersion: 'test', startedAt: at, memoryBudgetBytes: budgetMb * MB, draining: false, httpAddress: '' };
  await (lease ?? client).put(keys.node(id)).value(JSON.stringify(record));
}

async function putStatus(client: Etcd3, keys: KeyLayout, nodeId: string, model: string, version: string, memoryBytes?: number): Promise<void> {
  const record: VersionStatusRecord = { nodeId, model, version, state: 'READY', error: '', attempts: 1, updatedAt: at, ...(memoryBytes === undefined ? {} : { memoryBytes }) };
  await client.put(keys.status(nodeId, model, version)).value(JSON.stringify(record));
}

async function placements(client: Etcd3, keys: KeyLayout): Promise<Map<string, PlacementRecord>> {
  const all = await client.getAll().prefix(keys.placementsPrefix()).strings();
  return new Map(Object.values(all).map((text) => PlacementRecordSchema.parse(JSON.parse(text))).map((p) => [`${p.model}/${p.version}`, p]));
}

const nodesOf = (p: PlacementRecord | undefined): string[] | undefined => p?.copies.map((c) => c.nodeId);

function keeper(client: Etcd3, keys: KeyLayout, clock = new ManualClock(T0), leader = true) {
  const { logger, records } = capturingLogger();
  const tables = new EtcdTables({ etcd: client, keys, logger });
  return { keeper: new PlacementKeeper({ tables, leadership: new StaticLeadership(leader), clock, logger }), logs: records, clock };
}

async function seed(client: Etcd3, keys: KeyLayout, model: string, versions: string[], routed = versions[0]!, sizeMb = 10): Promise<void> {
  const records = versions.map((v) => ({ ...versionRecord(model, v, { createdAt: at }), artifact: { sha256: 'a'.repeat(64), size: sizeMb * MB } }));
  await seedModel(client, keys, { model, routed, versions: records, at });
}

test('each routed version gets a copy on a node with a budget; a pass that changes nothing writes nothing', async (t) => {
  const { client } = etcd();
  const keys = freshKeys();
  await putNode(client, keys, 'n1', 100);
  await putNode(client, keys, 'n2', 100);
  await seed(client, keys, 'a', ['v1', 'v2']);
  await seed(client, keys, 'b', ['v1']);
  const { keeper: k } = keeper(client, keys);
  await k.passOnce();
  const first = await placements(client, keys);
  t.deepEqual([...first.keys()].sort(), ['a/v1', 'b/v1'], 'only routed versions are placed');
  t.deepEqual(nodesOf(first.get('a/v1')), ['n1']);
  t.deepEqual(nodesOf(first.get('b/v1')), ['n2']);
  t.is(first.get('a/v1')!.wantedCopies, 1);
  t.is(first.get('a/v1')!.estimatedBytes, 15 * MB, 'artifact size times the default factor, before any measurement');
  t.is(first.get('a/v1')!.reason, '');
  t.is(k.counts.written, 2);

  const revision = (await client.get(keys.placement('a', 'v1')).exec()).kvs[0]!.mod_revision;
  await k.passOnce();
  t.is(k.counts.written, 2, 'nothing written the second time');
  t.is((await client.get(keys.placement('a', 'v1')).exec()).kvs[0]!.mod_revision, revision);
  t.is(await client.getAll().prefix(keys.historyPrefix('a')).count(), 0, 'placements are not in the audit log');
});

test('measured memory replaces the estimate, and teaches the factor for versions not measured yet', async (t) => {
  const { client } = etcd();
  const keys = freshKeys();
  await putNode(client, keys, 'n1', 500);
  await seed(client, keys, 'a', ['v1']);
  await seed(client, keys, 'b', ['v1'], 'v1', 20);
  await putStatus(client, keys, 'n1', 'a', 'v1', 12 * MB);
  const { keeper: k } = keeper(client, keys);
  await k.passOnce();
  const p = await placements(client, keys);
  t.is(p.get('a/v1')!.estimatedBytes, 12 * MB);
  t.is(p.get('b/v1')!.estimatedBytes, 24 * MB, '20 MB × 1.2, the ratio a/v1 measured');
});

test('nodes without a budget get nothing, and the reason says so', async (t) => {
  const { client } = etcd();
  const keys = freshKeys();
  await putNode(client, keys, 'n1', 0);
  await seed(client, keys, 'a', ['v1']);
  const { keeper: k } = keeper(client, keys);
  await k.passOnce();
  const p = (await placements(client, keys)).get('a/v1')!;
  t.deepEqual(p.copies, []);
  t.regex(p.reason, /no live node has a known memory budget/);
});

test('the budget of the memory record counts when the node record has none', async (t) => {
  const { client } = etcd();
  const keys = freshKeys();
  await putNode(client, keys, 'n1', 0);
  const memory: NodeMemoryRecord = { nodeId: 'n1', budgetBytes: 100 * MB, usedBytes: 0, rssBytes: 0, loaded: 0, evictions: 0, displaced: [], updatedAt: at };
  await client.put(keys.nodeMemory('n1')).value(JSON.stringify(memory));
  await seed(client, keys, 'a', ['v1']);
  const { keeper: k } = keeper(client, keys);
  await k.passOnce();
  t.deepEqual(nodesOf((await placements(client, keys)).get('a/v1')), ['n1']);
});

test('a version no longer routed, or retired, loses its placement; shadows and rollouts are placed', async (t) => {
  const { client } = etcd();
  const keys = freshKeys();
  await putNode(client, keys, 'n1', 500);
  await seed(client, keys, 'a', ['v1', 'v2', 'v3']);
  const route = (splits: RouteRecord['splits'], shadows: string[] = []): RouteRecord => ({
    model: 'a',
    splits,
    updatedAt: at,
    updatedBy: 'test',
    shadows: shadows.map((version) => ({ version, fraction: 1, until: null, budget: null, tolerance: 0, addedAt: at, addedBy: 'test', auto: false })),
    rollout: null,
  });
  await client.put(keys.route('a')).value(JSON.stringify(route([{ version: 'v1', weight: 10_000 }, { version: 'v2', weight: 0 }], ['v3'])));
  const { keeper: k } = keeper(client, keys);
  await k.passOnce();
  t.deepEqual([...(await placements(client, keys)).keys()].sort(), ['a/v1', 'a/v2', 'a/v3']);

  await client.put(keys.route('a')).value(JSON.stringify(route([{ version: 'v1', weight: 10_000 }])));
  await k.passOnce();
  t.deepEqual([...(await placements(client, keys)).keys()], ['a/v1']);
  t.is(k.counts.deleted, 2);

  const retired = { ...versionRecord('a', 'v1', { createdAt: at }), retirement: { state: 'RETIRED', activeSince: null, warnedAt: at, retiredAt: at, reason: 'test', artifactDeleteAfter: null, artifactDeletedAt: null } };
  await client.put(keys.version('a', 'v1')).value(JSON.stringify(retired));
  await k.passOnce();
  t.is((await placements(client, keys)).size, 0);
});

test('request rates add copies, up to the model maximum', async (t) => {
  const { client } = etcd();
  const keys = freshKeys();
  for (const id of ['n1', 'n2', 'n3']) await putNode(client, keys, id, 100);
  await seed(client, keys, 'a', ['v1']);
  const { keeper: k } = keeper(client, keys);
  for (const node of ['n1', 'n2']) {
    const usage: UsageRecord = { model: 'a', version: 'v1', nodeId: node, lastPrimaryAt: at, lastShadowAt: null, ratePerSecond: 60, updatedAt: at };
    await client.put(keys.usage('a', 'v1', node)).value(JSON.stringify(usage));
  }
  await k.passOnce();
  t.is((await placements(client, keys)).get('a/v1')!.copies.length, 3, '120 req/s at 50 per copy');

  const model = JSON.parse((await client.get(keys.model('a')).string())!) as Record<string, unknown>;
  await client.put(keys.model('a')).value(JSON.stringify({ ...model, placement: { minCopies: 1, maxCopies: 2, alwaysResident: false } }));
  // Fewer copies only after the quiet period and the minimum age.
  await k.passOnce();
  t.is((await placements(client, keys)).get('a/v1')!.copies.length, 3);
});

test('a replica that does not lead writes nothing', async (t) => {
  const { client } = etcd();
  const keys = freshKeys();
  await putNode(client, keys, 'n1', 100);
  await seed(client, keys, 'a', ['v1']);
  const { keeper: k } = keeper(client, keys, new ManualClock(T0), false);
  await k.passOnce();
  t.is((await placements(client, keys)).size, 0);
});

test('a node whose lease ends loses its copies to the others at once (the watch wakes the leader)', async (t) => {
  const { client } = etcd();
  const keys = freshKeys();
  await seed(client, keys, 'a', ['v1']);
  const lease = client.lease(60);
  await putNode(client, keys, 'n1', 100, lease);
  // A long interval: only the watch can wake the placer in time.
  const { cp } = await startControlPlane(t, client, { keys, placementIntervalMs: 600_000 });
  await waitFor(() => cp.isLeader, { message: 'the control plane leads' });
  await waitFor(async () => nodesOf((await placements(client, keys)).get('a/v1'))?.[0] === 'n1', { message: 'placed on n1' });
  await putNode(client, keys, 'n2', 100);
  const started = Date.now();
  await lease.revoke();
  await waitFor(async () => nodesOf((await placements(client, keys)).get('a/v1'))?.[0] === 'n2', { message: 'placed again on n2', timeoutMs: 5000 });
  t.true(Date.now() - started < 5000);
});

test('a node set draining has its copies placed elsewhere within seconds while its lease still lives (the view wakes the placer)', async (t) => {
  const { client } = etcd();
  const keys = freshKeys();
  await seed(client, keys, 'a', ['v1']);
  const lease = client.lease(60);
  await putNode(client, keys, 'n1', 100, lease);
  // A long interval: only the view's watch can wake the placer in time.
  const { logger } = capturingLogger();
  const tables = new EtcdTables({ etcd: client, keys, logger });
  const k = new PlacementKeeper({ tables, leadership: new StaticLeadership(true), clock: new ManualClock(T0), logger, intervalMs: 600_000, debounceMs: 50 });
  k.start();
  t.teardown(() => k.stop());
  await waitFor(async () => nodesOf((await placements(client, keys)).get('a/v1'))?.[0] === 'n1', { message: 'placed on n1' });
  await putNode(client, keys, 'n2', 100);

  const record = JSON.parse((await client.get(keys.node('n1')).string())!) as NodeRecord;
  const started = Date.now();
  await lease.put(keys.node('n1')).value(JSON.stringify({ ...record, draining: true }));
  await waitFor(async () => nodesOf((await placements(client, keys)).get('a/v1'))?.join() === 'n2', { message: 'placed again on n2', timeoutMs: 5000 });
  t.true(Date.now() - started < 5000);
  t.truthy(await client.get(keys.node('n1')).string(), "n1's lease still lives");
  t.true(k.viewChanges > 0, 'the watch-fed view saw the change');
  await lease.revoke();
});

test('a copy its node displaced is placed on another node soon after the memory record lists it', async (t) => {
  const { client } = etcd();
  const keys = freshKeys();
  await seed(client, keys, 'a', ['v1']);
  await putNode(client, keys, 'n1', 1000);
  const { logger } = capturingLogger();
  const tables = new EtcdTables({ etcd: client, keys, logger });
  const k = new PlacementKeeper({ tables, leadership: new StaticLeadership(true), clock: new ManualClock(T0), logger, intervalMs: 600_000, debounceMs: 50 });
  k.start();
  t.teardown(() => k.stop());
  await waitFor(async () => nodesOf((await placements(client, keys)).get('a/v1'))?.join() === 'n1', { message: 'placed on n1' });
  await putNode(client, keys, 'n2', 100);

  const memory: NodeMemoryRecord = { nodeId: 'n1', budgetBytes: 1000 * MB, usedBytes: 0, rssBytes: 0, loaded: 0, evictions: 1, displaced: ['a/v1'], updatedAt: at };
  await client.put(keys.nodeMemory('n1')).value(JSON.stringify(memory));
  await waitFor(async () => nodesOf((await placements(client, keys)).get('a/v1'))?.join() === 'n2', { message: 'placed on n2, though n1 has more room', timeoutMs: 5000 });
  t.is((await placements(client, keys)).get('a/v1')!.reason, '');
});
