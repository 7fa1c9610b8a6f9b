import test from 'ava';
import { InferenceClient } from '@switchyard/client';
import { decodeBytesRaw, encodeBytesRaw, encodeRaw, halvesToNumbers, numbersToHalves, type ModelInferResponse, type VersionMessage } from '@switchyard/core';
import { bfloat16Model, float16Model, startEtcd, stringLabelModel, type EtcdProcess } from '@switchyard/testkit';
import { TestCluster } from './helpers/cluster.js';

// FP16 and BYTES end to end: deploy-time validation with golden outputs,
// raw and typed contents over gRPC, and the client package.

let etcd: EtcdProcess;
let cluster: TestCluster;
let client: InferenceClient;

test.before(async () => {
  etcd = await startEtcd();
  cluster = await TestCluster.start({ etcd, nodes: 1 });
  client = await InferenceClient.create({ nodes: [cluster.nodes[0]!.address] });
});
test.after.always(async () => {
  client?.close();
  await cluster?.stop();
  await etcd?.destroy();
});

function modelInfer(request: object): Promise<ModelInferResponse> {
  return new Promise((resolve, reject) =>
    (cluster.nodeClients[0] as unknown as { ModelInfer: Function }).ModelInfer(request, (err: Error | null, res: ModelInferResponse) => (err ? reject(err) : resolve(res))),
  );
}

async function deployWithSamples(model: string, bytes: Uint8Array, samples: object): Promise<VersionMessage> {
  const { sha256 } = await cluster.upload(bytes);
  const created = await cluster.admin.createVersion({ model, artifact_sha256: sha256, samples_json: Buffer.from(JSON.stringify(samples)) });
  await cluster.setRoute(model, { [created.version]: 10_000 });
  await cluster.waitServing(model, created.version);
  return created;
}

test.serial('FP16 model: golden outputs pass at deploy; raw FP16 over gRPC and through the client', async (t) => {
  const version = await deployWithSamples('half', float16Model(), {
    samples: [{ name: 'tenths', inputs: { x: { datatype: 'FP16', data: [[0.1, -2.5]] } }, outputs: { y: { datatype: 'FP16', data: [[0.2, -5]] } } }],
  });
  t.is(version.validation?.state, 'PASSED');
  const res = await modelInfer({
    model_name: 'half',
    inputs: [{ name: 'x', datatype: 'FP16', shape: [2, 2] }],
    raw_input_contents: [encodeRaw(numbersToHalves([1, 2, 0.5, 65504]))],
    outputs: [{ name: 'y' }],
  });
  t.is(res.outputs[0]!.datatype, 'FP16');
  t.deepEqual(halvesToNumbers(new Uint16Array(Uint8Array.from(res.raw_output_contents[0]!).buffer)), [2, 4, 1, Infinity]);
  const viaClient = await client.infer('half', [{ name: 'x', datatype: 'FP16', shape: [1, 2], data: numbersToHalves([1.5, -1]) }]);
  t.deepEqual(halvesToNumbers(viaClient.outputs.y!.data as Uint16Array), [3, -2]);
  t.deepEqual(Array.from(viaClient.outputs.y32!.data as Float32Array), [3, -2]);
  const typed = await t.throwsAsync(modelInfer({ model_name: 'half', inputs: [{ name: 'x', datatype: 'FP16', shape: [1, 2], contents: { fp32_contents: [1, 2] } }] }));
  t.regex(typed?.message ?? '', /INVALID_ARGUMENT.*FP16 tensors have no typed contents field/);
});

test.serial('BYTES model: golden strings at deploy; raw and typed BYTES over gRPC and through the client', async (t) => {
  const version = await deployWithSamples('labels', stringLabelModel(), {
    samples: [{ inputs: { label: { datatype: 'BYTES', shape: [2], data: ['dog', 'fish'] } }, outputs: { id: { datatype: 'INT64', shape: [2], data: [1, -1] }, upper: { datatype: 'BYTES', shape: [2], data: ['DOG', '?'] } } }],
  });
  t.is(version.validation?.state, 'PASSED');
  const raw = await modelInfer({ model_name: 'labels', inputs: [{ name: 'label', datatype: 'BYTES', shape: [3] }], raw_input_contents: [encodeBytesRaw(['cat', 'bird', 'héron'])] });
  const upper = raw.outputs.findIndex((o) => o.name === 'upper');
  t.is(raw.outputs[upper]!.datatype, 'BYTES');
  t.deepEqual(decodeBytesRaw(raw.raw_output_contents[upper]!, 3, 'upper'), ['CAT', 'BIRD', '?']);
  const typed = await modelInfer({ model_name: 'labels', inputs: [{ name: 'label', datatype: 'BYTES', shape: [1], contents: { bytes_contents: [Buffer.from('dog')] } }] });
  const id = typed.outputs.findIndex((o) => o.name === 'id');
  t.is(Buffer.from(typed.raw_output_contents[id]!).readBigInt64LE(0), 1n);
  const viaClient = await client.infer('labels', [{ name: 'label', datatype: 'BYTES', shape: [2], data: ['bird', 'cat'] }]);
  t.deepEqual(viaClient.outputs.upper!.data, ['BIRD', 'CAT']);
  const bad = await t.throwsAsync(modelInfer({ model_name: 'labels', inputs: [{ name: 'label', datatype: 'BYTES', shape: [2] }], raw_input_contents: [encodeBytesRaw(['cat'])] }));
  t.regex(bad?.message ?? '', /INVALID_ARGUMENT.*BYTES tensor 'label' has raw contents for 1 elements but its shape needs 2/);
});

test.serial('a wrong golden string rejects the version, naming the element', async (t) => {
  const version = await (async () => {
    const { sha256 } = await cluster.upload(stringLabelModel());
    const samples = { samples: [{ inputs: { label: { datatype: 'BYTES', shape: [1], data: ['cat'] } }, outputs: { upper: { datatype: 'BYTES', shape: [1], data: ['Cat'] } } }] };
    return cluster.admin.createVersion({ model: 'labels-bad', artifact_sha256: sha256, samples_json: Buffer.from(JSON.stringify(samples)) });
  })();
  t.is(version.validation?.state, 'REJECTED');
  t.regex(version.validation?.reason ?? '', /element 0: expected "Cat", got "CAT" \(BYTES compare by equality\)/);
});

test.serial('a BF16 model is refused at deploy, saying why', async (t) => {
  const { sha256 } = await cluster.upload(bfloat16Model());
  const err = await t.throwsAsync(cluster.admin.createVersion({ model: 'brain', artifact_sha256: sha256 }));
  t.regex(err?.message ?? '', /INVALID_ARGUMENT.*bfloat16.*no bfloat16 tensor type/);
});
