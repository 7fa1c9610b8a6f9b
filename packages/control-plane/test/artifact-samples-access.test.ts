import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import * as grpc from '@grpc/grpc-js';
import { generateToken, hashToken, type VersionMessage } from '@switchyard/core';
import { adminService, artifactService, clientCredentials } from '@switchyard/core/grpc';
import { linearModel } from '@switchyard/testkit';
import { fetchArtifact, startControlPlane, unary, upload, useEtcd, type AnyClient } from './helpers/harness.js';

const test = anyTest as TestFn;
const etcd = useEtcd(test);

const TOKENS = { viewer: generateToken(), node: generateToken(), deployer: generateToken(), admin: generateToken() };
const TOKENS_JSON = JSON.stringify({
  tokens: [
    { name: 'vera', role: 'viewer', sha256: hashToken(TOKENS.viewer) },
    { name: 'nodes', role: 'node', sha256: hashToken(TOKENS.node) },
    { name: 'dan', role: 'deployer', sha256: hashToken(TOKENS.deployer) },
    { name: 'ada', role: 'admin', sha256: hashToken(TOKENS.admin) },
  ],
});

/** A secured control plane holding a version with a samples document; clients by token. */
async function withSamples(t: ExecutionContext): Promise<{ model: string; samples: string; artifactsAs(token: string): AnyClient; adminAs(token: string): AnyClient }> {
  const harness = await startControlPlane(t, etcd().client, { auth: { tokensJson: TOKENS_JSON } });
  const clients: grpc.Client[] = [];
  const make = (service: grpc.ServiceClientConstructor, token: string): AnyClient => {
    const access = clientCredentials({ token });
    const client = new service(harness.cp.address, access.credentials, access.options);
    clients.push(client);
    return client as unknown as AnyClient;
  };
  t.teardown(() => clients.forEach((c) => c.close()));
  const deployer = make(adminService(), TOKENS.deployer);
  const { sha256 } = await upload(deployer, linearModel({ weights: [1, 2, 3], bias: 0.5 }));
  // Sample inputs may be real user data.
  const doc = { samples: [{ name: 'customer-42', inputs: { x: { datatype: 'FP32', data: [[52, 1, 180000]] } } }] };
  const version = await unary<VersionMessage>(deployer, 'CreateVersion', { model: 'm', artifact_sha256: sha256, samples_json: Buffer.from(JSON.stringify(doc)) });
  t.regex(version.samples_sha256, /^[0-9a-f]{64}$/);
  return {
    model: sha256,
    samples: version.samples_sha256,
    artifactsAs: (token) => make(artifactService(), token),
    adminAs: (token) => make(adminService(), token),
  };
}

test('a viewer fetches models but gets PERMISSION_DENIED on samples documents; node, deployer and admin tokens read them', async (t) => {
  const { model, samples, artifactsAs, adminAs } = await withSamples(t);
  const viewer = artifactsAs(TOKENS.viewer);
  t.true((await fetchArtifact(viewer, model)).bytes.byteLength > 0, 'models stay readable with a viewer token');

  const err = await t.throwsAsync(fetchArtifact(viewer, samples));
  const denied = err as grpc.ServiceError;
  t.is(denied.code, grpc.status.PERMISSION_DENIED);
  t.is(denied.details, "token 'vera' has role viewer; reading a samples document (sample inputs and golden outputs) through FetchArtifact needs node (ask an admin for a token with that role)");

  for (const token of [TOKENS.node, TOKENS.deployer, TOKENS.admin]) {
    const fetched = await fetchArtifact(artifactsAs(token), samples);
    t.regex(fetched.bytes.toString('utf8'), /customer-42/);
  }
  // The viewer still sees that the version has samples (their sha256), not what is in them.
  const version = await unary<VersionMessage>(adminAs(TOKENS.viewer), 'GetVersion', { model: 'm', version: 'v1' });
  t.is(version.samples_sha256, samples);
  // A node token reads like a viewer, and changes nothing.
  const refused = await t.throwsAsync(unary(adminAs(TOKENS.node), 'SetRoute', { model: 'm', splits: [{ version: 'v1', weight: 10_000 }] }));
  t.is((refused as grpc.ServiceError).code, grpc.status.PERMISSION_DENIED);
});
