import anyTest, { type TestFn } from 'ava';
import { HistoryEntryRecordSchema, parseStored, type HistoryEntryRecord, type KeyLayout } from '@switchyard/core';
import { silentLogger } from '@switchyard/core/logging';
import { makeTempDir, removeDir, waitFor } from '@switchyard/testkit';
import type { Etcd3 } from 'etcd3';
import { FileArtifactStore } from '../src/artifact-store-file.js';
import { StaticLeadership } from '../src/leader-election.js';
import { resolveRetirementOptions } from '../src/retirement-options.js';
import { createRetirement } from '../src/retirement.js';
import { readRetirementView } from '../src/retirement-view.js';
import { TargetStateStore } from '../src/target-state-store.js';
import { freshKeys, startControlPlane, useEtcd } from './helpers/harness.js';
import { ManualClock, seedModel, versionRecord } from './helpers/seed.js';

// Two control planes sweeping the same cluster at once: each step happens once.
const test = anyTest as TestFn;
const etcd = useEtcd(test);
const DAY_MS = 86_400_000;
const T0 = Date.parse('2026-01-01T00:00:00.000Z');

const sha = (n: number): string => n.toString(16).padStart(64, '0');

/** Model `m` with v1 (all the weight) and v2..v5 unrouted, written straight to etcd. */
async function seed(client: Etcd3, keys: KeyLayout): Promise<void> {
  const at = new Date(T0).toISOString();
  const versions = [1, 2, 3, 4, 5].map((i) => versionRecord('m', `v${i}`, { sha256: sha(i), width: 3, createdAt: at }));
  await seedModel(client, keys, { model: 'm', owner: 'team-x', routed: 'v1', versions, at });
}

async function historyOf(client: Etcd3, keys: KeyLayout): Promise<HistoryEntryRecord[]> {
  const raw = await client.getAll().prefix(keys.historyPrefix('m')).strings();
  return Object.values(raw).flatMap((value) => {
    const parsed = parseStored(HistoryEntryRecordSchema, value);
    return parsed.ok ? [parsed.value] : [];
  });
}

const countBy = (entries: HistoryEntryRecord[], action: string): Map<string, number> => {
  const counts = new Map<string, number>();
  for (const e of entries) if (e.action === action) counts.set(e.version, (counts.get(e.version) ?? 0) + 1);
  return counts;
};

test('two sweepers that both believe they lead race on every step; compare-and-swap lets each step happen once', async (t) => {
  const { client } = etcd();
  const keys = freshKeys();
  await seed(client, keys);
  const clock = new ManualClock(T0);
  const logger = silentLogger();
  const dirs: string[] = [];
  const replica = async () => {
    const dir = await makeTempDir('switchyard-retire-');
    dirs.push(dir);
    const artifacts = await FileArtifactStore.create({ dataDir: dir, logger, clock });
    const state = new TargetStateStore({ etcd: client, keys, logger });
    return createRetirement({ tables: state.tables, artifacts, leadership: new StaticLeadership(true), clock, logger, options: resolveRetirementOptions() });
  };
  const [a, b] = [await replica(), await replica()];
  t.teardown(() => Promise.all(dirs.map((d) => removeDir(d))));

  clock.ms = T0 + 24 * DAY_MS;
  const warn = await Promise.all([a.sweeper.sweepOnce(), b.sweeper.sweepOnce()]);
  t.is(warn[0].warned.length + warn[1].warned.length, 5, 'five warnings between the two');
  clock.ms = T0 + 32 * DAY_MS;
  // v1's retirement changes the route, which the other four do not touch: several sweeps may be needed.
  for (let i = 0; i < 5; i++) await Promise.all([a.sweeper.sweepOnce(), b.sweeper.sweepOnce()]);

  const entries = await historyOf(client, keys);
  const warned = countBy(entries, 'WarnExpiring');
  const retired = countBy(entries, 'RetireVersion');
  for (let i = 1; i <= 5; i++) {
    t.is(warned.get(`v${i}`), 1, `v${i} warned once`);
    t.is(retired.get(`v${i}`), 1, `v${i} retired once`);
  }
  t.is(entries.filter((e) => e.action === 'RetireModel').length, 1);
  t.is(((await a.counters.retired.get()).values[0]?.value ?? 0) + ((await b.counters.retired.get()).values[0]?.value ?? 0), 5);
});

test('two control planes with the real election: one sweeps, and a retirement is recorded once', async (t) => {
  const { client } = etcd();
  const keys = freshKeys();
  await seed(client, keys);
  const clock = new ManualClock(T0 + 24 * DAY_MS);
  const options = { keys, clock, retirement: { sweepIntervalMs: 20 } };
  const [one, two] = [await startControlPlane(t, client, options), await startControlPlane(t, client, options)];
  await waitFor(() => one.cp.isLeader || two.cp.isLeader, { message: 'a leader' });
  t.false(one.cp.isLeader && two.cp.isLeader);
  await waitFor(async () => countBy(await historyOf(client, keys), 'WarnExpiring').size === 5, { message: 'five warnings' });
  clock.ms = T0 + 32 * DAY_MS;
  await waitFor(async () => countBy(await historyOf(client, keys), 'RetireVersion').size === 5, { message: 'five retirements' });
  // A few more sweeps of both: nothing is done twice.
  await new Promise((r) => setTimeout(r, 200));
  const entries = await historyOf(client, keys);
  for (const [action, counts] of [['WarnExpiring', countBy(entries, 'WarnExpiring')], ['RetireVersion', countBy(entries, 'RetireVersion')]] as const) {
    t.deepEqual([...counts.values()], [1, 1, 1, 1, 1], action);
  }
});

test('a retirement decided before a use (or an admin change) lands is refused by its compare-and-swap', async (t) => {
  const { client } = etcd();
  const keys = freshKeys();
  await seed(client, keys);
  const clock = new ManualClock(T0 + 40 * DAY_MS);
  const logger = silentLogger();
  const dir = await makeTempDir('switchyard-retire-');
  t.teardown(() => removeDir(dir));
  const artifacts = await FileArtifactStore.create({ dataDir: dir, logger, clock });
  const state = new TargetStateStore({ etcd: client, keys, logger });
  const { actions } = createRetirement({ tables: state.tables, artifacts, leadership: new StaticLeadership(true), clock, logger, options: resolveRetirementOptions() });

  const view = await readRetirementView(client, keys, logger);
  const v2 = view.versions.find((v) => v.value.version === 'v2')!;
  const v3 = view.versions.find((v) => v.value.version === 'v3')!;
  // A node reports a use of v2 after the read; an admin pins v3 after the read.
  await client.put(keys.usage('m', 'v2', 'node-9')).value(
    JSON.stringify({ nodeId: 'node-9', model: 'm', version: 'v2', lastPrimaryAt: new Date(clock.now()).toISOString(), lastShadowAt: null, updatedAt: new Date(clock.now()).toISOString() }),
  );
  await client.put(keys.version('m', 'v3')).value(JSON.stringify({ ...v3.value, pinned: true }));

  const cause = { actor: 'retirement-sweeper', reason: 'expired', guardUsage: true };
  t.is((await actions.retire(view, v2, cause)).outcome, 'conflict', 'used after the read');
  t.is((await actions.retire(view, v3, cause)).outcome, 'conflict', 'changed after the read');
  t.is((await actions.warn(view, v2, { reason: 'x', retireAtMs: undefined })), 'conflict');
  const entries = await historyOf(client, keys);
  t.deepEqual(entries.filter((e) => e.version === 'v2' || e.version === 'v3'), [], 'nothing written');
  // Decided again from a fresh read, the use counts: v2 is not even due.
  const fresh = await readRetirementView(client, keys, logger);
  t.is(fresh.usage.get('m/v2')?.lastPrimaryMs, clock.now());
});
