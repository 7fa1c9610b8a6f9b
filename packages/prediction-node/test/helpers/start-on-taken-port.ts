/**
 * Child process of node-start-failure.test.ts: starts a node on a taken port
 * and prints how create() failed. It ends by itself only if the failed start
 * left no handle open (timer, socket, lease keep-alive, watch).
 * argv: etcd endpoint, key prefix, data dir, listen, metricsListen.
 */
import { KeyLayout, type SwitchyardError } from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import { capturingLogger } from '@switchyard/testkit';
import { PredictionNode } from '../../src/prediction-node.js';

const [endpoint, prefix, dataDir, listen, metricsListen] = process.argv.slice(2) as [string, string, string, string, string];
const etcd = createEtcdClient({ endpoints: endpoint });
const { logger, records } = capturingLogger();
try {
  await PredictionNode.create({ etcd, keys: new KeyLayout(prefix), dataDir, listen, metricsListen, logger, id: 'child-node', drainGraceMs: 0 });
  console.log(JSON.stringify({ started: true }));
} catch (err) {
  const error = err as SwitchyardError;
  console.log(JSON.stringify({ name: error.name, code: error.code, message: error.message, errorsLogged: records.filter((r) => r.level === 'error').length }));
} finally {
  etcd.close();
}
