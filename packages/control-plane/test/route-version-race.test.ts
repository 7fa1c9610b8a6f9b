import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { status } from '@grpc/grpc-js';
import {
  HistoryEntryRecordSchema,
  type AddShadowRequest,
  RouteRecordSchema,
  type KeyLayout,
  type RouteRecord,
} from '@switchyard/core';
import { silentLogger } from '@switchyard/core/logging';
import { makeTempDir, removeDir } from '@switchyard/testkit';
import type { Etcd3 } from 'etcd3';
import { AdminService } from '../src/admin-service.js';
import { FileArtifactStore } from '../src/artifact-store-file.js';
import { StaticLeadership } from '../src/leader-election.js';
import { RolloutAdmin } from '../src/rollout-admin.js';
import { RolloutFiguresReader } from '../src/rollout-figures.js';
import { resolveRetirementOptions } from '../src/retirement-options.js';
import { createRetirement } from '../src/retirement.js';
import { readRetirementView } from '../src/retirement-view.js';
import { ShadowAdmin } from '../src/shadow-admin.js';
import { TargetStateStore } from '../src/target-state-store.js';
import { freshKeys, useEtcd } from './helpers/harness.js';
import { seedModel, versionRecord } from './helpers/seed.js';

// Route writes (SetRoute, StartRollout, AddShadow) racing the retirement of a
// version they add: the retirement is run between the write's check of the
// version and its commit, deterministically, through a store whose putRoute
// runs a hook first.
const test = anyTest as TestFn;
const etcd = useEtcd(test);
const T0 = Date.parse('2026-01-01T00:00:00.000Z');
const clock = { now: () => T0, sleep: () => new Promise<void>(() => undefined) };

/** The real store, with a hook run just before each route write and the outcome of each. */
class InterleavedStore extends TargetStateStore {
  beforePut: (() => Promise<void>) | undefined;
  readonly outcomes: string[] = [];

  override async putRoute(...args: Parameters<TargetStateStore['putRoute']>): ReturnType<TargetStateStore['putRoute']> {
    await this.beforePut?.();
    const outcome = await super.putRoute(...args);
    this.outcomes.push(outcome.status);
    return outcome;
  }
}

/** Model `m`: v1 has all the weight, v2 and v3 are not routed. */
async function setUp(t: ExecutionContext) {
  const { client } = etcd();
  const keys = freshKeys();
  const at = new Date(T0).toISOString();
  await seedModel(client, keys, { model: 'm', routed: 'v1', versions: ['v1', 'v2', 'v3'].map((v) => versionRecord('m', v, { createdAt: at })), at });

  const logger = silentLogger();
  const dir = await makeTempDir('switchyard-route-race-');
  t.teardown(() => removeDir(dir));
  const artifacts = await FileArtifactStore.create({ dataDir: dir, logger, clock });
  const state = new InterleavedStore({ etcd: client, keys, logger });
  const admin = new AdminService({ state, artifacts, logger, clock, maxArtifactBytes: 1 << 20, artifactPath: (s) => artifacts.path(s) });
  const { actions } = createRetirement({ tables: state.tables, artifacts, leadership: new StaticLeadership(true), clock, logger, options: resolveRetirementOptions() });
  const figures = new RolloutFiguresReader({ etcd: client, keys, logger });
  const rollouts = new RolloutAdmin({ state, figures, clock, logger });
  const shadows = new ShadowAdmin({ state, etcd: client, keys, logger, clock });

  /** The sweeper's retirement step, from a fresh read: the version key rewritten RETIRED; the route key is untouched when it does not reference the version. */
  const retire = async (name: string): Promise<void> => {
    const view = await readRetirementView(client, keys, logger);
    const v = view.versions.find((x) => x.value.model === 'm' && x.value.version === name)!;
    const { outcome } = await actions.retire(view, v, { actor: 'retirement-sweeper', reason: 'expired', guardUsage: false });
    if (outcome !== 'applied') throw new Error(`retire ${name}: ${outcome}`);
  };
  /** Runs `step` once, before the next route write only. */
  const once = (step: () => Promise<void>): void => {
    state.beforePut = async () => {
      state.beforePut = undefined;
      await step();
    };
  };
  return { client, keys, state, admin, rollouts, shadows, retire, once };
}

function shadowRequest(version: string): AddShadowRequest {
  return { model: 'm', version, fraction: 0.5, until: '', duration_seconds: 0, budget: 0, auto: false, expected_revision: 0 };
}

async function storedRoute(client: Etcd3, keys: KeyLayout): Promise<{ route: RouteRecord; revision: string }> {
  const kv = (await client.get(keys.route('m')).exec()).kvs[0]!;
  return { route: RouteRecordSchema.parse(JSON.parse(kv.value.toString('utf8'))), revision: kv.mod_revision };
}

async function historyActions(client: Etcd3, keys: KeyLayout): Promise<string[]> {
  const values = Object.values(await client.getAll().prefix(keys.historyPrefix('m')).strings());
  return values.map((v) => `${HistoryEntryRecordSchema.parse(JSON.parse(v)).action}`).sort();
}

test('SetRoute racing a retirement: a version retired between the check and the write is refused, and the route stays', async (t) => {
  const { client, keys, state, admin, retire, once } = await setUp(t);
  const before = await storedRoute(client, keys);
  once(() => retire('v2'));
  await t.throwsAsync(admin.setRoute({ model: 'm', splits: [{ version: 'v1', weight: 5000 }, { version: 'v2', weight: 5000 }], expected_revision: 0 }), {
    code: status.FAILED_PRECONDITION,
    message: /version v2 of model m is retired; unretire it with 'switchyard unretire m:v2'/,
  });
  t.deepEqual(state.outcomes, ['version-changed'], 'the write was refused by etcd; the check run again found v2 retired');
  t.deepEqual(await storedRoute(client, keys), before, 'the route was not written');
  t.deepEqual(await historyActions(client, keys), ['RetireVersion'], 'no SetRoute in the history');

  // The normal path: an untouched version is routed on the first attempt.
  const set = await admin.setRoute({ model: 'm', splits: [{ version: 'v1', weight: 5000 }, { version: 'v3', weight: 5000 }], expected_revision: 0 });
  t.deepEqual(set.splits, [{ version: 'v1', weight: 5000 }, { version: 'v3', weight: 5000 }]);
  t.deepEqual(state.outcomes, ['version-changed', 'written']);
});

test('SetRoute: a version changed but still routable between the check and the write is checked again and routed; one that never settles is ABORTED', async (t) => {
  const { client, keys, state, admin, once } = await setUp(t);
  // An admin pins v2 meanwhile: its key changes, it is still routable.
  once(async () => {
    await client.put(keys.version('m', 'v2')).value(JSON.stringify({ ...versionRecord('m', 'v2', { createdAt: new Date(T0).toISOString() }), pinned: true }));
  });
  const set = await admin.setRoute({ model: 'm', splits: [{ version: 'v1', weight: 5000 }, { version: 'v2', weight: 5000 }], expected_revision: 0 });
  t.deepEqual(set.splits, [{ version: 'v1', weight: 5000 }, { version: 'v2', weight: 5000 }]);
  t.deepEqual(state.outcomes, ['version-changed', 'written']);

  state.outcomes.length = 0;
  state.beforePut = async () => {
    await client.put(keys.version('m', 'v3')).value(JSON.stringify(versionRecord('m', 'v3', { createdAt: new Date(T0).toISOString() })));
  };
  await t.throwsAsync(admin.setRoute({ model: 'm', splits: [{ version: 'v3', weight: 10_000 }], expected_revision: 0 }), {
    code: status.ABORTED,
    message: /kept changing while the route was being set.*; retry/,
  });
  state.beforePut = undefined;
  t.true(state.outcomes.length > 1 && state.outcomes.every((o) => o === 'version-changed'), state.outcomes.join(','));
  t.deepEqual((await storedRoute(client, keys)).route.splits, set.splits);
});

test('StartRollout racing the retirement of its new version is refused; so is a rollout to a retired version', async (t) => {
  const { client, keys, state, rollouts, retire, once } = await setUp(t);
  const before = await storedRoute(client, keys);
  once(() => retire('v2'));
  const start = { model: 'm', to_version: 'v2', from_version: '', steps: [50, 100], min_step_seconds: 1, min_step_requests: 1, gates: null };
  await t.throwsAsync(rollouts.startRollout(start), { code: status.FAILED_PRECONDITION, message: /version v2 of model m is retired; unretire it/ });
  t.deepEqual(state.outcomes, ['version-changed']);
  t.deepEqual(await storedRoute(client, keys), before, 'no rollout was stored');

  await t.throwsAsync(rollouts.startRollout(start), { code: status.FAILED_PRECONDITION, message: /is retired/ });
  t.deepEqual(state.outcomes, ['version-changed'], 'refused before any write');
  const started = await rollouts.startRollout({ ...start, to_version: 'v3' });
  t.is(started.state, 'PENDING');
});

test('AddShadow racing the retirement of the shadow is refused; a version that is not retired is added', async (t) => {
  const { client, keys, state, shadows, retire, once } = await setUp(t);
  once(() => retire('v3'));
  await t.throwsAsync(shadows.addShadow(shadowRequest('v3')), {
    code: status.FAILED_PRECONDITION,
    message: /version v3 of model m is retired; unretire it with 'switchyard unretire m:v3' before shadowing it/,
  });
  t.deepEqual(state.outcomes, ['version-changed']);
  t.deepEqual((await storedRoute(client, keys)).route.shadows, []);

  const added = await shadows.addShadow(shadowRequest('v2'));
  t.deepEqual(added.shadows.map((s) => s.version), ['v2']);
});
