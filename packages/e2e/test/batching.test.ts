// Dynamic batching, runtime settings, overload control and warm-up on samples (issue #17), on a real cluster.
import test from 'ava';
import { GrpcStatus, type RuntimeSettingsMessage } from '@switchyard/core';
import { encodeModel, int64Tensor, node, valueInfo } from '@switchyard/core/onnx';
import { expectedMlp, identityModel, int64Model, loopCountModel, mlpModel, slowModel, SLOW_MODEL_WIDTH, startEtcd, twoOutputModel, waitFor, type EtcdProcess } from '@switchyard/testkit';
import { unary } from './helpers/grpc-call.js';
import { TestCluster, outputValues } from './helpers/cluster.js';

let etcd: EtcdProcess;
let cluster: TestCluster;

test.before(async () => {
  etcd = await startEtcd();
  // Worker threads for every version: small test models would otherwise stay inline, where nothing queues.
  cluster = await TestCluster.start({ etcd, nodes: 1, nodeOptions: { sessionHosting: 'worker' } });
});
test.after.always(async () => {
  await cluster?.stop();
  await etcd?.destroy();
});

const MLP = { inputSize: 16, hidden: 32, layers: 2, seed: 7 };

async function deployWith(model: string, bytes: Uint8Array, runtime: RuntimeSettingsMessage, samples?: object): Promise<string> {
  const { sha256 } = await cluster.upload(bytes);
  const created = await cluster.admin.createVersion({
    model,
    artifact_sha256: sha256,
    runtime,
    ...(samples ? { samples_json: new TextEncoder().encode(JSON.stringify(samples)) } : {}),
  });
  t0ValidationPassed(created.validation?.state, created.validation?.reason);
  await cluster.setRoute(model, { [created.version]: 10_000 });
  await cluster.waitServing(model, created.version);
  return created.version;
}

function t0ValidationPassed(state: string | undefined, reason: string | undefined): void {
  if (state !== 'PASSED') throw new Error(`validation ${state}: ${reason}`);
}

const loadedOf = (model: string, version: string) => cluster.nodes[0]!.table.versions.get(`${model}/${version}`)!;

test.serial('concurrent requests are batched, and each gets exactly its own rows: raw and typed contents, routing keys', async (t) => {
  const version = await deployWith('mlp', mlpModel(MLP), { max_batch_size: 16, max_batch_delay_ms: 2 });
  t.is(loadedOf('mlp', version).runtime.maxBatchSize, 16);
  // Distinct rows per request, 1 to 3 rows each: a wrong split or a row of another request shows.
  const requests = Array.from({ length: 48 }, (_, i) => Array.from({ length: 1 + (i % 3) }, (_, r) => Array.from({ length: MLP.inputSize }, (_, k) => Math.sin(i * 31 + r * 7 + k))));
  const answers = await Promise.all(
    requests.map((rows, i) => {
      const input = { name: 'x', datatype: 'FP32' as const, shape: [rows.length, MLP.inputSize], data: Float32Array.from(rows.flat()) };
      if (i % 4 === 1) {
        // Typed contents.
        return unary<never>(cluster.nodeClients[0]!, 'ModelInfer', {
          model_name: 'mlp',
          inputs: [{ name: 'x', datatype: 'FP32', shape: input.shape, contents: { fp32_contents: Array.from(input.data) } }],
        }).then((res) => outputValues(res, 'y'));
      }
      const parameters = i % 4 === 2 ? { routing_key: { parameter_choice: 'string_param', string_param: `user-${i}` } } : undefined;
      return cluster.infer(0, 'mlp', [input], parameters ? { parameters: parameters as never } : {}).then((res) => outputValues(res, 'y'));
    }),
  );
  answers.forEach((got, i) => {
    const want = requests[i]!.flatMap((row) => expectedMlp(MLP, row));
    t.is(got.length, want.length, `request ${i}: rows`);
    t.true(
      got.every((v, k) => Math.abs(v - want[k]!) < 1e-4),
      `request ${i}: its own rows`,
    );
  });
  const stats = loadedOf('mlp', version).queueStats;
  t.true(stats.batchSize.count < requests.length, `fewer runs (${stats.batchSize.count}) than requests: some were batched`);
  t.is(stats.batchSize.sum, requests.reduce((n, r) => n + r.length, 0), 'every row computed once');
  const metrics = await fetchMetrics();
  t.regex(metrics, /switchyard_batch_size_bucket\{.*model="mlp"/);
  t.regex(metrics, /switchyard_queue_duration_seconds_count\{.*model="mlp"/);
});

test.serial("Triton's ModelStatistics reports the batches run: batch_stats per batch size, every row once, as many runs as executions", async (t) => {
  type Duration = { count: string; ns: string };
  const res = await unary<{ model_stats: { execution_count: string; batch_stats: { batch_size: string; compute_input: Duration; compute_infer: Duration; compute_output: Duration }[] }[] }>(
    cluster.nodeClients[0]!,
    'ModelStatistics',
    { name: 'mlp' },
  );
  const s = res.model_stats[0]!;
  const batches = s.batch_stats;
  t.true(batches.length > 0, 'batch_stats is filled');
  const stats = [...cluster.nodes[0]!.table.versions.values()].find((v) => v.model === 'mlp')!.queueStats;
  t.is(batches.reduce((n, b) => n + Number(b.batch_size) * Number(b.compute_infer.count), 0), stats.batchSize.sum, 'every row computed once, counted in its batch size');
  t.is(batches.reduce((n, b) => n + Number(b.compute_infer.count), 0), Number(s.execution_count), 'one entry per run');
  for (const b of batches) {
    t.true(Number(b.compute_infer.ns) > 0, `batch size ${b.batch_size} timed`);
    t.is(b.compute_input.count, b.compute_infer.count);
    t.is(b.compute_output.count, b.compute_infer.count);
  }
  t.true(batches.some((b) => Number(b.compute_input.ns) > 0), 'batched runs put their inputs together');
});

test.serial('INT64 and two-output models batch correctly; requests asking for other outputs are not mixed', async (t) => {
  await deployWith('ids', int64Model({ scale: 3, offset: -1 }), { max_batch_size: 8 });
  const ids = await Promise.all(
    Array.from({ length: 20 }, (_, i) => cluster.infer(0, 'ids', [{ name: 'ids', datatype: 'INT64', shape: [1, 4], data: BigInt64Array.from([1n, 2n, 3n, 4n].map((v) => v + BigInt(i * 10))) }])),
  );
  ids.forEach((res, i) => t.deepEqual(outputValues(res, 'out'), [1, 2, 3, 4].map((v) => (v + i * 10) * 3 - 1)));

  await deployWith('two', twoOutputModel(), { max_batch_size: 8 });
  const two = await Promise.all(
    Array.from({ length: 20 }, (_, i) =>
      unary<never>(cluster.nodeClients[0]!, 'ModelInfer', {
        model_name: 'two',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], contents: { fp32_contents: [i, 2 * i] } }],
        ...(i % 2 === 0 ? { outputs: [{ name: 'sum' }] } : {}),
      }).then((res) => ({ names: (res as { outputs: { name: string }[] }).outputs.map((o) => o.name).sort(), sum: outputValues(res, 'sum') })),
    ),
  );
  two.forEach((res, i) => {
    t.deepEqual(res.names, i % 2 === 0 ? ['sum'] : ['doubled', 'sum']);
    t.deepEqual(res.sum, [3 * i]);
  });
});

test.serial('a batch size on a model whose first dimension is fixed is refused at deploy, naming the input', async (t) => {
  const { sha256 } = await cluster.upload(identityModel('FP32', [1, 2]));
  const err = await t.throwsAsync(cluster.admin.createVersion({ model: 'fixed', artifact_sha256: sha256, runtime: { max_batch_size: 4 } }));
  t.is((err as { code?: number }).code, GrpcStatus.INVALID_ARGUMENT);
  t.regex(err!.message, /runtime\.maxBatchSize: 4 needs a variable first dimension.*input 'in' has shape \[1, 2\]/);
});

test.serial("changing a model's runtime settings swaps the serving version's sessions without a failed request", async (t) => {
  const version = loadedOf('mlp', 'v1').version;
  let stop = false;
  let ok = 0;
  const failures: string[] = [];
  const row = Array.from({ length: MLP.inputSize }, (_, k) => k / 10);
  const want = expectedMlp(MLP, row);
  const load = Promise.all(
    [0, 1, 2, 3].map(async () => {
      while (!stop) {
        try {
          const res = await cluster.infer(0, 'mlp', [{ name: 'x', datatype: 'FP32', shape: [1, MLP.inputSize], data: Float32Array.from(row) }]);
          if (!outputValues(res, 'y').every((v, k) => Math.abs(v - want[k]!) < 1e-4)) failures.push('wrong answer');
          ok++;
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    }),
  );
  await new Promise((r) => setTimeout(r, 100));
  const updated = await cluster.admin.updateModel({ name: 'mlp', update_mask: ['runtime'], runtime: { instances: 2, max_batch_size: 4 } });
  t.is(updated.runtime?.instances, 2);
  // The version's own max_batch_size (16) wins over the model's 4; instances come from the model.
  await waitFor(() => loadedOf('mlp', version).sessions.length === 2, { timeoutMs: 15_000, message: 'the new session set swapped in' });
  await new Promise((r) => setTimeout(r, 100));
  stop = true;
  await load;
  t.deepEqual(failures, []);
  t.true(ok > 10);
  t.is(loadedOf('mlp', version).runtime.maxBatchSize, 16);
  const shown = await cluster.admin.getVersion('mlp', version);
  t.is(shown.effective_runtime?.instances, 2);
  t.is(shown.effective_runtime?.max_batch_size, 16);
});

test.serial('a full queue refuses at once with RESOURCE_EXHAUSTED naming the limit; health checks stay answered', async (t) => {
  await deployWith('slow', slowModel({ iterations: 100 }), { queue_size: 2 });
  const input = { name: 'x', datatype: 'FP32' as const, shape: [1, SLOW_MODEL_WIDTH], data: new Float32Array(SLOW_MODEL_WIDTH).fill(0.001) };
  const calls = Array.from({ length: 10 }, () => cluster.infer(0, 'slow', [input]).then(() => 'ok', (err: { code?: number; message: string }) => err));
  const live = performance.now();
  await unary(cluster.nodeClients[0]!, 'ServerLive', {});
  const liveMs = performance.now() - live;
  const results = await Promise.all(calls);
  const refused = results.filter((r): r is { code?: number; message: string } => r !== 'ok');
  t.true(refused.length >= 1, `some refused (${refused.length})`);
  t.true(refused.every((e) => e.code === GrpcStatus.RESOURCE_EXHAUSTED && /queueSize: 2/.test(e.message)), refused.map((e) => e.message).join('; '));
  t.true(results.filter((r) => r === 'ok').length >= 3, 'one running and two queued are answered');
  t.true(liveMs < 2_000, `ServerLive answered in ${Math.round(liveMs)} ms`);
});

test.serial('a version that cannot run on zeros of one row warms up on its samples and serves', async (t) => {
  // Reshape to [2, -1]: three values per row cannot split in two, six can.
  const bytes = encodeModel({
    name: 'pairs',
    nodes: [node('Reshape', ['x', 'shape'], ['y'])],
    initializers: [int64Tensor('shape', [2], [2, -1])],
    inputs: [valueInfo('x', 'FP32', ['batch', 3])],
    outputs: [valueInfo('y', 'FP32', ['a', 'b'])],
  });
  const samples = { samples: [{ name: 'two-rows', inputs: { x: { datatype: 'FP32', data: [[1, 2, 3], [4, 5, 6]] } } }] };
  const version = await deployWith('pairs', bytes, {}, samples);
  t.is(loadedOf('pairs', version).warmupSource, 'samples');
  const res = await cluster.infer(0, 'pairs', [{ name: 'x', datatype: 'FP32', shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }]);
  t.deepEqual(outputValues(res, 'y'), [1, 2, 3, 4, 5, 6]);
});

test.serial("a process-hosted version runs `instances` processes sharing its queue, and its own run time-out bounds a run under the caller's deadline", async (t) => {
  // A loop whose count the request chooses: its cost is not known from shapes, so every run goes to a session process.
  const version = await deployWith('loop', loopCountModel(), { instances: 2, run_timeout_ms: 1500 });
  const loaded = loadedOf('loop', version);
  t.deepEqual(loaded.sessions.map((s) => s.host), ['process', 'process']);
  t.is(loaded.runtime.runTimeoutMs, 1500);
  t.is((await cluster.admin.getVersion('loop', version)).effective_runtime?.run_timeout_ms, 1500);
  const loop = (count: bigint) =>
    cluster.infer(0, 'loop', [{ name: 'count', datatype: 'INT64', shape: [1], data: BigInt64Array.from([count]) }], { deadlineMs: 60_000 });
  let hostileDone = false;
  const hostile = loop(1_000_000_000_000n).finally(() => (hostileDone = true));
  // The second process answers while the first is busy: with one instance this would wait behind the hostile run.
  await waitFor(() => loaded.queue.active >= 1, { timeoutMs: 10_000, message: 'the hostile run started' });
  t.deepEqual(outputValues(await loop(10n), 'acc'), [10]);
  t.false(hostileDone, 'answered while the hostile run was still going');
  const err = await t.throwsAsync(hostile);
  t.is((err as { code?: number }).code, GrpcStatus.DEADLINE_EXCEEDED);
  // The version's 1.5 s, not the node's default (30 s) nor the caller's 60 s.
  t.regex(err!.message, /did not finish within 1500 ms/);
  t.deepEqual(outputValues(await loop(3n), 'acc'), [3]);
});

test.serial("a model's new runtime defaults are refused when a version taking them cannot batch, naming version and input", async (t) => {
  const { sha256 } = await cluster.upload(identityModel('FP32', [1, 2]));
  const created = await cluster.admin.createVersion({ model: 'pinned-rows', artifact_sha256: sha256 });
  const err = await t.throwsAsync(cluster.admin.updateModel({ name: 'pinned-rows', update_mask: ['runtime'], runtime: { max_batch_size: 8 } }));
  t.is((err as { code?: number }).code, GrpcStatus.INVALID_ARGUMENT);
  t.regex(err!.message, new RegExp(`runtime\\.maxBatchSize: 8 would apply to version '${created.version}'.*input 'in' has shape \\[1, 2\\]`));
  t.is((await cluster.admin.getModel('pinned-rows')).runtime, null, 'nothing was written');
  // Settings a fixed first dimension can run are taken.
  await cluster.admin.updateModel({ name: 'pinned-rows', update_mask: ['runtime'], runtime: { queue_size: 16 } });
  // And a deploy that would inherit a batch size it cannot use is refused the same way, unless it sets its own.
  await cluster.admin.updateModel({ name: 'mlp', update_mask: ['runtime'], runtime: { max_batch_size: 4 } });
  const inherit = await t.throwsAsync(cluster.admin.createVersion({ model: 'mlp', artifact_sha256: sha256 }));
  t.regex(inherit!.message, /maxBatchSize: 4 would apply to version 'v\d+'.*input 'in'/);
  const own = await cluster.admin.createVersion({ model: 'mlp', artifact_sha256: sha256, runtime: { max_batch_size: 1 } });
  t.is(own.effective_runtime?.max_batch_size, 1);
});

async function fetchMetrics(): Promise<string> {
  return cluster.nodes[0]!.metrics.registry.metrics();
}
