import anyTest, { type TestFn } from 'ava';
import * as grpc from '@grpc/grpc-js';
import { join } from 'node:path';
import { encodeRaw, FORWARDED_METADATA_KEY, type ModelInferResponse } from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import { clientCredentials, inferenceService } from '@switchyard/core/grpc';
import { silentLogger } from '@switchyard/core/logging';
import { PredictionNode } from '@switchyard/prediction-node';
import { expectedLinear, generateTestCertificates, linearModel, removeDir, waitFor, type TestCertificates } from '@switchyard/testkit';
import { outputValues, TestCluster } from './helpers/cluster.js';

/**
 * Forwarding between nodes that serve mutual TLS (issue #16): a node that
 * does not hold a version forwards over TLS, verifying the holder's
 * certificate with --peer-tls-ca and presenting --peer-tls-cert; a node
 * trusting another CA cannot verify the holder and loads the version itself.
 * Certificates are generated for the test (openssl).
 */
const test = (anyTest as TestFn).serial;

let certs: TestCertificates;
let cluster: TestCluster;
let version: string;
const W = [1, 2, 3];
const ROW = [1, 0.5, -2];

test.before(async () => {
  certs = await generateTestCertificates();
  const client = { caFile: certs.caFile, certFile: certs.clientCertFile, keyFile: certs.clientKeyFile };
  cluster = await TestCluster.start({
    nodes: 2,
    placeEverywhere: false,
    waitReady: true,
    inferenceAccess: { tls: client },
    nodeOptions: { tls: { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile, clientCaFile: certs.caFile }, peerTls: client },
  });
  // No placed copy: node-2 loads it for a request marked as forwarded already, so node-1 lacks it.
  await cluster.admin.createModel({ name: 'far', placement: { min_copies: 0, max_copies: 0, always_resident: false } });
  version = await cluster.createVersion('far', linearModel({ weights: W, bias: 0.5 }));
  await cluster.setRoute('far', { [version]: 10_000 });
  await waitFor(async () => (await infer(cluster.nodeClients[1]!, true).then(() => true, () => false)), { timeoutMs: 15_000, message: 'node-2 loaded far' });
  await waitFor(async () => (await cluster.status('node-2', 'far', version))?.state === 'READY', { timeoutMs: 15_000, message: 'far READY on node-2 in etcd' });
});
test.after.always(async () => {
  await cluster?.stop();
  if (certs) await removeDir(certs.dir);
});

function infer(client: grpc.Client, forwarded = false): Promise<ModelInferResponse> {
  const c = client as unknown as Record<string, Function>;
  const metadata = new grpc.Metadata();
  if (forwarded) metadata.set(FORWARDED_METADATA_KEY, 'the-test');
  const request = { model_name: 'far', model_version: '', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3] }], raw_input_contents: [encodeRaw(Float32Array.from(ROW))] };
  return new Promise((resolve, reject) =>
    c['ModelInfer']!.call(client, request, metadata, { deadline: Date.now() + 20_000 }, (err: grpc.ServiceError | null, res: ModelInferResponse) => (err ? reject(err) : resolve(res))),
  );
}

async function forwards(node: PredictionNode, outcome: string): Promise<number> {
  const metric = await node.metrics.registry.getSingleMetric('switchyard_forwards_total')?.get();
  return metric?.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
}

test('a node serving mutual TLS forwards over TLS to the holder, verified by its peer CA', async (t) => {
  const before = await forwards(cluster.nodes[0]!, 'ok');
  const response = await infer(cluster.nodeClients[0]!);
  t.is(response.model_version, version);
  t.deepEqual(outputValues(response, 'y'), expectedLinear(W, 0.5, [ROW]));
  t.is((await forwards(cluster.nodes[0]!, 'ok')) - before, 1);
  t.false(cluster.nodes[0]!.table.versions.has(`far/${version}`), 'node-1 forwarded rather than loading');
});

test('a node trusting another CA cannot verify the holder: it does not forward in the clear or unverified, it loads the version itself', async (t) => {
  const etcd = createEtcdClient({ endpoints: cluster.etcd.endpoint });
  const node = await PredictionNode.create({
    etcd,
    keys: cluster.keys,
    id: 'node-other-ca',
    dataDir: join(cluster.dir, 'node-other-ca'),
    logger: silentLogger(),
    leaseTtlSeconds: 5,
    loadRetryMinMs: 200,
    drainGraceMs: 0,
    tls: { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile },
    peerTls: { caFile: certs.otherCaFile, certFile: certs.clientCertFile, keyFile: certs.clientKeyFile },
  });
  const access = clientCredentials({ tls: { caFile: certs.caFile } });
  const client = new (inferenceService())(node.address, access.credentials, access.options);
  t.teardown(async () => {
    client.close();
    await node.stop(500);
    etcd.close();
  });
  await node.ready(20_000);
  const response = await infer(client);
  t.deepEqual(outputValues(response, 'y'), expectedLinear(W, 0.5, [ROW]));
  t.is(await forwards(node, 'ok'), 0);
  t.is(await forwards(node, 'unreachable'), 1, 'the handshake failed, so the holder counted as unreachable');
  t.true(node.table.versions.has(`far/${version}`), 'loaded here instead');
});
