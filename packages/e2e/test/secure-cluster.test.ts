import { join } from 'node:path';
import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { generateToken, hashToken } from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import { inferenceService } from '@switchyard/core/grpc';
import { silentLogger } from '@switchyard/core/logging';
import { AdminClient, InferenceClient } from '@switchyard/client';
import { PredictionNode } from '@switchyard/prediction-node';
import { expectedLinear, generateTestCertificates, linearModel, removeDir, waitFor, type TestCertificates } from '@switchyard/testkit';
import { TestCluster, outputValues } from './helpers/cluster.js';
import { unary } from './helpers/grpc-call.js';

const ADMIN_TOKEN = generateToken();
const NODE_TOKEN = generateToken();
const TOKENS_JSON = JSON.stringify({
  tokens: [
    { name: 'ops', role: 'admin', sha256: hashToken(ADMIN_TOKEN) },
    { name: 'nodes', role: 'viewer', sha256: hashToken(NODE_TOKEN) },
  ],
});
const W = [1, 2, 3];

let certs: TestCertificates;
let cluster: TestCluster;

test.before(async () => {
  certs = await generateTestCertificates();
  const serverTls = { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile };
  cluster = await TestCluster.start({
    nodes: 2,
    controlPlaneOptions: { auth: { tokensJson: TOKENS_JSON }, tls: serverTls },
    adminAccess: { token: ADMIN_TOKEN, tls: { caFile: certs.caFile } },
    inferenceAccess: { tls: { caFile: certs.caFile } },
    nodeOptions: { tls: serverTls, controlPlaneToken: NODE_TOKEN, controlPlaneTls: { caFile: certs.caFile } },
  });
});
test.after.always(async () => {
  await cluster?.stop();
  if (certs) await removeDir(certs.dir);
});

const x = (rows: number[][]) => ({ name: 'x', datatype: 'FP32' as const, shape: [rows.length, rows[0]!.length], data: Float32Array.from(rows.flat()) });

test.serial('deployed with an admin token over TLS, nodes fetch with their own token and serve ModelInfer over TLS', async (t) => {
  const version = await cluster.deploy('linear', linearModel({ weights: W, bias: 0.5 }));
  for (const node of cluster.nodes) t.is((await cluster.status(node.id, 'linear', version))?.state, 'READY');
  const rows = [[1, 1, 1], [0.5, -2, 4]];
  for (let i = 0; i < cluster.nodes.length; i++) {
    const res = await cluster.infer(i, 'linear', [x(rows)]);
    t.is(res.model_version, version);
    t.deepEqual(outputValues(res, 'y'), expectedLinear(W, 0.5, rows));
  }

  // The inference port speaks only TLS.
  const plaintext = new (inferenceService())(cluster.nodes[0]!.address, grpc.credentials.createInsecure());
  t.teardown(() => plaintext.close());
  const err = await t.throwsAsync(unary(plaintext, 'ServerReady', {}, 3000));
  t.is((err as grpc.ServiceError | undefined)?.code, grpc.status.UNAVAILABLE);
});

test.serial('a node without a token cannot fetch artifacts and reports why', async (t) => {
  await cluster.deploy('tokenless', linearModel({ weights: W, bias: 0 }));
  const etcd = createEtcdClient({ endpoints: cluster.etcd.endpoint });
  const node = await PredictionNode.create({
    etcd,
    keys: cluster.keys,
    id: 'node-without-token',
    dataDir: join(cluster.dir, 'node-without-token'),
    logger: silentLogger(),
    leaseTtlSeconds: 5,
    loadRetryMinMs: 200,
    controlPlaneTls: { caFile: certs.caFile },
  });
  t.teardown(async () => {
    await node.stop(500);
    etcd.close();
  });
  await waitFor(async () => (await cluster.status(node.id, 'tokenless', 'v1'))?.state === 'FAILED', { timeoutMs: 15_000, message: 'the tokenless node to report FAILED' });
  t.regex((await cluster.status(node.id, 'tokenless', 'v1'))!.error, /refused the node's artifact fetch \(missing or unknown token.*controlPlaneToken/);
});

test.serial('@switchyard/client: InferenceClient (nodes from etcd) and AdminClient with TLS and a token', async (t) => {
  const admin = AdminClient.connect(cluster.controlPlane.address, { token: ADMIN_TOKEN, tls: { caFile: certs.caFile }, tokenSource: 'the test' });
  t.teardown(() => admin.close());
  t.like(await admin.whoAmI(), { name: 'ops', role: 'admin', auth_enabled: true });
  const version = await cluster.deploy('client-tls', linearModel({ weights: W, bias: 1 }));

  const client = await InferenceClient.create({
    etcd: { client: cluster.client, keys: cluster.keys },
    token: NODE_TOKEN,
    tls: { caFile: certs.caFile },
    deadlineMs: 10_000,
  });
  t.teardown(() => client.close());
  // Health checks run over TLS too: both nodes become SERVING.
  await client.waitForReady(2, 15_000);
  const rows = [[2, 0, -1]];
  const result = await client.infer('client-tls', [x(rows)]);
  t.is(result.version, version);
  t.deepEqual(Array.from(result.outputs['y']!.data as Float32Array), expectedLinear(W, 1, rows));
  t.true(await client.serverReady());
  t.deepEqual((await client.modelMetadata('client-tls')).inputs.map((i) => i.name), ['x']);

  // Without the CA the nodes' certificates are not trusted: no node becomes SERVING.
  const untrusting = await InferenceClient.create({ nodes: cluster.nodes.map((n) => n.address), token: NODE_TOKEN, tls: {}, deadlineMs: 2000 });
  t.teardown(() => untrusting.close());
  await t.throwsAsync(untrusting.infer('client-tls', [x(rows)]), { message: /DEADLINE_EXCEEDED: no node was serving/ });
  t.true(untrusting.nodes.length === 2 && untrusting.nodes.every((n) => !n.serving));
});

test.serial('@switchyard/client: InferenceClient with a client certificate against a node that requires one (mutual TLS)', async (t) => {
  await cluster.deploy('mtls', linearModel({ weights: W, bias: 0 }));
  const etcd = createEtcdClient({ endpoints: cluster.etcd.endpoint });
  const node = await PredictionNode.create({
    etcd,
    keys: cluster.keys,
    id: 'node-mtls',
    dataDir: join(cluster.dir, 'node-mtls'),
    logger: silentLogger(),
    drainGraceMs: 0,
    tls: { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile, clientCaFile: certs.caFile },
    controlPlaneToken: NODE_TOKEN,
    controlPlaneTls: { caFile: certs.caFile },
  });
  t.teardown(async () => {
    await node.stop(500);
    etcd.close();
  });
  await waitFor(() => node.table.routes.has('mtls'), { timeoutMs: 15_000, message: 'the mTLS node serving mtls' });
  const rows = [[1, 2, 3]];
  const withCert = await InferenceClient.create({
    nodes: [node.address],
    token: NODE_TOKEN,
    tls: { caFile: certs.caFile, certFile: certs.clientCertFile, keyFile: certs.clientKeyFile },
  });
  t.teardown(() => withCert.close());
  t.deepEqual(Array.from((await withCert.infer('mtls', [x(rows)])).outputs['y']!.data as Float32Array), expectedLinear(W, 0, rows));

  const withoutCert = await InferenceClient.create({ nodes: [node.address], tls: { caFile: certs.caFile }, deadlineMs: 2000 });
  t.teardown(() => withoutCert.close());
  // The node refuses the handshake, health checks included: it never counts as SERVING.
  await t.throwsAsync(withoutCert.infer('mtls', [x(rows)]), { message: /DEADLINE_EXCEEDED: no node was serving/ });
  const untrusted = await InferenceClient.create({
    nodes: [node.address],
    tls: { caFile: certs.caFile, certFile: certs.untrustedClientCertFile, keyFile: certs.untrustedClientKeyFile },
    deadlineMs: 2000,
  });
  t.teardown(() => untrusted.close());
  await t.throwsAsync(untrusted.infer('mtls', [x(rows)]), { message: /DEADLINE_EXCEEDED: no node was serving/ });
});
