import test from 'ava';
import ort from 'onnxruntime-node';
import { QueueStats } from '../src/queue-metrics.js';
import type { VersionSession } from '../src/session-interface.js';
import { queueFigures, versionStatistics } from '../src/triton-extensions.js';
import { VersionQueue } from '../src/version-queue.js';
import { LocalVersionStates } from '../src/version-states.js';

const loaded = { model: 'm', version: 'v1', stats: { requests: 4, errors: 1, latencySum: 0.002, lastUsedMs: 1700000000000 } };

test('statistics without queue figures: all time is compute, every request a run', (t) => {
  const s = versionStatistics(loaded, undefined) as Record<string, unknown> & { inference_stats: Record<string, { count: string; ns: string }> };
  t.is(s.inference_count, '4');
  t.is(s.execution_count, '4');
  t.is(s.last_inference, '1700000000000');
  t.deepEqual(s.inference_stats.success, { count: '4', ns: '2000000' });
  t.deepEqual(s.inference_stats.fail, { count: '1', ns: '0' });
  t.deepEqual(s.inference_stats.compute_infer, s.inference_stats.success);
  t.deepEqual(s.inference_stats.queue, { count: '0', ns: '0' });
  t.deepEqual(s.batch_stats, []);
});

test('statistics with queue figures (what a batching queue fills): queue, runs and per batch size', (t) => {
  const s = versionStatistics(loaded, {
    queue: { count: 4, ns: 5000 },
    computeInfer: { count: 2, ns: 1_500_000 },
    batches: new Map([[3, { count: 1, inputNs: 1000, inferNs: 1_000_000, outputNs: 2000 }], [1, { count: 1, inputNs: 0, inferNs: 500_000, outputNs: 0 }]]),
    inferences: 4,
  }) as Record<string, unknown> & { inference_stats: Record<string, { count: string; ns: string }>; batch_stats: Record<string, { count: string; ns: string } | string>[] };
  t.is(s.execution_count, '2');
  t.deepEqual(s.inference_stats.queue, { count: '4', ns: '5000' });
  t.deepEqual(s.batch_stats.map((b) => b.batch_size), ['1', '3']);
  t.deepEqual(s.batch_stats[1], {
    batch_size: '3',
    compute_input: { count: '1', ns: '1000' },
    compute_infer: { count: '1', ns: '1000000' },
    compute_output: { count: '1', ns: '2000' },
  });
});

/** A session whose runs wait until the test answers them (y = x·10). */
function controlledSession() {
  const answers: (() => void)[] = [];
  const session = {
    host: 'worker',
    inputNames: ['x'],
    outputNames: ['y'],
    run: (feeds: Record<string, ort.Tensor>) =>
      new Promise<Record<string, ort.Tensor>>((resolve) => {
        const x = feeds.x!;
        answers.push(() => resolve({ y: new ort.Tensor('float32', Float32Array.from(x.data as Float32Array, (v) => v * 10), x.dims) }));
      }),
    release: async () => undefined,
  } as unknown as VersionSession;
  return { session, answers };
}

const rows = (n: number) => ({ x: new ort.Tensor('float32', new Float32Array(n * 2), [n, 2]) });
const tick = () => new Promise((r) => setImmediate(r));

test('batch_stats come from the runs a batching queue made: one entry per batch size run, with its successful runs and their times', async (t) => {
  const stats = new QueueStats('m', 'v1');
  const { session, answers } = controlledSession();
  const q = new VersionQueue({ sessions: [session], settings: { maxBatchSize: 8, maxBatchDelayMs: 0, preferredBatchSizes: [], queueSize: 16, queueTimeoutMs: 0 }, batchable: true, stats, label: 'm v1' });
  t.is(queueFigures(stats), undefined, 'nothing run yet: the request time stands for compute');
  const first = q.submit(rows(1), ['y'], { remainingMs: Infinity });
  // Arrive while the first runs: one batch of 2 + 3 rows.
  const a = q.submit(rows(2), ['y'], { remainingMs: Infinity });
  const b = q.submit(rows(3), ['y'], { remainingMs: Infinity });
  answers[0]!();
  await first;
  await tick();
  answers[1]!();
  await Promise.all([a, b]);
  const s = versionStatistics(loaded, queueFigures(stats)) as { execution_count: string; batch_stats: { batch_size: string; compute_input: { count: string; ns: string }; compute_infer: { count: string; ns: string }; compute_output: { count: string } }[] };
  t.is(s.execution_count, '2');
  t.deepEqual(s.batch_stats.map((b) => [b.batch_size, b.compute_infer.count, b.compute_input.count, b.compute_output.count]), [['1', '1', '1', '1'], ['5', '1', '1', '1']]);
  t.true(Number(s.batch_stats[1]!.compute_infer.ns) > 0, 'the batched run was timed');
  t.is(s.batch_stats[0]!.compute_input.ns, '0', 'a run of one request puts nothing together');
});

test('local version states follow the reports, name a failed load UNAVAILABLE with its error, and pass every report on', (t) => {
  const passed: string[] = [];
  const states = new LocalVersionStates({ report: (s) => passed.push(`${s.model}/${s.version}=${s.state}`), clear: (m, v) => passed.push(`clear ${m}/${v}`) });
  states.report({ model: 'b', version: 'v1', state: 'LOADING', error: '', attempts: 1 });
  states.report({ model: 'a', version: 'v2', state: 'FAILED', error: 'bad bytes', attempts: 1 });
  states.report({ model: 'b', version: 'v1', state: 'READY', error: '', attempts: 1 });
  t.deepEqual(states.list(), [
    { model: 'a', version: 'v2', state: 'UNAVAILABLE', reason: 'bad bytes' },
    { model: 'b', version: 'v1', state: 'READY', reason: '' },
  ]);
  states.clear('a', 'v2');
  t.is(states.list().length, 1);
  t.deepEqual(passed, ['b/v1=LOADING', 'a/v2=FAILED', 'b/v1=READY', 'clear a/v2']);
});
