import { readFileSync } from 'node:fs';
import anyTest, { type TestFn } from 'ava';
import type { ListModelsResponse, VersionMessage } from '@switchyard/core';
import { encodeModel, int64Tensor, node, onnx, valueInfo, type Dim } from '@switchyard/testkit';
import { startControlPlane, unary, upload, useEtcd } from './helpers/harness.js';

// Serial: each test has a validation child using a core and hundreds of MB.
const test = anyTest as TestFn;
const etcd = useEtcd(test);

const MIB = 1024 * 1024;

/** A scalar FP32 1, the fill value of ConstantOfShape. */
const ONE = onnx.TensorProto.create({ name: 'one', dims: [1], dataType: onnx.TensorProto.DataType.FLOAT, rawData: new Uint8Array(new Float32Array([1]).buffer) });

function constantOfShape(shape: string, out: string): ReturnType<typeof node> {
  return onnx.NodeProto.create({
    opType: 'ConstantOfShape',
    input: [shape],
    output: [out],
    name: out,
    attribute: [onnx.AttributeProto.create({ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: ONE })],
  });
}

/**
 * A model of a few hundred bytes whose constant folding, when onnxruntime
 * opens it, multiplies two n×n matrices of ones: y = ones(n,n)·ones(n,n) + x.
 * n = 8192 needs three 256 MiB buffers and ≈ 5.5·10¹¹ multiply-adds.
 */
function foldingModel(n: number): Uint8Array {
  return encodeModel({
    name: `fold-${n}`,
    nodes: [constantOfShape('shape', 'a'), constantOfShape('shape', 'b'), node('MatMul', ['a', 'b'], ['p']), node('Add', ['p', 'x'], ['y'])],
    initializers: [int64Tensor('shape', [2], [n, n])],
    inputs: [valueInfo('x', 'FP32', [1])],
    outputs: [valueInfo('y', 'FP32', [n, n])],
  });
}

/** y = ones(shape): the output's size comes from the request, so zeros (shape [0, 0]) are harmless. */
function allocatingModel(): Uint8Array {
  const dims: Dim[] = ['rows', 'cols'];
  return encodeModel({
    name: 'allocating',
    nodes: [constantOfShape('shape', 'y')],
    inputs: [valueInfo('shape', 'INT64', [2])],
    outputs: [valueInfo('y', 'FP32', dims)],
  });
}

/** VmHWM/VmRSS of a process in bytes, from /proc; undefined once it is gone. */
function memoryOf(pid: number | 'self'): { peak: number; rss: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
    return { peak: kb('VmHWM'), rss: kb('VmRSS') };
  } catch {
    return undefined;
  }
}

/** The pid of the validation child that took the last job (started for it, or a warm one), from the control plane's debug log. */
function lastChildPid(logs: Record<string, unknown>[]): unknown {
  return [...logs].reverse().find((r) => r.message === 'validation child started' || r.message === 'validation child reused')?.pid;
}

const mib = (bytes: number): string => `${(bytes / MIB).toFixed(0)} MiB`;

/**
 * Runs CreateVersion, and while it is running, ListModels: the admin API must
 * answer while the model is being opened. Watches the validation child's
 * memory from /proc as it goes.
 */
async function createWhileWatching(
  harness: Awaited<ReturnType<typeof startControlPlane>>,
  request: object,
): Promise<{ version: VersionMessage; listedBeforeCreated: boolean; childPeak: number }> {
  let created = false;
  const creating = unary<VersionMessage>(harness.admin, 'CreateVersion', request).finally(() => (created = true));
  let childPeak = 0;
  let listedBeforeCreated = false;
  let listed: Promise<unknown> | undefined;
  while (!created) {
    const pid = lastChildPid(harness.logs);
    if (typeof pid === 'number') {
      childPeak = Math.max(childPeak, memoryOf(pid)?.peak ?? 0);
      listed ??= unary<ListModelsResponse>(harness.admin, 'ListModels', {}).then(() => (listedBeforeCreated = !created));
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await listed;
  return { version: await creating, listedBeforeCreated, childPeak };
}

test.serial('a tiny model whose constant folding needs GBs is REJECTED at the memory cap; the control plane answers and does not grow', async (t) => {
  const harness = await startControlPlane(t, etcd().client, { validationMemoryBytes: 512 * MIB, validationTimeoutMs: 60_000 });
  const bytes = foldingModel(8192);
  const { sha256 } = await upload(harness.admin, bytes);
  const before = memoryOf('self')!;
  const { version, listedBeforeCreated, childPeak } = await createWhileWatching(harness, { model: 'fold', artifact_sha256: sha256 });
  const after = memoryOf('self')!;
  t.log(`model: ${bytes.byteLength} bytes; validation child peak RSS ≈ ${mib(childPeak)} (cap 512 MiB of data)`);
  t.log(`control plane (this process) peak RSS: ${mib(before.peak)} before, ${mib(after.peak)} after; RSS ${mib(before.rss)} → ${mib(after.rss)}`);
  t.log(`reason: ${version.validation?.reason}`);

  t.is(version.validation?.state, 'REJECTED');
  t.regex(version.validation?.reason ?? '', /^validation used more than 512 MiB of memory while loading the model \(.*; raise --validation-memory or fix the model\)$/);
  // The declared signature, read from the protobuf without opening the model.
  t.deepEqual(version.signature.outputs.map((s) => ({ ...s, shape: s.shape.map(Number) })), [{ name: 'y', datatype: 'FP32', shape: [8192, 8192] }]);
  t.true(listedBeforeCreated, 'ListModels answered while the model was being validated');
  // Opening it in this process would have added at least two 256 MiB matrices to the peak.
  t.true(after.peak - before.peak < 200 * MIB, `the control plane's peak RSS grew by ${mib(after.peak - before.peak)}`);
});

test.serial('a model whose opening runs past the time limit is REJECTED with the reason while the admin API answers', async (t) => {
  const harness = await startControlPlane(t, etcd().client, { validationMemoryBytes: 1024 * MIB, validationTimeoutMs: 1500 });
  // 6144³ ≈ 2.3·10¹¹ multiply-adds on one thread: seconds, not the 1.5 s allowed.
  const { sha256 } = await upload(harness.admin, foldingModel(6144));
  const { version, listedBeforeCreated, childPeak } = await createWhileWatching(harness, { model: 'slow-fold', artifact_sha256: sha256 });
  t.log(`validation child peak RSS ≈ ${mib(childPeak)}; reason: ${version.validation?.reason}`);
  t.is(version.validation?.state, 'REJECTED');
  t.regex(version.validation?.reason ?? '', /^validation timed out after 1\.5 s \(onnxruntime was still loading the model; raise --validation-timeout or fix the model\)$/);
  t.true(listedBeforeCreated, 'ListModels answered while the model was being validated');
  const pid = lastChildPid(harness.logs) as number;
  t.is(memoryOf(pid), undefined, 'the validation child is gone');
});

test.serial('samples are run, not just zeros: a sample that allocates past the cap is REJECTED naming it', async (t) => {
  const harness = await startControlPlane(t, etcd().client, { validationMemoryBytes: 512 * MIB });
  const { sha256 } = await upload(harness.admin, allocatingModel());

  // Zeros (shape [0, 0]) allocate nothing: without samples the version passes.
  const zerosOnly = await unary<VersionMessage>(harness.admin, 'CreateVersion', { model: 'alloc', artifact_sha256: sha256 });
  t.is(zerosOnly.validation?.state, 'PASSED');

  const shape = (rows: number, cols: number): object => ({ shape: { datatype: 'INT64', shape: [2], data: [rows, cols] } });
  const samples = { samples: [{ name: 'small', inputs: shape(2, 2) }, { name: 'huge', inputs: shape(16384, 16384) }] };
  const { version, childPeak } = await createWhileWatching(harness, {
    model: 'alloc',
    artifact_sha256: sha256,
    samples_json: Buffer.from(JSON.stringify(samples)),
  });
  t.log(`validation child peak RSS ≈ ${mib(childPeak)}; reason: ${version.validation?.reason}`);
  t.is(version.validation?.state, 'REJECTED');
  t.regex(version.validation?.reason ?? '', /^validation used more than 512 MiB of memory while running sample 'huge' \(/);
  t.is(version.validation?.samples, 1, "'small' ran");
});
