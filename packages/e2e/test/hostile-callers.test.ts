// A node must survive any caller (issue #14): names it does not know, idle
// connections, responses nobody reads, and many large requests at once.
import { connect as http2Connect, constants as h2 } from 'node:http2';
import { connect as netConnect, type Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import anyTest, { type TestFn } from 'ava';
import { encodeRaw, splitHostPort } from '@switchyard/core';
import { inferenceService } from '@switchyard/core/grpc';
import { allocationModel, linearModel, loopCountModel, waitFor } from '@switchyard/testkit';
import { TestCluster } from './helpers/cluster.js';
import { unary } from './helpers/grpc-call.js';

const MIB = 1024 * 1024;
const test = anyTest.serial as TestFn<{ cluster: TestCluster }>;

test.before(async (t) => {
  t.timeout(120_000);
  const cluster = await TestCluster.start({
    nodes: 1,
    nodeOptions: {
      metricsListen: '127.0.0.1:0',
      runTimeoutMs: 3000,
      maxInFlightBytes: 40 * MIB,
      maxConnections: 300,
      connectionIdleMs: 1000,
    },
    controlPlaneOptions: { connectionIdleMs: 1000 },
  });
  t.context = { cluster };
  await cluster.deploy('linear', linearModel({ weights: [1, 2, 3], bias: 0.5 }));
  await cluster.deploy('alloc', allocationModel());
  await cluster.deploy('ballast', loopCountModel({ ballast: true }));
});

test.after.always(async (t) => {
  await t.context.cluster?.stop();
});

async function scrape(cluster: TestCluster): Promise<string> {
  return (await fetch(`http://${cluster.nodes[0]!.metricsAddress}/metrics`)).text();
}

function sample(text: string, prefix: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(prefix));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

test('requests naming unknown models or versions are counted under one label, so /metrics stays bounded', async (t) => {
  t.timeout(120_000);
  const { cluster } = t.context;
  const before = (await scrape(cluster)).length;
  const calls = 2000;
  const client = cluster.nodeClients[0]!;
  for (let i = 0; i < calls; i += 100) {
    await Promise.all(
      Array.from({ length: 100 }, (_, k) =>
        unary(client, 'ModelInfer', { model_name: `no-such-model-${i + k}-${'x'.repeat(200)}`, model_version: `v-${i + k}`, inputs: [], raw_input_contents: [] }).catch(
          (err: grpc.ServiceError) => t.is(err.code, grpc.status.NOT_FOUND),
        ),
      ),
    );
  }
  // A known model with a version nobody loaded: the model keeps its label, the version does not.
  await t.throwsAsync(unary(client, 'ModelInfer', { model_name: 'linear', model_version: 'v-nope', inputs: [], raw_input_contents: [] }));
  const text = await scrape(cluster);
  t.is(sample(text, 'switchyard_request_errors_total{model="unknown",version="unknown",code="5"'), calls);
  t.is(sample(text, 'switchyard_request_errors_total{model="linear",version="unknown",code="5"'), 1);
  t.false(text.includes('no-such-model'));
  t.log(`/metrics: ${before} bytes before, ${text.length} after ${calls} calls with unknown names`);
  t.true(text.length - before < 2000);
});

test('idle connections are closed after the idle time-out, and connections past the cap at once', async (t) => {
  t.timeout(60_000);
  const { cluster } = t.context;
  const { host, port } = splitHostPort(cluster.nodes[0]!.address);
  const sockets: Socket[] = [];
  let closed = 0;
  await Promise.all(
    Array.from({ length: 500 }, () => {
      const socket = netConnect(Number(port), host);
      sockets.push(socket);
      socket.on('error', () => undefined);
      socket.once('close', () => closed++);
      // Reads (and drops) what the server sends, so the server's FIN is seen and the socket closes.
      socket.resume();
      // A client that opens HTTP/2 and never calls: what an idle client leaves.
      return new Promise<void>((resolve) => socket.once('connect', () => (socket.write(h2Preface()), resolve())).once('close', () => resolve()));
    }),
  );
  try {
    await waitFor(() => closed >= 200, { timeoutMs: 20_000, message: 'connections past the cap of 300 closed' });
    t.log(`${closed} of 500 closed shortly after opening (cap 300)`);
    await waitFor(() => closed === 500, { timeoutMs: 30_000, message: 'every idle connection closed' });
  } finally {
    for (const s of sockets) s.destroy();
  }
  // The node still takes calls.
  const response = await cluster.infer(0, 'linear', [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: Float32Array.from([1, 1, 1]) }]);
  t.is(response.model_name, 'linear');
});

test('idle connections to the control plane are closed after its idle time-out', async (t) => {
  t.timeout(60_000);
  const { cluster } = t.context;
  const { host, port } = splitHostPort(cluster.controlPlane.address);
  const sockets = await openIdle(host, Number(port), 300);
  try {
    await waitFor(() => sockets.every((s) => s.closed), { timeoutMs: 30_000, message: 'every idle control-plane connection closed' });
  } finally {
    for (const s of sockets) s.destroy();
  }
  t.pass();
});

test('a response nobody reads holds the in-flight budget only until its client goes away', async (t) => {
  t.timeout(60_000);
  const { cluster } = t.context;
  const session = http2Connect(`http://${cluster.nodes[0]!.address}`, { settings: { initialWindowSize: 65_535 } });
  session.on('error', () => undefined);
  const Inference = inferenceService();
  const message = Buffer.from(
    (Inference.service as unknown as Record<string, { requestSerialize: (v: object) => Buffer }>)['ModelInfer']!.requestSerialize({
      model_name: 'alloc',
      inputs: [{ name: 'shape', datatype: 'INT64', shape: [2] }],
      raw_input_contents: [encodeRaw(BigInt64Array.from([2048n, 4096n]))],
    }),
  );
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, 5);
  const streams = Array.from({ length: 3 }, () => {
    const stream = session.request({
      [h2.HTTP2_HEADER_METHOD]: 'POST',
      [h2.HTTP2_HEADER_PATH]: '/inference.GRPCInferenceService/ModelInfer',
      'content-type': 'application/grpc',
      te: 'trailers',
    });
    stream.on('error', () => undefined);
    stream.pause();
    stream.end(frame);
    return stream;
  });
  // Three 32 MiB responses no one reads: one fits the 40 MiB budget and stays counted while the client is there; the others are refused.
  await waitFor(async () => (sample(await scrape(cluster), 'switchyard_in_flight_request_bytes') ?? 0) >= 32 * MIB, {
    timeoutMs: 30_000,
    message: 'an unread response counted',
  });
  const held = sample(await scrape(cluster), 'switchyard_in_flight_request_bytes')!;
  t.log(`held while unread: ${(held / MIB).toFixed(1)} MiB (budget 40 MiB)`);
  t.true(held <= 40 * MIB);
  // The budget is full: a further large request is refused at once, naming the limit.
  const refused = await t.throwsAsync(
    cluster.infer(0, 'ballast', [
      { name: 'count', datatype: 'INT64', shape: [1], data: BigInt64Array.from([1n]) },
      { name: 'ballast', datatype: 'FP32', shape: [3 * MIB], data: new Float32Array(3 * MIB) },
    ]),
  );
  t.is((refused as grpc.ServiceError).code, grpc.status.RESOURCE_EXHAUSTED);
  t.regex((refused as grpc.ServiceError).details, /maxInFlightBytes/);
  for (const s of streams) s.destroy();
  session.destroy();
  await waitFor(async () => sample(await scrape(cluster), 'switchyard_in_flight_request_bytes') === 0, {
    timeoutMs: 30_000,
    message: 'the budget given back once the client went away',
  });
  t.pass();
});

test('concurrent large requests past the in-flight budget are refused at once with RESOURCE_EXHAUSTED', async (t) => {
  t.timeout(60_000);
  const { cluster } = t.context;
  // Each holds 12 MiB for as long as its run takes (a long loop, stopped at the 3 s run time-out).
  const big = () =>
    cluster
      .infer(
        0,
        'ballast',
        [
          { name: 'count', datatype: 'INT64', shape: [1], data: BigInt64Array.from([1_000_000_000_000n]) },
          { name: 'ballast', datatype: 'FP32', shape: [3 * MIB], data: new Float32Array(3 * MIB) },
        ],
        { deadlineMs: 30_000 },
      )
      .then(
        () => grpc.status.OK,
        (err: grpc.ServiceError) => err,
      );
  // A fresh call first: the 1 s idle time-out of this cluster must not close the connection under the burst.
  await cluster.infer(0, 'linear', [{ name: 'x', datatype: 'FP32', shape: [1, 3], data: Float32Array.from([1, 1, 1]) }]);
  const results = await Promise.all(Array.from({ length: 6 }, big));
  const codes = results.map((r) => (typeof r === 'number' ? r : r.code));
  const refused = results.filter((r): r is grpc.ServiceError => typeof r !== 'number' && r.code === grpc.status.RESOURCE_EXHAUSTED);
  t.log(`codes of 6 concurrent 12 MiB requests with a 40 MiB budget: ${codes.join(', ')}`);
  t.log(results.map((r) => (typeof r === 'number' ? 'OK' : r.details)).join('\n'));
  t.true(refused.length >= 3, 'at most three fit in 40 MiB');
  t.regex(refused[0]!.details, /in-flight request bytes limit \(maxInFlightBytes/);
  await waitFor(async () => sample(await scrape(cluster), 'switchyard_in_flight_request_bytes') === 0, { timeoutMs: 30_000, message: 'budget given back' });
});

/** `count` connections that open HTTP/2 and never call. */
async function openIdle(host: string, port: number, count: number): Promise<Socket[]> {
  return Promise.all(
    Array.from({ length: count }, () => {
      const socket = netConnect(port, host);
      socket.on('error', () => undefined);
      socket.resume();
      return new Promise<Socket>((resolve) => socket.once('connect', () => (socket.write(h2Preface()), resolve(socket))).once('close', () => resolve(socket)));
    }),
  );
}

/** The HTTP/2 client preface and an empty SETTINGS frame. */
function h2Preface(): Buffer {
  return Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0])]);
}
