import anyTest, { type TestFn } from 'ava';
import { status } from '@grpc/grpc-js';
import { sha256Hex, type ListVersionsResponse, type VersionMessage } from '@switchyard/core';
import { corruptModelBytes, int64Model, linearModel, twoOutputModel } from '@switchyard/testkit';
import { rejectsWithCode, startControlPlane, unary, upload, useEtcd } from './helpers/harness.js';

const test = anyTest as TestFn;
const etcd = useEtcd(test);

test('upload, then create a version whose signature is read from the model', async (t) => {
  const { admin, keys } = await startControlPlane(t, etcd().client);
  const bytes = linearModel({ weights: [1, 2, 3], bias: 0.5 });
  const uploaded = await upload(admin, bytes, { chunkBytes: 100 });
  t.deepEqual(uploaded, { sha256: sha256Hex(bytes), size: String(bytes.byteLength), existed: false });
  t.true((await upload(admin, bytes)).existed, 'a second upload of the same bytes is recognised');

  const version = await unary<VersionMessage>(admin, 'CreateVersion', {
    model: 'iris',
    artifact_sha256: uploaded.sha256,
    labels: { team: 'ml' },
    description: 'first cut',
  });
  t.is(version.model, 'iris');
  t.is(version.version, 'v1');
  t.is(version.artifact_sha256, uploaded.sha256);
  t.is(Number(version.artifact_size), bytes.byteLength);
  t.deepEqual(version.labels, { team: 'ml' });
  t.is(version.description, 'first cut');
  t.false(Number.isNaN(Date.parse(version.created_at)));
  t.deepEqual(
    version.signature.inputs.map((s) => ({ ...s, shape: s.shape.map(Number) })),
    [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }],
  );
  t.deepEqual(
    version.signature.outputs.map((s) => ({ ...s, shape: s.shape.map(Number) })),
    [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }],
  );

  // Stored as readable JSON under the documented keys.
  const stored = JSON.parse((await etcd().client.get(keys.version('iris', 'v1')).string()) ?? 'null') as { artifact: { sha256: string } };
  t.is(stored.artifact.sha256, uploaded.sha256);
  const model = JSON.parse((await etcd().client.get(keys.model('iris')).string()) ?? 'null') as { name: string };
  t.is(model.name, 'iris');

  const got = await unary<VersionMessage>(admin, 'GetVersion', { model: 'iris', version: 'v1' });
  t.deepEqual(got, version);
});

test('an upload whose bytes do not match the header sha256 is refused and not stored', async (t) => {
  const { admin, cp } = await startControlPlane(t, etcd().client);
  const bytes = linearModel({ weights: [1], bias: 0 });
  const wrong = sha256Hex(new Uint8Array([1, 2, 3]));
  const details = await rejectsWithCode(t, upload(admin, bytes, { sha256: wrong }), status.INVALID_ARGUMENT);
  t.true(details.includes(wrong) && details.includes(sha256Hex(bytes)), details);
  t.false(await cp.artifacts.has(sha256Hex(bytes)));
});

test('an upload over the size limit is RESOURCE_EXHAUSTED naming the limit and the flag', async (t) => {
  const { admin } = await startControlPlane(t, etcd().client, { maxArtifactBytes: 1024 });
  const bytes = new Uint8Array(4096).fill(7);
  const announced = await rejectsWithCode(t, upload(admin, bytes), status.RESOURCE_EXHAUSTED, /1 KiB \(1024 bytes\).*--max-artifact-bytes/);
  t.truthy(announced);
  // Without a size in the header, the limit is hit while streaming.
  await rejectsWithCode(t, upload(admin, bytes, { size: 0, chunkBytes: 512 }), status.RESOURCE_EXHAUSTED, /--max-artifact-bytes/);
});

test('an upload must start with a header', async (t) => {
  const { admin } = await startControlPlane(t, etcd().client);
  await rejectsWithCode(t, upload(admin, new Uint8Array([1, 2, 3]), { skipHeader: true }), status.INVALID_ARGUMENT, /first message .* header/);
  await rejectsWithCode(t, upload(admin, new Uint8Array(0), { skipHeader: true }), status.INVALID_ARGUMENT, /empty/);
});

test('a corrupt model cannot become a version', async (t) => {
  const { admin } = await startControlPlane(t, etcd().client);
  const { sha256 } = await upload(admin, corruptModelBytes());
  await rejectsWithCode(t, unary(admin, 'CreateVersion', { model: 'm', artifact_sha256: sha256 }), status.INVALID_ARGUMENT, /not a loadable ONNX model: /);
  await rejectsWithCode(t, unary(admin, 'GetVersion', { model: 'm', version: 'v1' }), status.NOT_FOUND);
});

test('CreateVersion refuses bad names, malformed and missing artifacts', async (t) => {
  const { admin } = await startControlPlane(t, etcd().client);
  const { sha256 } = await upload(admin, linearModel({ weights: [1], bias: 0 }));
  for (const model of ['', 'ir is', 'a/b', '-lead', 'x'.repeat(65), 'trail.']) {
    await rejectsWithCode(t, unary(admin, 'CreateVersion', { model, artifact_sha256: sha256 }), status.INVALID_ARGUMENT, /model name/);
  }
  await rejectsWithCode(t, unary(admin, 'CreateVersion', { model: 'm', version: 'V 1', artifact_sha256: sha256 }), status.INVALID_ARGUMENT, /a-z, 0-9/);
  await rejectsWithCode(t, unary(admin, 'CreateVersion', { model: 'm', artifact_sha256: 'abc' }), status.INVALID_ARGUMENT, /not a sha256/);
  await rejectsWithCode(
    t,
    unary(admin, 'CreateVersion', { model: 'm', artifact_sha256: sha256Hex(new Uint8Array([9])) }),
    status.NOT_FOUND,
    /upload it with UploadArtifact first/,
  );
  await rejectsWithCode(t, unary(admin, 'GetVersion', { model: 'm', version: '../x' }), status.INVALID_ARGUMENT);
});

test('versions are numbered vN after the highest existing one, and sorted numerically', async (t) => {
  const { admin } = await startControlPlane(t, etcd().client);
  const { sha256 } = await upload(admin, linearModel({ weights: [1, 1], bias: 0 }));
  const create = (version = ''): Promise<VersionMessage> => unary(admin, 'CreateVersion', { model: 'm', version, artifact_sha256: sha256 });
  t.is((await create()).version, 'v1');
  t.is((await create()).version, 'v2');
  t.is((await create('v9')).version, 'v9');
  t.is((await create('canary')).version, 'canary');
  t.is((await create()).version, 'v10');
  await rejectsWithCode(t, create('v2'), status.ALREADY_EXISTS, /already exists/);

  const list = await unary<ListVersionsResponse>(admin, 'ListVersions', { model: 'm' });
  t.deepEqual(
    list.versions.map((v) => v.version),
    ['v1', 'v2', 'v9', 'v10', 'canary'],
  );
  t.deepEqual((await unary<ListVersionsResponse>(admin, 'ListVersions', { model: 'other' })).versions, []);
});

test('concurrent automatic CreateVersion calls get distinct names', async (t) => {
  const { admin } = await startControlPlane(t, etcd().client);
  const { sha256 } = await upload(admin, int64Model());
  const created = await Promise.all(
    Array.from({ length: 4 }, () => unary<VersionMessage>(admin, 'CreateVersion', { model: 'ids', artifact_sha256: sha256 })),
  );
  t.deepEqual(created.map((v) => v.version).sort(), ['v1', 'v2', 'v3', 'v4']);
  t.deepEqual(created[0]?.signature.inputs.map((s) => s.datatype), ['INT64']);
});

test('a model with two outputs gets both in its signature', async (t) => {
  const { admin } = await startControlPlane(t, etcd().client);
  const { sha256 } = await upload(admin, twoOutputModel());
  const version = await unary<VersionMessage>(admin, 'CreateVersion', { model: 'two', artifact_sha256: sha256 });
  t.deepEqual(version.signature.outputs.map((o) => [o.name, o.shape.map(Number)]), [
    ['sum', [-1, 1]],
    ['doubled', [-1, 2]],
  ]);
});

test('a stored version that fails its schema is skipped and logged in lists, and reported with its key on get', async (t) => {
  const { admin, keys, logs } = await startControlPlane(t, etcd().client);
  const { sha256 } = await upload(admin, linearModel({ weights: [1], bias: 0 }));
  await unary(admin, 'CreateVersion', { model: 'm', artifact_sha256: sha256 });
  const badKey = keys.version('m', 'v2');
  await etcd().client.put(badKey).value('{"model":"m","version":"v2","artifact":"nope"}');
  await etcd().client.put(keys.version('m', 'v3')).value('not json');

  const list = await unary<ListVersionsResponse>(admin, 'ListVersions', { model: 'm' });
  t.deepEqual(list.versions.map((v) => v.version), ['v1']);
  t.true(logs.some((r) => r['level'] === 'warn' && r['key'] === badKey), 'the bad key is logged');
  t.true(logs.some((r) => r['level'] === 'warn' && r['key'] === keys.version('m', 'v3')));

  await rejectsWithCode(t, unary(admin, 'GetVersion', { model: 'm', version: 'v2' }), status.INTERNAL, new RegExp(badKey));
  // The next automatic name still avoids the broken keys.
  t.is((await unary<VersionMessage>(admin, 'CreateVersion', { model: 'm', artifact_sha256: sha256 })).version, 'v4');
  // A broken version can be deleted through the API.
  await unary(admin, 'DeleteVersion', { model: 'm', version: 'v2' });
  t.is(await etcd().client.get(badKey).string(), null);
});
