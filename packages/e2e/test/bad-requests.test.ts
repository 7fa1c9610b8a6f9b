import test from 'ava';
import * as grpc from '@grpc/grpc-js';
import { encodeRaw } from '@switchyard/core';
import { linearModel, startEtcd, type EtcdProcess } from '@switchyard/testkit';
import { TestCluster } from './helpers/cluster.js';
import { unary } from './helpers/grpc-call.js';

let etcd: EtcdProcess;
let cluster: TestCluster;

test.before(async () => {
  etcd = await startEtcd();
  cluster = await TestCluster.start({ etcd, nodes: 1, nodeOptions: { maxMessageBytes: 64 * 1024 } });
  await cluster.deploy('lin', linearModel({ weights: [1, 2, 3], bias: 0 }));
});
test.after.always(async () => {
  await cluster?.stop();
  await etcd?.destroy();
});

async function rejects(t: import('ava').ExecutionContext, request: object, code: grpc.status, pattern: RegExp): Promise<void> {
  const err = (await t.throwsAsync(unary(cluster.nodeClients[0]!, 'ModelInfer', request))) as grpc.ServiceError;
  t.is(err.code, code, err.details);
  t.regex(err.details, pattern);
}

const good = { name: 'x', datatype: 'FP32', shape: [1, 3] };
const goodRaw = encodeRaw(Float32Array.from([1, 2, 3]));

test('unknown model: NOT_FOUND', (t) =>
  rejects(t, { model_name: 'nope', inputs: [good], raw_input_contents: [goodRaw] }, grpc.status.NOT_FOUND, /model 'nope' is not served/));

test('unknown version: NOT_FOUND naming the loaded ones', (t) =>
  rejects(t, { model_name: 'lin', model_version: 'v9', inputs: [good], raw_input_contents: [goodRaw] }, grpc.status.NOT_FOUND, /v9.*loaded versions: v1/));

test('wrong input name: INVALID_ARGUMENT naming it', (t) =>
  rejects(t, { model_name: 'lin', inputs: [{ ...good, name: 'z' }], raw_input_contents: [goodRaw] }, grpc.status.INVALID_ARGUMENT, /unknown input 'z'.*x \(FP32/));

test('wrong datatype: INVALID_ARGUMENT', (t) =>
  rejects(t, { model_name: 'lin', inputs: [{ ...good, datatype: 'INT32' }], raw_input_contents: [goodRaw] }, grpc.status.INVALID_ARGUMENT, /input 'x' has datatype 'INT32'/));

test('unknown datatype: INVALID_ARGUMENT', (t) =>
  rejects(t, { model_name: 'lin', inputs: [{ ...good, datatype: 'BF16' }], raw_input_contents: [goodRaw] }, grpc.status.INVALID_ARGUMENT, /not a datatype Switchyard serves/));

test('wrong shape: INVALID_ARGUMENT', async (t) => {
  await rejects(t, { model_name: 'lin', inputs: [{ ...good, shape: [1, 4] }], raw_input_contents: [encodeRaw(new Float32Array(4))] }, grpc.status.INVALID_ARGUMENT, /input 'x'.*axis 1 must be 3/);
  await rejects(t, { model_name: 'lin', inputs: [{ ...good, shape: [3] }], raw_input_contents: [goodRaw] }, grpc.status.INVALID_ARGUMENT, /input 'x'.*rank 2/);
});

test('byte length that does not match the shape: INVALID_ARGUMENT', (t) =>
  rejects(t, { model_name: 'lin', inputs: [{ ...good, shape: [2, 3] }], raw_input_contents: [goodRaw] }, grpc.status.INVALID_ARGUMENT, /input 'x' has 12 raw bytes.*needs 24/));

test('missing input and raw/input count mismatch: INVALID_ARGUMENT', async (t) => {
  await rejects(t, { model_name: 'lin', inputs: [], raw_input_contents: [] }, grpc.status.INVALID_ARGUMENT, /missing input x/);
  await rejects(t, { model_name: 'lin', inputs: [good], raw_input_contents: [goodRaw, goodRaw] }, grpc.status.INVALID_ARGUMENT, /2 entries/);
});

test('typed contents with the wrong count: INVALID_ARGUMENT', (t) =>
  rejects(t, { model_name: 'lin', inputs: [{ ...good, contents: { fp32_contents: [1, 2] } }] }, grpc.status.INVALID_ARGUMENT, /2 values in contents.*needs 3/));

test('unknown requested output: INVALID_ARGUMENT', (t) =>
  rejects(t, { model_name: 'lin', inputs: [good], raw_input_contents: [goodRaw], outputs: [{ name: 'w' }] }, grpc.status.INVALID_ARGUMENT, /unknown output 'w'/));

test('message over the configured size: RESOURCE_EXHAUSTED, and the node keeps serving', async (t) => {
  const rows = 10_000;
  const err = (await t.throwsAsync(
    unary(cluster.nodeClients[0]!, 'ModelInfer', { model_name: 'lin', inputs: [{ ...good, shape: [rows, 3] }], raw_input_contents: [encodeRaw(new Float32Array(rows * 3))] }),
  )) as grpc.ServiceError;
  t.is(err.code, grpc.status.RESOURCE_EXHAUSTED);
  const ok = await unary<{ model_version: string }>(cluster.nodeClients[0]!, 'ModelInfer', { model_name: 'lin', inputs: [good], raw_input_contents: [goodRaw] });
  t.is(ok.model_version, 'v1');
});
