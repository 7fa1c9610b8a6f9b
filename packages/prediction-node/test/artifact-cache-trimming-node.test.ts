import { createHash } from 'node:crypto';
import { access, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { KeyLayout, TOTAL_WEIGHT, VersionRecordSchema } from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import { createLogger } from '@switchyard/core/logging';
import { linearModel, makeTempDir, removeDir, waitFor } from '@switchyard/testkit';
import { PredictionNode } from '../src/prediction-node.js';
import { useRealEtcd } from './helpers/real-etcd.js';

const test = (anyTest as TestFn).serial;
const logger = createLogger({ component: 'test', silent: true });

const etcdProcess = useRealEtcd(test);

const exists = (path: string): Promise<boolean> => access(path).then(
  () => true,
  () => false,
);

test("a retired version's cached artifact is removed from the node's disk after the grace; the served one stays", async (t) => {
  const etcd = createEtcdClient({ endpoints: etcdProcess().endpoint, callTimeoutMs: 2000 });
  t.teardown(() => etcd.close());
  const keys = new KeyLayout('/cache-trimming/');
  const dataDir = await makeTempDir('switchyard-cache-trimming-');
  t.teardown(() => removeDir(dataDir));

  // The artifacts are in the node's cache already (as if downloaded by an earlier run): no control plane needed.
  const cached = join(dataDir, 'artifacts', 'sha256');
  await mkdir(cached, { recursive: true });
  const versions = ['v1', 'v2'].map((version, i) => {
    const bytes = linearModel({ weights: [1 + i, 2, 3], bias: 0 });
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    const record = VersionRecordSchema.parse({
      model: 'm',
      version,
      artifact: { sha256, size: bytes.length },
      signature: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }] },
      createdAt: new Date().toISOString(),
    });
    return { version, bytes, path: join(cached, sha256), record };
  });
  const [retired, served] = versions as [(typeof versions)[0], (typeof versions)[0]];
  for (const v of versions) {
    await writeFile(v.path, v.bytes);
    await etcd.put(keys.version('m', v.version)).value(JSON.stringify(v.record));
  }
  const route = { model: 'm', splits: [{ version: 'v2', weight: TOTAL_WEIGHT }], updatedAt: new Date().toISOString() };
  await etcd.put(keys.route('m')).value(JSON.stringify(route));
  // Placed on this node (issue #16), as the control plane's placer would.
  const now = new Date().toISOString();
  await etcd.put(keys.placement('m', 'v2')).value(JSON.stringify({ model: 'm', version: 'v2', copies: [{ nodeId: 'n1', since: now }], updatedAt: now }));

  const node = await PredictionNode.create({
    etcd,
    keys,
    id: 'n1',
    dataDir,
    logger,
    drainGraceMs: 0,
    artifactCacheGraceMs: 300,
    artifactCacheTrimIntervalMs: 50,
  });
  t.teardown(() => node.stop());
  await node.ready();
  await waitFor(() => node.table.versions.has('m/v2'), { message: 'v2 loaded' });
  t.true(await exists(retired.path), 'an ACTIVE version record refers to it: kept, though not loaded');

  // Retirement marks the version record RETIRED (and keeps it); the node never loaded it.
  const at = new Date().toISOString();
  const retiredRecord = { ...retired.record, retirement: { state: 'RETIRED', activeSince: null, warnedAt: at, retiredAt: at, reason: 'expired', artifactDeleteAfter: at, artifactDeletedAt: null } };
  await etcd.put(keys.version('m', 'v1')).value(JSON.stringify(retiredRecord));
  await waitFor(async () => !(await exists(retired.path)), { timeoutMs: 20_000, message: "the retired version's artifact to be removed" });
  t.true(await exists(served.path), 'the served version stays');
  const text = await node.metrics.registry.metrics();
  t.regex(text, new RegExp(`switchyard_node_artifact_cache_removed_bytes_total\\{[^}]*\\} ${retired.bytes.length}\\b`));
  t.regex(text, new RegExp(`switchyard_node_artifact_cache_bytes\\{[^}]*\\} ${served.bytes.length}\\b`));
});
