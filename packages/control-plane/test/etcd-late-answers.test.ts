import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import type { Etcd3 } from 'etcd3';
import type { HistoryEntryRecord, RouteMessage, VersionMessage } from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import { linearModel, TcpProxy } from '@switchyard/testkit';
import { startControlPlane, unary, upload, useEtcd, type TestControlPlane } from './helpers/harness.js';

// etcd applies a write and answers after the client's deadline: the client
// cannot tell whether it applied. Every write must answer with what happened,
// once, however etcd3 or the guarded write retry it (issue #14).

const test = anyTest as TestFn;
const etcd = useEtcd(test);

/** The control plane's per-call deadline to etcd in these tests. */
const CALL_TIMEOUT_MS = 1000;

interface LateCluster {
  harness: TestControlPlane;
  proxy: TcpProxy;
  sha256: string;
}

/** A control plane that reaches etcd through a proxy that can answer late. */
async function lateCluster(t: ExecutionContext): Promise<LateCluster> {
  const proxy = await TcpProxy.start(etcd().process.clientPort);
  const client: Etcd3 = createEtcdClient({ endpoints: proxy.endpoint, callTimeoutMs: CALL_TIMEOUT_MS });
  t.teardown(async () => {
    client.close();
    await proxy.close();
  });
  const harness = await startControlPlane(t, client);
  const { sha256 } = await upload(harness.admin, linearModel({ weights: [2], bias: 1 }));
  return { harness, proxy, sha256 };
}

/**
 * The next transaction whose bytes carry this audit action is applied at
 * once, and its answer (with everything after it for a while) reaches the
 * control plane after its deadline.
 */
function answerLate(proxy: TcpProxy, action: string): void {
  const marker = Buffer.from(`"action":"${action}"`);
  proxy.delayAnswers({ delayMs: CALL_TIMEOUT_MS * 1.5, windowMs: CALL_TIMEOUT_MS * 0.4, trigger: (chunk) => chunk.includes(marker) });
}

/** The model's audit entries as stored, oldest first (read straight from etcd, not through the proxy). */
async function audit(keys: TestControlPlane['keys'], model: string): Promise<HistoryEntryRecord[]> {
  const { kvs } = await etcd().client.getAll().prefix(keys.historyPrefix(model)).exec();
  return kvs.map((kv) => JSON.parse(kv.value.toString()) as HistoryEntryRecord);
}

const actions = (entries: HistoryEntryRecord[], action: string): HistoryEntryRecord[] => entries.filter((e) => e.action === action);

test.serial('CreateVersion without a name, answered late: exactly one version, and the answer names it', async (t) => {
  const { harness, proxy, sha256 } = await lateCluster(t);
  answerLate(proxy, 'CreateVersion');
  const created = await unary<VersionMessage>(harness.admin, 'CreateVersion', { model: 'm', artifact_sha256: sha256 });
  t.is(proxy.triggers, 1, 'the transaction passed the proxy');
  t.is(created.version, 'v1');
  const versions = await etcd().client.getAll().prefix(harness.keys.versionsPrefix('m')).keys();
  t.deepEqual(versions, [harness.keys.version('m', 'v1')]);
  t.is(actions(await audit(harness.keys, 'm'), 'CreateVersion').length, 1);
});

test.serial('SetRoute with an expected revision, answered late: success with the stored revision, one audit entry', async (t) => {
  const { harness, proxy, sha256 } = await lateCluster(t);
  for (let i = 0; i < 2; i++) await unary(harness.admin, 'CreateVersion', { model: 'm', artifact_sha256: sha256 });
  const first = await unary<RouteMessage>(harness.admin, 'SetRoute', { model: 'm', splits: [{ version: 'v1', weight: 10_000 }] });

  answerLate(proxy, 'SetRoute');
  const splits = [{ version: 'v1', weight: 5000 }, { version: 'v2', weight: 5000 }];
  const set = await unary<RouteMessage>(harness.admin, 'SetRoute', { model: 'm', splits, expected_revision: first.revision });
  t.is(proxy.triggers, 1, 'the transaction passed the proxy');
  t.deepEqual(set.splits, splits);
  const kv = (await etcd().client.get(harness.keys.route('m')).exec()).kvs[0];
  t.is(String(set.revision), kv?.mod_revision ?? 'no route key');
  t.is(actions(await audit(harness.keys, 'm'), 'SetRoute').length, 2);
});

test.serial('SetRoute without a revision, answered late: one audit entry for one change', async (t) => {
  const { harness, proxy, sha256 } = await lateCluster(t);
  await unary(harness.admin, 'CreateVersion', { model: 'm', artifact_sha256: sha256 });
  answerLate(proxy, 'SetRoute');
  const set = await unary<RouteMessage>(harness.admin, 'SetRoute', { model: 'm', splits: [{ version: 'v1', weight: 10_000 }] });
  t.is(proxy.triggers, 1, 'the transaction passed the proxy');
  const kv = (await etcd().client.get(harness.keys.route('m')).exec()).kvs[0];
  t.is(String(set.revision), kv?.mod_revision ?? 'no route key');
  t.is(actions(await audit(harness.keys, 'm'), 'SetRoute').length, 1);
});

test.serial('DeleteVersion, answered late: success, the version is gone, one audit entry', async (t) => {
  const { harness, proxy, sha256 } = await lateCluster(t);
  for (let i = 0; i < 2; i++) await unary(harness.admin, 'CreateVersion', { model: 'm', artifact_sha256: sha256 });
  answerLate(proxy, 'DeleteVersion');
  await unary(harness.admin, 'DeleteVersion', { model: 'm', version: 'v2' });
  t.is(proxy.triggers, 1, 'the transaction passed the proxy');
  t.is((await etcd().client.get(harness.keys.version('m', 'v2')).exec()).kvs.length, 0);
  t.is(actions(await audit(harness.keys, 'm'), 'DeleteVersion').length, 1);
});
