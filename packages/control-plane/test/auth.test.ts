import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import * as grpc from '@grpc/grpc-js';
import { generateToken, hashToken, SwitchyardError } from '@switchyard/core';
import { adminService, artifactService, clientCredentials } from '@switchyard/core/grpc';
import { linearModel, makeTempDir, removeDir } from '@switchyard/testkit';
import { ControlPlane } from '../src/index.js';
import {
  capturingLogger,
  fetchArtifact,
  freshKeys,
  startControlPlane,
  unary,
  upload,
  useEtcd,
  type AnyClient,
  type TestControlPlane,
} from './helpers/harness.js';

const test = anyTest as TestFn;
const etcd = useEtcd(test);

const TOKENS = { viewer: generateToken(), deployer: generateToken(), admin: generateToken() };
const TOKENS_JSON = JSON.stringify({
  tokens: [
    { name: 'vera', role: 'viewer', sha256: hashToken(TOKENS.viewer) },
    { name: 'dan', role: 'deployer', sha256: hashToken(TOKENS.deployer) },
    { name: 'ada', role: 'admin', sha256: hashToken(TOKENS.admin) },
  ],
});

interface SecuredControlPlane extends TestControlPlane {
  /** A ModelAdmin client sending `token` (none when undefined). */
  as(token: string | undefined): AnyClient;
  /** An ArtifactService client sending `token`. */
  artifactsAs(token: string | undefined): AnyClient;
}

async function startSecured(t: ExecutionContext): Promise<SecuredControlPlane> {
  const harness = await startControlPlane(t, etcd().client, { auth: { tokensJson: TOKENS_JSON } });
  const clients: grpc.Client[] = [];
  const make = (service: grpc.ServiceClientConstructor, token: string | undefined): AnyClient => {
    const access = clientCredentials(token === undefined ? {} : { token });
    const client = new service(harness.cp.address, access.credentials, access.options);
    clients.push(client);
    return client as unknown as AnyClient;
  };
  t.teardown(() => clients.forEach((c) => c.close()));
  return { ...harness, as: (token) => make(adminService(), token), artifactsAs: (token) => make(artifactService(), token) };
}

/** The status a call failed with, or an error if it succeeded. */
async function statusOf(promise: Promise<unknown>): Promise<{ code: grpc.status | undefined; details: string | undefined }> {
  try {
    await promise;
  } catch (err) {
    return { code: (err as grpc.ServiceError).code, details: (err as grpc.ServiceError).details };
  }
  throw new Error('the call succeeded');
}

const UNAUTHENTICATED = { code: grpc.status.UNAUTHENTICATED, details: 'missing or unknown token; pass one with --token or SWITCHYARD_TOKEN' };

/** Uploads a model and creates version v1 of `model` as admin; returns the artifact's sha256. */
async function deployVersion(cp: SecuredControlPlane, model: string): Promise<string> {
  const { sha256 } = await upload(cp.as(TOKENS.admin), linearModel({ weights: [2], bias: 1 }));
  await unary(cp.as(TOKENS.admin), 'CreateVersion', { model, artifact_sha256: sha256 });
  return sha256;
}

test('a missing or unknown token is UNAUTHENTICATED, the same for an existing and a missing model', async (t) => {
  const cp = await startSecured(t);
  await deployVersion(cp, 'exists');
  for (const client of [cp.as(undefined), cp.as(generateToken())]) {
    const existing = await statusOf(unary(client, 'ListVersions', { model: 'exists' }));
    const missing = await statusOf(unary(client, 'ListVersions', { model: 'no-such-model' }));
    t.deepEqual(existing, UNAUTHENTICATED);
    t.deepEqual(missing, UNAUTHENTICATED);
    t.deepEqual(await statusOf(unary(client, 'GetRoute', { model: 'exists' })), UNAUTHENTICATED);
    t.deepEqual(await statusOf(unary(client, 'GetRoute', { model: 'no-such-model' })), UNAUTHENTICATED);
  }
  // Only an authenticated caller learns that a model does not exist.
  t.is((await statusOf(unary(cp.as(TOKENS.viewer), 'GetRoute', { model: 'no-such-model' }))).code, grpc.status.NOT_FOUND);
  t.like(await unary(cp.as(TOKENS.viewer), 'ListVersions', { model: 'exists' }), { versions: [{ version: 'v1' }] });
});

test('a viewer reads but cannot change routes; the refusal does not depend on the model existing', async (t) => {
  const cp = await startSecured(t);
  await deployVersion(cp, 'm');
  const viewer = cp.as(TOKENS.viewer);
  const denied = { code: grpc.status.PERMISSION_DENIED, details: "token 'vera' has role viewer; SetRoute needs deployer (ask an admin for a token with that role)" };
  const splits = [{ version: 'v1', weight: 10_000 }];
  t.deepEqual(await statusOf(unary(viewer, 'SetRoute', { model: 'm', splits })), denied);
  t.deepEqual(await statusOf(unary(viewer, 'SetRoute', { model: 'no-such-model', splits })), denied);
  t.like(await statusOf(upload(viewer, linearModel({ weights: [3], bias: 0 }))), { code: grpc.status.PERMISSION_DENIED });
  t.like(await unary(viewer, 'WhoAmI', {}), { name: 'vera', role: 'viewer', auth_enabled: true });
  t.like(await unary(viewer, 'GetVersion', { model: 'm', version: 'v1' }), { model: 'm', version: 'v1' });
});

test('a deployer creates versions and routes but cannot delete; an admin can', async (t) => {
  const cp = await startSecured(t);
  const deployer = cp.as(TOKENS.deployer);
  const { sha256 } = await upload(deployer, linearModel({ weights: [2], bias: 1 }));
  await unary(deployer, 'CreateVersion', { model: 'm', artifact_sha256: sha256 });
  await unary(deployer, 'CreateVersion', { model: 'm', artifact_sha256: sha256 });
  await unary(deployer, 'SetRoute', { model: 'm', splits: [{ version: 'v2', weight: 10_000 }] });
  t.deepEqual(await statusOf(unary(deployer, 'DeleteVersion', { model: 'm', version: 'v1' })), {
    code: grpc.status.PERMISSION_DENIED,
    details: "token 'dan' has role deployer; DeleteVersion needs admin (ask an admin for a token with that role)",
  });
  await t.notThrowsAsync(unary(cp.as(TOKENS.admin), 'DeleteVersion', { model: 'm', version: 'v1' }));
  t.like(await unary(cp.as(TOKENS.admin), 'WhoAmI', {}), { name: 'ada', role: 'admin' });
  t.true(cp.logs.some((r) => r['level'] === 'warn' && r['message'] === 'call refused' && String(r['error']).includes("'dan'")));
  t.false(JSON.stringify(cp.logs).includes(TOKENS.deployer), 'tokens never reach the logs');
});

test('FetchArtifact needs a token (viewer is enough); health checks need none', async (t) => {
  const cp = await startSecured(t);
  const sha256 = await deployVersion(cp, 'm');
  t.is((await statusOf(fetchArtifact(cp.artifactsAs(undefined), sha256))).code, grpc.status.UNAUTHENTICATED);
  t.true((await fetchArtifact(cp.artifactsAs(TOKENS.viewer), sha256)).bytes.byteLength > 0);

  const Health = grpc.makeGenericClientConstructor(
    {
      Check: {
        path: '/grpc.health.v1.Health/Check',
        requestStream: false,
        responseStream: false,
        requestSerialize: () => Buffer.alloc(0),
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    },
    'Health',
  );
  const health = new Health(cp.cp.address, grpc.credentials.createInsecure()) as unknown as AnyClient;
  t.teardown(() => health.close());
  const response = await unary<Buffer>(health, 'Check', {});
  t.is(response[1], 1, 'SERVING');
});

test('auth must be configured explicitly; turning it off logs a warning at start', async (t) => {
  const base = { etcd: etcd().client, dataDir: '/tmp/unused', keys: freshKeys() };
  await t.throwsAsync(ControlPlane.create({ ...base } as never), { instanceOf: TypeError, message: /auth is required: .*--tokens-file.*--insecure-no-auth/ });
  await t.throwsAsync(ControlPlane.create({ ...base, auth: {} }), { instanceOf: TypeError, message: /--tokens-file.*--insecure-no-auth/ });
  await t.throwsAsync(ControlPlane.create({ ...base, auth: { disabled: false } }), { instanceOf: TypeError, message: /--insecure-no-auth/ });
  await t.throwsAsync(ControlPlane.create({ ...base, auth: { disabled: true, tokensJson: TOKENS_JSON } }), {
    instanceOf: TypeError,
    message: /cannot be combined/,
  });

  const { cp, logs } = await startControlPlane(t, etcd().client, { auth: { disabled: true } });
  const warning = logs.find((r) => r['level'] === 'warn' && String(r['message']).startsWith('auth is disabled'));
  t.is(warning?.['message'], `auth is disabled: anyone who can reach ${cp.address} can change what is served`);
  const admin = new (adminService())(cp.address, grpc.credentials.createInsecure()) as unknown as AnyClient;
  t.teardown(() => admin.close());
  t.like(await unary(admin, 'WhoAmI', {}), { name: 'anonymous', role: 'admin', auth_enabled: false });
});

test('a bad or empty tokens file stops start-up with the file named', async (t) => {
  const dir = await makeTempDir('switchyard-cp-auth-');
  t.teardown(() => removeDir(dir));
  const file = join(dir, 'tokens.json');
  const start = (auth: { tokensFile?: string; tokensJson?: string }): Promise<ControlPlane> =>
    ControlPlane.create({ etcd: etcd().client, keys: freshKeys(), dataDir: join(dir, 'data'), logger: capturingLogger().logger, auth });

  await writeFile(file, JSON.stringify({ tokens: [{ name: 'alice', role: 'superuser', sha256: hashToken('x') }] }));
  const bad = await t.throwsAsync(start({ tokensFile: file }), { instanceOf: SwitchyardError });
  t.regex(bad?.message ?? '', /^INVALID_ARGUMENT: .*tokens\.json: tokens\[0\]\.role/);
  await t.throwsAsync(start({ tokensFile: join(dir, 'missing.json') }), { message: /FAILED_PRECONDITION: tokens file .*missing\.json does not exist/ });
  await t.throwsAsync(start({ tokensJson: '{"tokens":[]}' }), { message: /INVALID_ARGUMENT: no tokens were given/ });
});
