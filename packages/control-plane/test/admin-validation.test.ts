import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { status } from '@grpc/grpc-js';
import { parseSamplesDocument, type RouteMessage, type VersionMessage } from '@switchyard/core';
import { linearModel } from '@switchyard/testkit';
import { readArtifact } from '../src/index.js';
import { rejectsWithCode, startControlPlane, unary, upload, useEtcd, type TestControlPlane } from './helpers/harness.js';

const test = anyTest as TestFn;
const etcd = useEtcd(test);

// y = x·[1,2,3] + 0.5
const linear = (): Uint8Array => linearModel({ weights: [1, 2, 3], bias: 0.5 });
const fp32 = (data: unknown): object => ({ datatype: 'FP32', data });
const json = (value: object): Buffer => Buffer.from(JSON.stringify(value));

/** A control plane holding the linear model's artifact. */
async function withArtifact(t: ExecutionContext, options: Parameters<typeof startControlPlane>[2] = {}): Promise<TestControlPlane & { sha256: string }> {
  const harness = await startControlPlane(t, etcd().client, options);
  const { sha256 } = await upload(harness.admin, linear());
  return { ...harness, sha256 };
}

test('CreateVersion with matching golden outputs passes and stores the samples document', async (t) => {
  const { admin, cp, keys, sha256 } = await withArtifact(t);
  const samples = {
    samples: [
      { name: 'ones', inputs: { x: fp32([[1, 1, 1]]) }, outputs: { y: fp32([[6.5]]) } },
      { name: 'rows', inputs: { x: fp32([[1, 2, 3], [0, 0, 0]]) }, outputs: { y: fp32([[14.5], [0.5]]) } },
    ],
  };
  const version = await unary<VersionMessage>(admin, 'CreateVersion', { model: 'm', artifact_sha256: sha256, samples_json: json(samples) });
  t.like(version.validation, { state: 'PASSED', reason: '', samples: 2, golden_recorded: false, max_abs_diff: 0 });
  t.true((version.validation?.duration_ms ?? 0) > 0);
  t.regex(version.samples_sha256, /^[0-9a-f]{64}$/);

  const stored = parseSamplesDocument(await readArtifact(cp.artifacts, version.samples_sha256));
  t.deepEqual(stored.samples.map((s) => s.name), ['ones', 'rows']);
  const record = JSON.parse((await etcd().client.get(keys.version('m', 'v1')).string()) ?? '{}') as { samples: { sha256: string; count: number; size: number }; validation: { state: string } };
  t.like(record, { samples: { sha256: version.samples_sha256, count: 2 }, validation: { state: 'PASSED' } });
  t.is(record.samples.size, (await readArtifact(cp.artifacts, version.samples_sha256)).byteLength);
  t.deepEqual(await unary<VersionMessage>(admin, 'GetVersion', { model: 'm', version: 'v1' }), version);

  await t.notThrowsAsync(unary(admin, 'SetRoute', { model: 'm', splits: [{ version: 'v1', weight: 10000 }] }));
});

test('a golden mismatch stores a REJECTED version whose reason can be read, and SetRoute refuses it', async (t) => {
  const { admin, sha256 } = await withArtifact(t);
  const samples = { samples: [{ name: 'ones', inputs: { x: fp32([[1, 1, 1]]) }, outputs: { y: fp32([[7.5]]) } }] };
  const version = await unary<VersionMessage>(admin, 'CreateVersion', { model: 'm', artifact_sha256: sha256, samples_json: json(samples) });
  t.is(version.validation?.state, 'REJECTED');
  t.regex(version.validation?.reason ?? '', /sample 'ones' output 'y' element 0: expected 7.5, got 6.5/);
  t.is(version.validation?.max_abs_diff, 1);
  t.regex(version.samples_sha256, /^[0-9a-f]{64}$/, 'the samples that were checked are kept');

  const read = await unary<VersionMessage>(admin, 'GetVersion', { model: 'm', version: 'v1' });
  t.is(read.validation?.reason, version.validation?.reason);
  const listed = await unary<{ versions: VersionMessage[] }>(admin, 'ListVersions', { model: 'm' });
  t.is(listed.versions[0]?.validation?.state, 'REJECTED');

  const details = await rejectsWithCode(
    t,
    unary(admin, 'SetRoute', { model: 'm', splits: [{ version: 'v1', weight: 10000 }] }),
    status.FAILED_PRECONDITION,
    /version v1 of model m failed deploy-time validation and cannot be routed: sample 'ones' output 'y' element 0: expected 7.5, got 6.5/,
  );
  t.regex(details, /create a new version/);
  // Not even with weight 0 (which would make every node load it).
  const good = await unary<VersionMessage>(admin, 'CreateVersion', { model: 'm', artifact_sha256: sha256 });
  await rejectsWithCode(
    t,
    unary(admin, 'SetRoute', { model: 'm', splits: [{ version: good.version, weight: 10000 }, { version: 'v1', weight: 0 }] }),
    status.FAILED_PRECONDITION,
  );
});

test('samples without golden outputs pass and the computed outputs are recorded in the stored document', async (t) => {
  const { admin, cp, sha256 } = await withArtifact(t);
  const samples = { samples: [{ name: 'a', inputs: { x: fp32([[1, 1, 1], [2, 0, 0]]) } }, { inputs: { x: fp32([[0, 0, 1]]) } }] };
  const version = await unary<VersionMessage>(admin, 'CreateVersion', { model: 'm', artifact_sha256: sha256, samples_json: json(samples) });
  t.like(version.validation, { state: 'PASSED', samples: 2, golden_recorded: true });
  const stored = parseSamplesDocument(await readArtifact(cp.artifacts, version.samples_sha256));
  t.deepEqual(
    stored.samples.map((s) => [s.name, s.outputs?.['y']?.shape, s.outputs?.['y']?.data]),
    [
      ['a', [2, 1], [6.5, 2.5]],
      ['sample-1', [1, 1], [3.5]],
    ],
  );
});

test('a version without samples is validated with one run on zeros and has no samples document', async (t) => {
  const { admin, sha256 } = await withArtifact(t);
  const version = await unary<VersionMessage>(admin, 'CreateVersion', { model: 'm', artifact_sha256: sha256 });
  t.like(version.validation, { state: 'PASSED', samples: 0, golden_recorded: false });
  t.is(version.samples_sha256, '');
});

test('a bad samples document is INVALID_ARGUMENT naming the path, and no version is stored', async (t) => {
  const { admin, keys, sha256 } = await withArtifact(t);
  const cases: [Buffer, RegExp][] = [
    [Buffer.from('{"samples": ['), /samples document is not JSON/],
    [json({ samples: [{ inputs: { x: fp32([[1, 'two', 3]]) } }] }), /samples\[0\]\.inputs\.x\.data\[0\]\[1\]/],
    [json({ samples: [{ name: 'wrong-shape', inputs: { x: fp32([[1, 2]]) } }] }), /sample 'wrong-shape' input 'x' has shape \[1,2\] but the model's is x \(FP32 \[-1,3\]\)/],
    [json({ samples: [{ name: 's', inputs: { z: fp32([[1, 2, 3]]) } }] }), /sample 's' is missing input x/],
  ];
  for (const [samples, expected] of cases) {
    await rejectsWithCode(t, unary(admin, 'CreateVersion', { model: 'm', artifact_sha256: sha256, samples_json: samples }), status.INVALID_ARGUMENT, expected);
  }
  t.deepEqual(await etcd().client.getAll().prefix(keys.versionsPrefix('m')).keys(), []);
});

test('a samples document over 16 MiB is RESOURCE_EXHAUSTED', async (t) => {
  const { admin, sha256 } = await withArtifact(t, { maxMessageBytes: 20 * 1024 * 1024 });
  const huge = Buffer.alloc(16 * 1024 * 1024 + 1, 0x20);
  await rejectsWithCode(t, unary(admin, 'CreateVersion', { model: 'm', artifact_sha256: sha256, samples_json: huge }), status.RESOURCE_EXHAUSTED, /16\.0 MiB/);
});

test('a version stored before validation existed can still be routed', async (t) => {
  const { admin, keys, sha256 } = await withArtifact(t);
  await unary(admin, 'CreateVersion', { model: 'm', artifact_sha256: sha256 });
  const record = JSON.parse((await etcd().client.get(keys.version('m', 'v1')).string()) ?? '{}') as Record<string, unknown>;
  delete record['validation'];
  delete record['samples'];
  delete record['expiresAfterSeconds'];
  await etcd().client.put(keys.version('m', 'v2')).value(JSON.stringify({ ...record, version: 'v2' }));
  const legacy = await unary<VersionMessage>(admin, 'GetVersion', { model: 'm', version: 'v2' });
  t.is(legacy.validation, null);
  t.is(legacy.samples_sha256, '');
  t.is(String(legacy.expires_after_seconds), '0');
  const route = await unary<RouteMessage>(admin, 'SetRoute', { model: 'm', splits: [{ version: 'v2', weight: 10000 }] });
  t.deepEqual(route.splits, [{ version: 'v2', weight: 10000 }]);
});

test('CreateVersion stores labels, description and expiration, and refuses a negative expiration', async (t) => {
  const { admin, keys, sha256 } = await withArtifact(t);
  const version = await unary<VersionMessage>(admin, 'CreateVersion', {
    model: 'm',
    artifact_sha256: sha256,
    labels: { team: 'ml', stage: 'canary' },
    description: 'retrained',
    expires_after_seconds: 7200,
  });
  t.like(version, { labels: { team: 'ml', stage: 'canary' }, description: 'retrained', expires_after_seconds: '7200', created_by: 'anonymous' });
  t.like(JSON.parse((await etcd().client.get(keys.version('m', 'v1')).string()) ?? '{}') as object, { expiresAfterSeconds: 7200, description: 'retrained' });
  await rejectsWithCode(
    t,
    unary(admin, 'CreateVersion', { model: 'm', artifact_sha256: sha256, expires_after_seconds: -1 }),
    status.INVALID_ARGUMENT,
    /expires_after_seconds is -1/,
  );
});
