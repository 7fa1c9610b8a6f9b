import test from 'ava';
import { connect } from 'node:net';
import { decodeBytesRaw, encodeBytesRaw, encodeRaw, halvesToNumbers, NodeRecordSchema, numbersToHalves } from '@switchyard/core';
import { expectedLinear, float16Model, linearModel, startEtcd, stringLabelModel, twoOutputModel, type EtcdProcess } from '@switchyard/testkit';
import { TestCluster } from './helpers/cluster.js';

// The KServe v2 REST API of a node, through node's fetch (an independent
// HTTP client) and raw HTTP/1.1 bytes on a socket, as curl would send them.

let etcd: EtcdProcess;
let cluster: TestCluster;
let base: string;
const MAX_BODY = 256 * 1024;
const W = [1, 2, 3];

test.before(async () => {
  etcd = await startEtcd();
  cluster = await TestCluster.start({ etcd, nodes: 1, nodeOptions: { httpListen: '127.0.0.1:0', maxMessageBytes: MAX_BODY } });
  base = `http://${cluster.nodes[0]!.httpAddress!}`;
  await cluster.deploy('linear', linearModel({ weights: W, bias: 0.5 }));
  await cluster.deploy('two', twoOutputModel());
});
test.after.always(async () => {
  await cluster?.stop();
  await etcd?.destroy();
});

async function json(path: string, init?: RequestInit): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, init);
  return { status: res.status, body: await res.json() };
}
const post = (path: string, body: unknown) => json(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test.serial('health, server and model metadata, model ready', async (t) => {
  t.deepEqual(await json('/v2/health/live'), { status: 200, body: { live: true } });
  t.deepEqual(await json('/v2/health/ready'), { status: 200, body: { ready: true } });
  const server = await json('/v2');
  t.is(server.body.name, cluster.nodes[0]!.id);
  t.true(server.body.extensions.includes('binary_tensor_data'));
  const meta = await json('/v2/models/linear');
  t.deepEqual(meta.body, { name: 'linear', versions: ['v1'], platform: 'onnxruntime_onnx', inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }] });
  t.is((await json('/v2/models/linear/versions/v1')).body.name, 'linear');
  t.deepEqual(await json('/v2/models/linear/ready'), { status: 200, body: { name: 'linear', ready: true } });
  t.is((await json('/v2/models/linear/versions/v9/ready')).status, 400);
  const unknown = await json('/v2/models/nope');
  t.is(unknown.status, 404);
  t.regex(unknown.body.error, /model 'nope' is not served by this node/);
  const route = await json('/v3/whatever');
  t.is(route.status, 404);
  t.regex(route.body.error, /no such endpoint/);
});

test.serial('infer with JSON tensors, nested or flat; routing key and unknown parameters', async (t) => {
  const rows = [[1, 1, 1], [0.5, -2, 4]];
  const nested = await post('/v2/models/linear/infer', { id: 'r1', inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], data: rows }] });
  t.is(nested.status, 200);
  t.is(nested.body.id, 'r1');
  t.is(nested.body.model_version, 'v1');
  t.deepEqual(nested.body.outputs[0].shape, [2, 1]);
  const expected = expectedLinear(W, 0.5, rows);
  (nested.body.outputs[0].data as number[]).forEach((v, i) => t.true(Math.abs(v - expected[i]!) < 1e-5));
  const flat = await post('/v2/models/linear/versions/v1/infer', { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], data: rows.flat() }], parameters: { routing_key: 'user-1' } });
  t.deepEqual(flat.body.outputs[0].data, nested.body.outputs[0].data);
  const bad = await post('/v2/models/linear/infer', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: [1, 2, 3] }], parameters: { temperature: 0.2 } });
  t.is(bad.status, 400);
  t.regex(bad.body.error, /parameter 'temperature' \(request\) is not understood/);
  const shape = await post('/v2/models/linear/infer', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 4], data: [1, 2, 3, 4] }] });
  t.is(shape.status, 400);
  t.regex(shape.body.error, /input 'x' has shape \[1,4\]/);
  const notJson = await json('/v2/models/linear/infer', { method: 'POST', body: '{"inputs": [' });
  t.is(notJson.status, 400);
  t.regex(notJson.body.error, /not JSON/);
  const classified = await post('/v2/models/two/infer', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 3] }], outputs: [{ name: 'doubled', parameters: { classification: 1 } }] });
  t.deepEqual(classified.body.outputs, [{ name: 'doubled', datatype: 'BYTES', shape: [1, 1], data: ['6:1'] }]);
});

/** A binary-extension body: JSON header, then the given binary parts. */
function binaryBody(header: object, parts: Uint8Array[]): { body: Uint8Array<ArrayBuffer>; headers: Record<string, string> } {
  const json = Buffer.from(JSON.stringify(header));
  return { body: Uint8Array.from(Buffer.concat([json, ...parts])), headers: { 'inference-header-content-length': String(json.byteLength), 'content-type': 'application/octet-stream' } };
}

test.serial("Triton's binary tensor extension: binary inputs, binary outputs (all or per output)", async (t) => {
  const x = encodeRaw(Float32Array.from([1, 1, 1, 0, 0, 0]));
  const { body, headers } = binaryBody(
    { inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], parameters: { binary_data_size: x.byteLength } }], parameters: { binary_data_output: true } },
    [x],
  );
  const res = await fetch(`${base}/v2/models/linear/infer`, { method: 'POST', headers, body });
  t.is(res.status, 200);
  const headerLength = Number(res.headers.get('inference-header-content-length'));
  const bytes = Buffer.from(await res.arrayBuffer());
  const header = JSON.parse(bytes.subarray(0, headerLength).toString('utf8'));
  t.deepEqual(header.outputs[0], { name: 'y', datatype: 'FP32', shape: [2, 1], parameters: { binary_data_size: 8 } });
  const y = new Float32Array(Uint8Array.from(bytes.subarray(headerLength)).buffer);
  t.deepEqual(Array.from(y), [6.5, 0.5]);

  // Per output: 'sum' binary, 'doubled' JSON.
  const two = binaryBody(
    { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], parameters: { binary_data_size: 8 } }], outputs: [{ name: 'sum', parameters: { binary_data: true } }, { name: 'doubled', parameters: { binary_data: false } }] },
    [encodeRaw(Float32Array.from([2, 5]))],
  );
  const mixed = await fetch(`${base}/v2/models/two/infer`, { method: 'POST', headers: two.headers, body: two.body });
  const mixedBytes = Buffer.from(await mixed.arrayBuffer());
  const mixedLength = Number(mixed.headers.get('inference-header-content-length'));
  const mixedHeader = JSON.parse(mixedBytes.subarray(0, mixedLength).toString('utf8'));
  t.deepEqual(mixedHeader.outputs[1], { name: 'doubled', datatype: 'FP32', shape: [1, 2], data: [4, 10] });
  t.is(Buffer.from(mixedBytes.subarray(mixedLength)).readFloatLE(0), 7);

  const short = binaryBody({ inputs: [{ name: 'x', datatype: 'FP32', shape: [2, 3], parameters: { binary_data_size: 24 } }] }, [new Uint8Array(10)]);
  const refused = await json('/v2/models/linear/infer', { method: 'POST', headers: short.headers, body: short.body });
  t.is(refused.status, 400);
  t.regex(refused.body.error, /binary_data_size is 24 but only 10 bytes/);
});

test.serial('FP16 and BYTES over REST, as JSON and as binary data', async (t) => {
  await cluster.deploy('half', float16Model());
  await cluster.deploy('labels', stringLabelModel());
  const half = await post('/v2/models/half/infer', { inputs: [{ name: 'x', datatype: 'FP16', shape: [1, 2], data: [[0.5, -3]] }], outputs: [{ name: 'y' }] });
  t.deepEqual(half.body.outputs, [{ name: 'y', datatype: 'FP16', shape: [1, 2], data: [1, -6] }]);
  const hb = binaryBody({ inputs: [{ name: 'x', datatype: 'FP16', shape: [1, 2], parameters: { binary_data_size: 4 } }], outputs: [{ name: 'y', parameters: { binary_data: true } }] }, [encodeRaw(numbersToHalves([2, 4]))]);
  const halfBinary = Buffer.from(await (await fetch(`${base}/v2/models/half/infer`, { method: 'POST', headers: hb.headers, body: hb.body })).arrayBuffer());
  t.deepEqual(halvesToNumbers(new Uint16Array(Uint8Array.from(halfBinary.subarray(halfBinary.byteLength - 4)).buffer)), [4, 8]);

  const labels = await post('/v2/models/labels/infer', { inputs: [{ name: 'label', datatype: 'BYTES', shape: [3], data: ['cat', 'zebra', 'bird'] }] });
  const upper = labels.body.outputs.find((o: { name: string }) => o.name === 'upper');
  t.deepEqual(upper, { name: 'upper', datatype: 'BYTES', shape: [3], data: ['CAT', '?', 'BIRD'] });
  const ids = labels.body.outputs.find((o: { name: string }) => o.name === 'id');
  t.deepEqual(ids.data, [0, -1, 2]);
  const raw = encodeBytesRaw(['dog']);
  const lb = binaryBody({ inputs: [{ name: 'label', datatype: 'BYTES', shape: [1], parameters: { binary_data_size: raw.byteLength } }], outputs: [{ name: 'upper', parameters: { binary_data: true } }] }, [raw]);
  const labelBinary = await fetch(`${base}/v2/models/labels/infer`, { method: 'POST', headers: lb.headers, body: lb.body });
  const lbBytes = Buffer.from(await labelBinary.arrayBuffer());
  t.deepEqual(decodeBytesRaw(lbBytes.subarray(Number(labelBinary.headers.get('inference-header-content-length'))), 1, 'upper'), ['DOG']);
});

test.serial('statistics and the repository index over REST; load answers 501 pointing to the admin API', async (t) => {
  const stats = await json('/v2/models/linear/stats');
  t.is(stats.status, 200);
  t.is(stats.body.model_stats[0].name, 'linear');
  t.true(typeof stats.body.model_stats[0].inference_stats.success.count === 'number' && stats.body.model_stats[0].inference_stats.success.count > 0);
  const index = await post('/v2/repository/index', { ready: true });
  t.true((index.body as { name: string; state: string }[]).some((m) => m.name === 'linear' && m.state === 'READY'));
  const load = await post('/v2/repository/models/linear/load', {});
  t.is(load.status, 501);
  t.regex(load.body.error, /admin API/);
});

test.serial('bodies are bounded like gRPC messages: 413 with the limit named', async (t) => {
  const big = await post('/v2/models/linear/infer', { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: new Array(100_000).fill(1.2345) }] });
  t.is(big.status, 413);
  t.regex(big.body.error, new RegExp(`limit of ${MAX_BODY} bytes`));
});

test.serial('raw HTTP/1.1 bytes, as curl sends them', async (t) => {
  const [host, port] = cluster.nodes[0]!.httpAddress!.split(':');
  const body = '{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}';
  const request = `POST /v2/models/linear/infer HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`;
  const response = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), host!, () => socket.end(request));
    let text = '';
    socket.on('data', (d) => (text += d.toString('utf8')));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
  t.regex(response, /^HTTP\/1\.1 200 OK\r\n/);
  t.regex(response, /content-type: application\/json/i);
  const json = JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4));
  t.deepEqual(json.outputs[0].data, [14.5]);
});

test.serial("the node publishes its REST address in its etcd record, and the admin API's node info carries it", async (t) => {
  const node = cluster.nodes[0]!;
  const record = NodeRecordSchema.parse(JSON.parse((await cluster.client.get(cluster.keys.node(node.id)).string())!));
  t.is(record.httpAddress, node.httpAddress!);
  const status = await cluster.adminCall<{ nodes: { node: { node_id: string; http_address: string } }[] }>('GetClusterStatus', { summary_only: true });
  t.is(status.nodes.find((n) => n.node.node_id === node.id)?.node.http_address, node.httpAddress);
});
