import anyTest, { type TestFn } from 'ava';
import { KeyLayout, RouteRecordSchema } from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import { createLogger } from '@switchyard/core/logging';
import { makeTempDir, removeDir } from '@switchyard/testkit';
import { PredictionNode } from '../src/prediction-node.js';
import { useRealEtcd } from './helpers/real-etcd.js';

const test = (anyTest as TestFn).serial;
const logger = createLogger({ component: 'test', silent: true });

const etcdProcess = useRealEtcd(test);

test('a rollout naming versions the node never loaded adds no series for them to /metrics', async (t) => {
  const etcd = createEtcdClient({ endpoints: etcdProcess().endpoint, callTimeoutMs: 2000 });
  t.teardown(() => etcd.close());
  const keys = new KeyLayout('/rollout-no-series/');
  const at = '2026-01-01T00:00:00.000Z';
  // Parsed, so fields added to the schema later get their defaults.
  const route = RouteRecordSchema.parse({
    model: 'm',
    splits: [{ version: 'v1', weight: 9000 }, { version: 'v2', weight: 1000 }],
    updatedAt: at,
    updatedBy: '',
    shadows: [],
    rollout: {
      id: 'r1',
      from: 'v1',
      to: 'v2',
      steps: [10, 100],
      stepIndex: 0,
      stepStartedAt: at,
      minStepSeconds: 1,
      minStepRequests: 1,
      progressDeadlineSeconds: 0,
      gates: {},
      state: 'PROGRESSING',
      reason: '',
      lastFigures: null,
      startedAt: at,
      startedBy: '',
      updatedAt: at,
    },
  });
  await etcd.put(keys.route('m')).value(JSON.stringify(route));

  const dataDir = await makeTempDir('switchyard-rollout-series-');
  t.teardown(() => removeDir(dataDir));
  // A long interval: the test drives the publisher's ticks itself.
  const node = await PredictionNode.create({ etcd, keys, dataDir, logger, drainGraceMs: 0, statsIntervalMs: 3_600_000 });
  t.teardown(() => node.stop());
  await node.ready();

  await node.statsPublisher.tick();
  await node.statsPublisher.tick();
  const text = await node.metrics.registry.metrics();
  t.false(/version="v[12]"/.test(text), 'no series for versions this node has not loaded');
  t.is(node.statsPublisher.writes, 0, 'nothing served: nothing written');
});
