// The per-version queue in front of sessions the test controls.
import test from 'ava';
import ort from 'onnxruntime-node';
import { GrpcStatus, SwitchyardError } from '@switchyard/core';
import { QueueStats } from '../src/queue-metrics.js';
import { isQueueRefusal, VersionQueue, type QueueSettings } from '../src/version-queue.js';

import { controlled, type Out } from './helpers/controlled-session.js';


const x = (...rows: number[][]) => ({ x: new ort.Tensor('float32', Float32Array.from(rows.flat()), [rows.length, rows[0]!.length]) });
const settings = (o: Partial<QueueSettings> = {}): QueueSettings => ({ maxBatchSize: 8, maxBatchDelayMs: 0, preferredBatchSizes: [], queueSize: 16, queueTimeoutMs: 0, ...o });
const tick = () => new Promise((r) => setImmediate(r));

function queue(o: Partial<QueueSettings> = {}, sessions = 1, batchable = true) {
  const made = Array.from({ length: sessions }, () => controlled());
  const stats = new QueueStats('m', 'v1');
  const q = new VersionQueue({ sessions: made.map((m) => m.session), settings: settings(o), batchable, stats, label: "model 'm' version 'v1'" });
  return { q, runs: made.map((m) => m.runs), stats };
}

const values = (out: Out) => Array.from(out.y!.data as Float32Array);

test('a lone request runs at once; requests arriving meanwhile run as one batch and each gets its own rows back', async (t) => {
  const { q, runs, stats } = queue();
  const first = q.submit(x([1, 2]), ['y'], { remainingMs: Infinity });
  t.is(runs[0]!.length, 1, 'no wait for company');
  const a = q.submit(x([3, 4], [5, 6]), ['y'], { remainingMs: Infinity });
  const b = q.submit(x([7, 8]), ['y'], { remainingMs: Infinity });
  t.is(q.waiting, 2);
  runs[0]![0]!.answer();
  t.deepEqual(values(await first), [10, 20]);
  await tick();
  t.is(runs[0]!.length, 2);
  t.deepEqual(runs[0]![1]!.feeds.x!.dims, [3, 2], 'one run of three rows');
  runs[0]![1]!.answer();
  const [ra, rb] = await Promise.all([a, b]);
  t.deepEqual(values(ra), [30, 40, 50, 60]);
  t.deepEqual(ra.y!.dims, [2, 2]);
  t.deepEqual(values(rb), [70, 80]);
  t.deepEqual(rb.y!.dims, [1, 2]);
  t.is(stats.batchSize.count, 2);
  t.is(stats.batchSize.sum, 4);
});

test('requests with other non-batch shapes are not mixed; a version that cannot batch runs each alone', async (t) => {
  const { q, runs } = queue();
  const busy = q.submit(x([0]), ['y'], { remainingMs: Infinity });
  const narrow = q.submit(x([1]), ['y'], { remainingMs: Infinity });
  const wide = q.submit(x([1, 2, 3]), ['y'], { remainingMs: Infinity });
  runs[0]![0]!.answer();
  await busy;
  await tick();
  t.deepEqual(runs[0]![1]!.feeds.x!.dims, [1, 1]);
  runs[0]![1]!.answer();
  await narrow;
  await tick();
  t.deepEqual(runs[0]![2]!.feeds.x!.dims, [1, 3]);
  runs[0]![2]!.answer();
  await wide;

  const solo = queue({}, 1, false);
  const p = [0, 1, 2].map((i) => solo.q.submit(x([i]), ['y'], { remainingMs: Infinity }));
  for (let i = 0; i < 3; i++) {
    await tick();
    t.deepEqual(solo.runs[0]![i]!.feeds.x!.dims, [1, 1]);
    solo.runs[0]![i]!.answer();
  }
  t.deepEqual((await Promise.all(p)).map(values), [[0], [10], [20]]);
});

test('a full queue refuses at once with RESOURCE_EXHAUSTED naming the limit; a primary takes a shadow\'s place', async (t) => {
  const { q, runs, stats } = queue({ queueSize: 2 });
  const running = q.submit(x([1]), ['y'], { remainingMs: Infinity });
  const shadow = q.submit(x([2]), ['y'], { remainingMs: Infinity, shadow: true });
  const waiting = q.submit(x([3]), ['y'], { remainingMs: Infinity });
  const evicting = q.submit(x([4]), ['y'], { remainingMs: Infinity });
  const shadowErr = await t.throwsAsync(shadow);
  t.true(isQueueRefusal(shadowErr));
  const err = await t.throwsAsync(q.submit(x([5]), ['y'], { remainingMs: Infinity }));
  t.is((err as SwitchyardError).code, GrpcStatus.RESOURCE_EXHAUSTED);
  t.regex(err!.message, /queueSize: 2/);
  t.is(stats.rejections('queue_full'), 1);
  t.is(stats.rejections('shadow_dropped'), 1);
  runs[0]![0]!.answer();
  await running;
  await tick();
  runs[0]![1]!.answer();
  t.deepEqual((await Promise.all([waiting, evicting])).map(values), [[30], [40]]);
});

test('a request whose queue time-out or deadline passes while it waits is dropped and never run', async (t) => {
  const { q, runs, stats } = queue({ queueTimeoutMs: 20 });
  const running = q.submit(x([1]), ['y'], { remainingMs: Infinity });
  const byQueue = q.submit(x([2]), ['y'], { remainingMs: Infinity });
  const byDeadline = q.submit(x([3, 3]), ['y'], { remainingMs: 10 });
  const e1 = await t.throwsAsync(byQueue);
  const e2 = await t.throwsAsync(byDeadline);
  t.is((e1 as SwitchyardError).code, GrpcStatus.DEADLINE_EXCEEDED);
  t.regex(e1!.message, /queue time-out \(runtime queueTimeoutMs: 20\)/);
  t.regex(e2!.message, /deadline passed while it waited/);
  t.is(stats.rejections('queue_timeout'), 1);
  t.is(stats.rejections('deadline'), 1);
  runs[0]![0]!.answer();
  await running;
  await tick();
  t.is(runs[0]!.length, 1, 'nothing computed for callers who have gone');
});

test('a cancelled caller is dropped when its turn comes', async (t) => {
  const { q, runs, stats } = queue();
  const running = q.submit(x([1]), ['y'], { remainingMs: Infinity });
  const cancel = { cancelled: false };
  const gone = q.submit(x([2]), ['y'], { remainingMs: Infinity, cancel });
  cancel.cancelled = true;
  runs[0]![0]!.answer();
  await running;
  const err = await t.throwsAsync(gone);
  t.is((err as SwitchyardError).code, GrpcStatus.CANCELLED);
  t.is(stats.rejections('cancelled'), 1);
  t.is(runs[0]!.length, 1);
});

test('instances share one queue: a request goes to whichever session is free', async (t) => {
  const { q, runs } = queue({ maxBatchSize: 1 }, 2);
  const a = q.submit(x([1]), ['y'], { remainingMs: Infinity });
  const b = q.submit(x([2]), ['y'], { remainingMs: Infinity });
  t.is(runs[0]!.length + runs[1]!.length, 2, 'both run at once');
  const c = q.submit(x([3]), ['y'], { remainingMs: Infinity });
  t.is(q.waiting, 1);
  runs[1]![0]!.answer();
  await tick();
  t.is(runs[1]!.length, 2, 'the freed session takes the next');
  runs[0]![0]!.answer();
  runs[1]![1]!.answer();
  t.deepEqual((await Promise.all([a, b, c])).map(values).flat().sort(), [10, 20, 30]);
});

test('pipelined: a worker-hosted session takes a second run while one computes; the next waits in the queue', async (t) => {
  const made = controlled();
  const q = new VersionQueue({ sessions: [made.session], settings: settings({ maxBatchSize: 1 }), batchable: false, pipelined: true, stats: new QueueStats('m', 'v1'), label: 'm' });
  const calls = [1, 2, 3].map((v) => q.submit(x([v]), ['y'], { remainingMs: Infinity }));
  t.is(made.runs.length, 2, 'two runs sent to the session');
  t.is(q.active, 2);
  t.is(q.waiting, 1);
  made.runs[0]!.answer();
  t.deepEqual(values(await calls[0]!), [10]);
  await tick();
  t.is(made.runs.length, 3, 'the third is sent as the first ends');
  made.runs[1]!.answer();
  made.runs[2]!.answer();
  t.deepEqual((await Promise.all(calls)).map(values), [[10], [20], [30]]);
});

test('a batch whose outputs do not keep a row per input row is answered alone, and batching stops', async (t) => {
  const { q, runs } = queue();
  const running = q.submit(x([1]), ['y'], { remainingMs: Infinity });
  const a = q.submit(x([2]), ['y'], { remainingMs: Infinity });
  const b = q.submit(x([3]), ['y'], { remainingMs: Infinity });
  runs[0]![0]!.answer();
  await running;
  await tick();
  t.deepEqual(runs[0]![1]!.feeds.x!.dims, [2, 1]);
  // A model that sums over the batch: one row out for two in.
  runs[0]![1]!.answer({ y: new ort.Tensor('float32', Float32Array.from([50]), [1, 1]) });
  await tick();
  await tick();
  t.deepEqual(runs[0]![2]!.feeds.x!.dims, [1, 1], 'each is run again alone');
  runs[0]![2]!.answer();
  await tick();
  await tick();
  runs[0]![3]!.answer();
  t.deepEqual((await Promise.all([a, b])).map(values), [[20], [30]]);
  const c = q.submit(x([4]), ['y'], { remainingMs: Infinity });
  const d = q.submit(x([5]), ['y'], { remainingMs: Infinity });
  runs[0]![4]!.answer();
  await c;
  await tick();
  t.deepEqual(runs[0]![5]!.feeds.x!.dims, [1, 1], 'no batching any more');
  runs[0]![5]!.answer();
  await d;
});

/** Submits `n` one-row requests x = base, base+1, …; returns their answers. */
function submitRows(q: VersionQueue, n: number, base: number): Promise<Out>[] {
  return Array.from({ length: n }, (_, i) => q.submit(x([base + i]), ['y'], { remainingMs: Infinity }));
}

test('right after a batch a request waits for company, until half the callers are back; at low load it never waits', async (t) => {
  let now = 0;
  const made = controlled();
  const q = new VersionQueue({ sessions: [made.session], settings: settings({ maxBatchDelayMs: 5 }), batchable: true, stats: new QueueStats('m', 'v1'), label: 'm', now: () => now });
  const first = q.submit(x([1]), ['y'], { remainingMs: Infinity });
  t.is(made.runs.length, 1, 'idle: runs at once');
  const three = submitRows(q, 3, 2);
  now = 1;
  made.runs[0]!.answer();
  await first;
  await tick();
  t.deepEqual(made.runs[1]!.feeds.x!.dims, [3, 1], 'the last run answered one caller: what waits runs at once');
  now = 2;
  made.runs[1]!.answer();
  t.deepEqual((await Promise.all(three)).map(values), [[20], [30], [40]]);
  // Under load (four callers at once lately): the callers just answered come back one by one.
  now = 3;
  const c = q.submit(x([5]), ['y'], { remainingMs: Infinity });
  t.is(made.runs.length, 2, 'right after a batch: it waits for company');
  now = 4;
  const d = q.submit(x([6]), ['y'], { remainingMs: Infinity });
  t.deepEqual(made.runs[2]!.feeds.x!.dims, [2, 1], 'half of the four callers are back: it runs without waiting out the delay');
  now = 5;
  made.runs[2]!.answer();
  await Promise.all([c, d]);
  // Low load: long after the last batch, a lone request runs at once.
  now = 200;
  const late = q.submit(x([7]), ['y'], { remainingMs: Infinity });
  t.is(made.runs.length, 4, 'at once');
  now = 201;
  made.runs[3]!.answer();
  await late;
  // And after a run of a single caller (concurrency 1), the next one never waits either.
  now = 202;
  const next = q.submit(x([8]), ['y'], { remainingMs: Infinity });
  t.is(made.runs.length, 5, 'at once');
  made.runs[4]!.answer();
  await next;
});

test('closed-loop callers split into two batches: one forms while the other runs; a lone caller waits at most the delay', async (t) => {
  let now = 0;
  const made = controlled();
  const q = new VersionQueue({ sessions: [made.session], settings: settings({ maxBatchSize: 8, maxBatchDelayMs: 5 }), batchable: true, stats: new QueueStats('m', 'v1'), label: 'm', now: () => now });
  // Eight callers: one runs, seven wait for it and run as one batch.
  const warm = q.submit(x([0]), ['y'], { remainingMs: Infinity });
  const seven = submitRows(q, 7, 1);
  made.runs[0]!.answer();
  await warm;
  await tick();
  t.deepEqual(made.runs[1]!.feeds.x!.dims, [7, 1]);
  made.runs[1]!.answer();
  await Promise.all(seven);
  // They all come back: the first four run (half of eight), the last four wait for that run and run as it ends.
  const firstHalf = submitRows(q, 4, 10);
  t.deepEqual(made.runs[2]!.feeds.x!.dims, [4, 1]);
  const secondHalf = submitRows(q, 4, 20);
  t.is(made.runs.length, 3);
  made.runs[2]!.answer();
  t.deepEqual((await Promise.all(firstHalf)).map(values), [[100], [110], [120], [130]]);
  await tick();
  t.deepEqual(made.runs[3]!.feeds.x!.dims, [4, 1]);
  // The first half comes back while the second runs, and runs as it ends.
  const thirdRun = submitRows(q, 4, 30);
  made.runs[3]!.answer();
  t.deepEqual((await Promise.all(secondHalf)).map(values), [[200], [210], [220], [230]]);
  await tick();
  t.deepEqual(made.runs[4]!.feeds.x!.dims, [4, 1]);
  made.runs[4]!.answer();
  await Promise.all(thirdRun);
  // Under load, one caller alone waits for company, and runs alone at its delay when nobody comes.
  now = 10;
  const alone = q.submit(x([40]), ['y'], { remainingMs: Infinity });
  t.is(made.runs.length, 5, 'waits for company');
  now = 15;
  await new Promise((r) => setTimeout(r, 20));
  t.deepEqual(made.runs[5]!.feeds.x!.dims, [1, 1], 'nobody came: it runs alone at its delay');
  made.runs[5]!.answer();
  t.deepEqual(values(await alone), [400]);
});

test('while a batch waits for company, arrivals join it; it runs when full or at its due time, and another group is planned on its own', async (t) => {
  let now = 0;
  const made = controlled();
  const q = new VersionQueue({
    sessions: [made.session],
    settings: settings({ maxBatchSize: 8, maxBatchDelayMs: 5, preferredBatchSizes: [] }),
    batchable: true,
    stats: new QueueStats('m', 'v1'),
    label: 'm',
    now: () => now,
  });
  // Eight callers at once, seven answered together: the version is under load, the next arrivals wait for company (up to four rows).
  const lone = q.submit(x([0]), ['y'], { remainingMs: Infinity });
  const batch = submitRows(q, 7, 0);
  made.runs[0]!.answer();
  await lone;
  await tick();
  made.runs[1]!.answer();
  await Promise.all(batch);
  now = 1;
  const calls = [q.submit(x([1]), ['y'], { remainingMs: Infinity })];
  now = 2;
  calls.push(q.submit(x([2]), ['y'], { remainingMs: Infinity }));
  calls.push(q.submit(x([3]), ['y'], { remainingMs: Infinity }));
  t.is(made.runs.length, 2, 'three rows of the four due: still waiting');
  t.is(q.waiting, 3);
  // The fourth row makes half the last batch: it runs at once, without waiting for the due time.
  calls.push(q.submit(x([4]), ['y'], { remainingMs: Infinity }));
  t.is(made.runs.length, 3);
  t.deepEqual(made.runs[2]!.feeds.x!.dims, [4, 1]);
  made.runs[2]!.answer();
  t.deepEqual((await Promise.all(calls)).map(values), [[10], [20], [30], [40]]);
  // Another group arriving while one waits is planned at once (and waits on its own).
  now = 10;
  const one = q.submit(x([5]), ['y'], { remainingMs: Infinity });
  const other = q.submit(x([6, 6]), ['y'], { remainingMs: Infinity });
  t.is(made.runs.length, 3, 'both wait');
  // At the due time of the oldest, its batch runs alone.
  now = 15;
  await new Promise((r) => setTimeout(r, 20));
  t.deepEqual(made.runs[3]!.feeds.x!.dims, [1, 1], 'the first group, at its due time');
  // What arrives meanwhile joins the other group's batch, which runs as the run ends.
  const joined = q.submit(x([7, 7]), ['y'], { remainingMs: Infinity });
  made.runs[3]!.answer();
  t.deepEqual(values(await one), [50]);
  await tick();
  t.deepEqual(made.runs[4]!.feeds.x!.dims, [2, 2], 'then the other group, both callers');
  made.runs[4]!.answer();
  t.deepEqual([values(await other), values(await joined)], [[60, 60], [70, 70]]);
});
