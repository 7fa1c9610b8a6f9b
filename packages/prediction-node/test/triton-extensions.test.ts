import test from 'ava';
import { versionStatistics } from '../src/triton-extensions.js';
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
    batches: new Map([[3, { count: 1, ns: 1_000_000 }], [1, { count: 1, ns: 500_000 }]]),
    inferences: 4,
  }) as Record<string, unknown> & { inference_stats: Record<string, { count: string; ns: string }>; batch_stats: { batch_size: string }[] };
  t.is(s.execution_count, '2');
  t.deepEqual(s.inference_stats.queue, { count: '4', ns: '5000' });
  t.deepEqual(s.batch_stats.map((b) => b.batch_size), ['1', '3']);
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
