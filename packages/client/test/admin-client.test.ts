import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import type { Etcd3 } from 'etcd3';
import { generateToken, GrpcStatus, hashToken, KeyLayout, sha256Hex, SwitchyardError } from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import { adminService } from '@switchyard/core/grpc';
import { silentLogger } from '@switchyard/core/logging';
import { ControlPlane } from '@switchyard/control-plane';
import { generateTestCertificates, linearModel, makeTempDir, removeDir, startEtcd, type EtcdProcess, type TestCertificates } from '@switchyard/testkit';
import { ADMIN_UNARY_METHODS, AdminClient, UPLOAD_CHUNK_BYTES } from '../src/index.js';

interface Context {
  etcd: EtcdProcess;
  clients: Etcd3[];
  dir: string;
  certs: TestCertificates;
  open: ControlPlane;
  secure: ControlPlane;
  admins: AdminClient[];
}

const test = anyTest as TestFn<Context>;

const ADMIN_TOKEN = generateToken();
const VIEWER_TOKEN = generateToken();
const TOKENS_JSON = JSON.stringify({
  tokens: [
    { name: 'ops', role: 'admin', sha256: hashToken(ADMIN_TOKEN) },
    { name: 'reader', role: 'viewer', sha256: hashToken(VIEWER_TOKEN) },
  ],
});
const MODEL = linearModel({ weights: [0.5, -1, 2], bias: 0.25 });

test.before(async (t) => {
  const etcd = await startEtcd();
  const dir = await makeTempDir('switchyard-client-test-');
  const certs = await generateTestCertificates();
  const clients: Etcd3[] = [];
  const client = (): Etcd3 => {
    const c = createEtcdClient({ endpoints: etcd.endpoint });
    clients.push(c);
    return c;
  };
  const open = await ControlPlane.create({
    etcd: client(),
    keys: new KeyLayout('/client-open/'),
    dataDir: join(dir, 'open'),
    logger: silentLogger(),
    auth: { disabled: true },
  });
  const secure = await ControlPlane.create({
    etcd: client(),
    keys: new KeyLayout('/client-secure/'),
    dataDir: join(dir, 'secure'),
    logger: silentLogger(),
    auth: { tokensJson: TOKENS_JSON },
    tls: { certFile: certs.serverCertFile, keyFile: certs.serverKeyFile },
  });
  t.context = { etcd, clients, dir, certs, open, secure, admins: [] };
});

test.after.always(async (t) => {
  for (const admin of t.context.admins ?? []) admin.close();
  await t.context.open?.stop();
  await t.context.secure?.stop();
  for (const c of t.context.clients ?? []) c.close();
  await t.context.etcd?.destroy();
  if (t.context.certs) await removeDir(t.context.certs.dir);
  if (t.context.dir) await removeDir(t.context.dir);
});

/** A client that test.after closes. */
function connect(t: { context: Context }, address: string, options: Parameters<typeof AdminClient.connect>[1] = {}): AdminClient {
  const admin = AdminClient.connect(address, options);
  t.context.admins.push(admin);
  return admin;
}

async function rejection(promise: Promise<unknown>): Promise<SwitchyardError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof SwitchyardError) return err;
    throw err;
  }
  throw new Error('expected a rejection');
}

test('the client has a method for every RPC of the ModelAdmin service', (t) => {
  const rpcs = Object.values(adminService().service).map((m) => m.path.split('/').pop());
  t.deepEqual([...rpcs].sort(), [...ADMIN_UNARY_METHODS, 'UploadArtifact'].sort());
  for (const name of ADMIN_UNARY_METHODS) {
    const method = name.charAt(0).toLowerCase() + name.slice(1);
    t.is(typeof (AdminClient.prototype as unknown as Record<string, unknown>)[method], 'function', method);
  }
  t.is(typeof AdminClient.prototype.uploadArtifact, 'function');
  t.is(typeof AdminClient.prototype.uploadBytes, 'function');
});

test.serial('auth off: the whole lifecycle of a model through the typed methods', async (t) => {
  const admin = connect(t, t.context.open.address, { source: 'test' });
  t.deepEqual(await admin.whoAmI(), { name: 'anonymous', role: 'admin', auth_enabled: false });

  const uploaded = await admin.uploadBytes(MODEL, { filename: 'linear.onnx' });
  t.is(uploaded.sha256, sha256Hex(MODEL));
  t.false(uploaded.existed);
  const samples = { samples: [{ name: 'ones', inputs: { x: { datatype: 'FP32', data: [[1, 1, 1]] } }, outputs: { y: { datatype: 'FP32', data: [[1.75]] } } }] };
  const v1 = await admin.createVersion({
    model: 'lin',
    artifact_sha256: uploaded.sha256,
    labels: { team: 'risk' },
    description: 'first',
    samples_json: Buffer.from(JSON.stringify(samples)),
    expires_after_seconds: 3600,
  });
  t.is(v1.version, 'v1');
  t.is(v1.validation?.state, 'PASSED');
  t.is(v1.validation?.samples, 1);
  t.deepEqual(v1.labels, { team: 'risk' });
  t.is(Number(v1.expires_after_seconds), 3600);
  t.deepEqual((await admin.getVersion('lin', 'v1')).artifact_sha256, uploaded.sha256);
  const v2 = await admin.createVersion({ model: 'lin', artifact_sha256: uploaded.sha256 });
  t.deepEqual((await admin.listVersions('lin')).versions.map((v) => v.version), ['v1', 'v2']);

  const route = await admin.setRoute({ model: 'lin', splits: [{ version: 'v1', weight: 9000 }, { version: v2.version, weight: 1000 }] });
  t.deepEqual((await admin.getRoute('lin')).splits, route.splits);
  const stale = await rejection(admin.setRoute({ model: 'lin', splits: [{ version: 'v1', weight: 10_000 }], expected_revision: '1' }));
  t.is(stale.code, GrpcStatus.ABORTED);
  await admin.setRoute({ model: 'lin', splits: [{ version: 'v1', weight: 10_000 }], expected_revision: route.revision });
  const status = await admin.getModelStatus('lin');
  t.is(status.model, 'lin');
  t.deepEqual(status.nodes, []);
  t.true((await admin.getClusterStatus()).control_planes.some((cp) => cp.id === t.context.open.id));

  await admin.createModel({ name: 'alpha', owner: 'me' });
  await admin.createModel({ name: 'beta' });
  const first = await admin.listModels({ page_size: 2 });
  t.deepEqual(first.models.map((m) => m.name), ['alpha', 'beta']);
  t.not(first.next_page_token, '');
  const second = await admin.listModels({ page_size: 2, page_token: first.next_page_token });
  t.deepEqual(second.models.map((m) => m.name), ['lin']);
  t.is(second.next_page_token, '');
  t.deepEqual((await admin.listModels({ name_filter: 'ph' })).models.map((m) => m.name), ['alpha']);
  const updated = await admin.updateModel({ name: 'alpha', description: 'the first', update_mask: ['description'] });
  t.is(updated.description, 'the first');
  t.is(updated.owner, 'me');
  t.is((await admin.getModel('alpha')).description, 'the first');

  const history = await admin.listHistory({ model: 'lin' });
  t.deepEqual(history.entries.map((e) => e.action), ['SetRoute', 'SetRoute', 'CreateVersion', 'CreateVersion']);
  t.is((await admin.listHistory({ model: 'lin', page_size: 1 })).entries.length, 1);

  t.is((await rejection(admin.deleteVersion('lin', 'v1'))).code, GrpcStatus.FAILED_PRECONDITION);
  await admin.deleteVersion('lin', v2.version);
  t.is((await rejection(admin.getVersion('lin', v2.version))).code, GrpcStatus.NOT_FOUND);
  await admin.setRoute({ model: 'lin', splits: [] });
  await admin.deleteModel('lin');
  t.is((await rejection(admin.getModel('lin'))).code, GrpcStatus.NOT_FOUND);
  // The generic entry point reaches the same RPCs.
  t.is((await admin.call('GetModel', { name: 'beta' })).name, 'beta');
});

test.serial('uploadArtifact streams a file in chunks, reports progress and checks the stored hash', async (t) => {
  const admin = connect(t, t.context.open.address);
  const bytes = randomBytes(5 * UPLOAD_CHUNK_BYTES + 1234);
  const file = join(t.context.dir, 'blob.bin');
  await writeFile(file, bytes);
  const progress: [number, number][] = [];
  const uploaded = await admin.uploadArtifact(file, { onProgress: (sent, total) => progress.push([sent, total]) });
  t.is(uploaded.sha256, sha256Hex(bytes));
  t.is(Number(uploaded.size), bytes.byteLength);
  t.deepEqual(progress[0], [0, bytes.byteLength]);
  t.deepEqual(progress.at(-1), [bytes.byteLength, bytes.byteLength]);
  t.true(progress.every(([sent], i) => i === 0 || sent > progress[i - 1]![0]), 'progress only grows');
  t.true((await admin.uploadArtifact(file, { sha256: sha256Hex(bytes) })).existed);

  const wrong = await rejection(admin.uploadArtifact(file, { sha256: 'ab'.repeat(32) }));
  t.is(wrong.code, GrpcStatus.INVALID_ARGUMENT);
  const missing = await rejection(admin.uploadArtifact(join(t.context.dir, 'nope.onnx')));
  t.is(missing.code, GrpcStatus.INVALID_ARGUMENT);
  t.regex(missing.message, /cannot read .*nope\.onnx/);
});

test('an unreachable control plane is UNAVAILABLE with what to do next', async (t) => {
  const admin = connect(t, '127.0.0.1:1', { source: '--control-plane' });
  const err = await rejection(admin.whoAmI());
  t.is(err.code, GrpcStatus.UNAVAILABLE);
  t.regex(err.message, /^UNAVAILABLE: cannot reach the control plane at 127\.0\.0\.1:1 \(from --control-plane\): connect ECONNREFUSED/);
  t.regex(err.message, /switchyard up/);
  t.regex(err.message, /--tls-ca/);
});

test('auth on, TLS: tokens name the caller, roles are enforced, missing tokens are refused with a hint', async (t) => {
  const { secure, certs } = t.context;
  const tls = { caFile: certs.caFile };
  const ops = connect(t, secure.address, { tls, token: ADMIN_TOKEN, tokenSource: 'test' });
  t.deepEqual(await ops.whoAmI(), { name: 'ops', role: 'admin', auth_enabled: true });
  const { sha256 } = await ops.uploadBytes(MODEL);
  await ops.createVersion({ model: 'secure', artifact_sha256: sha256 });

  const reader = connect(t, secure.address, { tls, token: VIEWER_TOKEN, tokenSource: 'SWITCHYARD_TOKEN' });
  t.is((await reader.listVersions('secure')).versions.length, 1);
  const denied = await rejection(reader.setRoute({ model: 'secure', splits: [{ version: 'v1', weight: 10_000 }] }));
  t.is(denied.code, GrpcStatus.PERMISSION_DENIED);
  t.regex(denied.message, /token 'reader' has role viewer; SetRoute needs deployer/);
  // A refused upload ends at once, without sending the whole file.
  const big = join(t.context.dir, 'big.bin');
  await writeFile(big, randomBytes(64 * UPLOAD_CHUNK_BYTES));
  let sent = 0;
  const refused = await rejection(reader.uploadArtifact(big, { onProgress: (bytes) => (sent = bytes) }));
  t.is(refused.code, GrpcStatus.PERMISSION_DENIED);
  t.true(sent < 64 * UPLOAD_CHUNK_BYTES, `stopped after ${sent} bytes`);

  const anonymous = connect(t, secure.address, { tls });
  const missing = await rejection(anonymous.whoAmI());
  t.is(missing.code, GrpcStatus.UNAUTHENTICATED);
  t.regex(missing.message, /missing or unknown token; pass one with --token or SWITCHYARD_TOKEN/);
  const unknown = connect(t, secure.address, { tls, token: generateToken(), tokenSource: 'SWITCHYARD_TOKEN' });
  t.regex((await rejection(unknown.whoAmI())).message, /the token sent came from SWITCHYARD_TOKEN/);
});

test('a plaintext client of a TLS control plane is told to pass the CA', async (t) => {
  const plaintext = connect(t, t.context.secure.address, { token: ADMIN_TOKEN, callTimeoutMs: 5000 });
  const err = await rejection(plaintext.whoAmI());
  t.true(err.code === GrpcStatus.UNAVAILABLE || err.code === GrpcStatus.DEADLINE_EXCEEDED, err.message);
  if (err.code === GrpcStatus.UNAVAILABLE) t.regex(err.message, /pass its CA with --tls-ca/);
});

test('per-call deadlines apply', async (t) => {
  const admin = connect(t, t.context.open.address);
  // A deadline already over when the call starts cannot succeed.
  const err = await rejection(admin.getClusterStatus({ timeoutMs: 0.001 }));
  t.is(err.code, GrpcStatus.DEADLINE_EXCEEDED);
  t.regex(err.message, /no answer from the control plane/);
});
