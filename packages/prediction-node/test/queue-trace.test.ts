// What a traced request's queue wait and run report (the spans of tracing.ts come from these calls).
import test from 'ava';
import ort from 'onnxruntime-node';
import { QueueStats } from '../src/queue-metrics.js';
import { VersionQueue, type QueueTrace } from '../src/version-queue.js';

import { controlled, type Out } from './helpers/controlled-session.js';


function recorder(name: string, events: string[]): QueueTrace {
  return {
    queued: (from, to) => events.push(`${name} queued ${to - from}`),
    computed: (from, to, rows, requests, error) => events.push(`${name} computed ${to - from} rows=${rows} requests=${requests}${error ? ' error' : ''}`),
  };
}

const rows = (n: number) => ({ x: new ort.Tensor('float32', new Float32Array(n), [n, 1]) });
const tick = () => new Promise((r) => setImmediate(r));

test('each traced request reports its wait and its run; in a batch every request reports the batch run with its size; untraced requests report nothing', async (t) => {
  let clock = 0;
  const { session, runs } = controlled();
  const q = new VersionQueue({
    sessions: [session],
    settings: { maxBatchSize: 8, maxBatchDelayMs: 0, preferredBatchSizes: [], queueSize: 16, queueTimeoutMs: 0 },
    batchable: true,
    stats: new QueueStats('m', 'v1'),
    label: 'm v1',
    now: () => clock,
  });
  const events: string[] = [];
  const lone = q.submit(rows(1), ['y'], { remainingMs: Infinity, trace: recorder('lone', events) });
  t.deepEqual(events, ['lone queued 0'], 'it ran at once');
  clock = 5;
  const a = q.submit(rows(2), ['y'], { remainingMs: Infinity, trace: recorder('a', events) });
  const untraced = q.submit(rows(1), ['y'], { remainingMs: Infinity });
  const b = q.submit(rows(3), ['y'], { remainingMs: Infinity, trace: recorder('b', events) });
  clock = 12;
  runs[0]!.answer();
  await lone;
  await tick();
  t.deepEqual(events, ['lone queued 0', 'lone computed 12 rows=1 requests=1', 'a queued 7', 'b queued 7']);
  clock = 20;
  runs[1]!.answer();
  await Promise.all([a, b, untraced]);
  t.deepEqual(events.slice(4), ['a computed 8 rows=6 requests=3', 'b computed 8 rows=6 requests=3']);
});

test('a failed run is reported as such', async (t) => {
  const { session, runs } = controlled();
  const q = new VersionQueue({ sessions: [session], settings: { maxBatchSize: 1, maxBatchDelayMs: 0, preferredBatchSizes: [], queueSize: 16, queueTimeoutMs: 0 }, batchable: false, stats: new QueueStats('m', 'v1'), label: 'm v1' });
  const events: string[] = [];
  const run = q.submit(rows(1), ['y'], { remainingMs: Infinity, trace: recorder('r', events) });
  runs[0]!.fail(new Error('bad input'));
  await t.throwsAsync(run);
  await tick();
  t.true(events[1]!.startsWith('r computed') && events[1]!.endsWith('error'), events.join('; '));
});
