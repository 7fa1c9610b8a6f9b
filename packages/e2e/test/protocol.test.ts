import test from 'ava';
import { decodeBytesRaw, encodeRaw, type ModelInferResponse } from '@switchyard/core';
import { linearModel, startEtcd, twoOutputModel, type EtcdProcess } from '@switchyard/testkit';
import { TestCluster, outputValues } from './helpers/cluster.js';

// The KServe v2 / Triton protocol details over gRPC: parameters (refused when
// not understood), Triton's classification, model names as Triton users write them.

let etcd: EtcdProcess;
let cluster: TestCluster;

test.before(async () => {
  etcd = await startEtcd();
  cluster = await TestCluster.start({ etcd, nodes: 1 });
  await cluster.deploy('two', twoOutputModel());
});
test.after.always(async () => {
  await cluster?.stop();
  await etcd?.destroy();
});

function call<T>(method: string, request: object): Promise<T> {
  return new Promise((resolve, reject) =>
    (cluster.nodeClients[0] as unknown as Record<string, Function>)[method]!.call(cluster.nodeClients[0], request, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))),
  );
}

const x = { name: 'x', datatype: 'FP32', shape: [2, 2] };
const xs = encodeRaw(Float32Array.from([1, 3, 4, 2]));

test.serial('a parameter the node does not understand is INVALID_ARGUMENT naming it; double_param and uint64_param decode', async (t) => {
  const err = await t.throwsAsync(
    call<ModelInferResponse>('ModelInfer', { model_name: 'two', parameters: { temperature: { double_param: 0.5 } }, inputs: [x], raw_input_contents: [xs] }),
  );
  t.regex(err?.message ?? '', /INVALID_ARGUMENT: parameter 'temperature' \(request\) is not understood/);
  const seq = await t.throwsAsync(
    call<ModelInferResponse>('ModelInfer', { model_name: 'two', parameters: { sequence_id: { uint64_param: '18446744073709551615' } }, inputs: [x], raw_input_contents: [xs] }),
  );
  t.regex(seq?.message ?? '', /'sequence_id' \(request\) is not supported/);
  const ok = await call<ModelInferResponse>('ModelInfer', {
    model_name: 'two',
    parameters: { timeout: { uint64_param: '5000000' }, content_type: { string_param: 'np' } },
    inputs: [x],
    raw_input_contents: [xs],
  });
  t.deepEqual(outputValues(ok, 'sum'), [4, 6]);
});

test.serial("Triton's classification: the top k of an output as BYTES score:index", async (t) => {
  const res = await call<ModelInferResponse>('ModelInfer', {
    model_name: 'two',
    inputs: [x],
    raw_input_contents: [xs],
    outputs: [{ name: 'doubled', parameters: { classification: { int64_param: '1' } } }],
  });
  t.is(res.outputs.length, 1);
  t.is(res.outputs[0]!.datatype, 'BYTES');
  t.deepEqual(res.outputs[0]!.shape.map(Number), [2, 1]);
  t.deepEqual(decodeBytesRaw(res.raw_output_contents[0]!, 2, 'doubled'), ['6:1', '8:0']);
});

test.serial('model names as Triton users write them: both cases, digits, dots, underscores, dashes', async (t) => {
  const version = await cluster.deploy('ResNet50_v1.5-onnx', linearModel({ weights: [1, 1, 1], bias: 0 }));
  const res = await cluster.infer(0, 'ResNet50_v1.5-onnx', [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: Float32Array.from([1, 2, 3]) }]);
  t.is(res.model_version, version);
  t.deepEqual(outputValues(res, 'y'), [6]);
  // Case-sensitive, as in Triton's repository: another case is another model.
  const err = await t.throwsAsync(cluster.infer(0, 'resnet50_v1.5-onnx', [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: Float32Array.from([1, 2, 3]) }]));
  t.regex(err?.message ?? '', /NOT_FOUND/);
});

test.serial("Triton's extensions: ServerMetadata lists them, ModelStatistics counts per version, RepositoryIndex shows states", async (t) => {
  const meta = await call<{ name: string; extensions: string[] }>('ServerMetadata', {});
  t.is(meta.name, cluster.nodes[0]!.id);
  for (const ext of ['classification', 'model_repository', 'statistics']) t.true(meta.extensions.includes(ext), ext);

  const before = await call<{ model_stats: { inference_stats: { success: { count: string } } }[] }>('ModelStatistics', { name: 'two' });
  const count = Number(before.model_stats[0]!.inference_stats.success.count);
  await call<ModelInferResponse>('ModelInfer', { model_name: 'two', inputs: [x], raw_input_contents: [xs] });
  await t.throwsAsync(call<ModelInferResponse>('ModelInfer', { model_name: 'two', inputs: [x], raw_input_contents: [new Uint8Array(3)] }));
  const stats = await call<{ model_stats: { name: string; version: string; last_inference: string; execution_count: string; inference_stats: { success: { count: string; ns: string }; compute_infer: { count: string } } }[] }>(
    'ModelStatistics',
    { name: 'two', version: 'v1' },
  );
  t.is(stats.model_stats.length, 1);
  const s = stats.model_stats[0]!;
  t.is(s.name, 'two');
  t.is(s.version, 'v1');
  t.is(Number(s.inference_stats.success.count), count + 1);
  t.true(Number(s.inference_stats.success.ns) > 0);
  t.true(Number(s.last_inference) > Date.now() - 60_000);
  t.is(s.inference_stats.compute_infer.count, s.inference_stats.success.count);
  const all = await call<{ model_stats: { name: string }[] }>('ModelStatistics', {});
  t.true(all.model_stats.some((m) => m.name === 'two'));
  const missing = await t.throwsAsync(call('ModelStatistics', { name: 'nope' }));
  t.regex(missing?.message ?? '', /NOT_FOUND: model 'nope' has no version loaded on this node/);

  const index = await call<{ models: { name: string; version: string; state: string; reason: string }[] }>('RepositoryIndex', { ready: true });
  t.deepEqual(index.models.find((m) => m.name === 'two'), { name: 'two', version: 'v1', state: 'READY', reason: '' });

  const load = await t.throwsAsync(call('RepositoryModelLoad', { model_name: 'two' }));
  t.regex(load?.message ?? '', /UNIMPLEMENTED: .*admin API/);
  const unload = await t.throwsAsync(call('RepositoryModelUnload', { model_name: 'two' }));
  t.regex(unload?.message ?? '', /UNIMPLEMENTED/);
});
