// The dynamic batcher's decisions, on a fake clock.
import test from 'ava';
import { evictionFor, expiredPositions, planBatch, type BatchPolicy, type Plannable } from '../src/batch-plan.js';

const policy = (o: Partial<BatchPolicy> = {}): BatchPolicy => ({ maxBatchSize: 8, maxBatchDelayMs: 5, preferredBatchSizes: new Set(), ...o });
const req = (rows: number, enqueuedAt = 0, o: Partial<Plannable> = {}): Plannable => ({ rows, group: 'g', enqueuedAt, shadow: false, ...o });

test('a lone request runs at once when due rows is 1 (idle version, or a run just ended)', (t) => {
  t.deepEqual(planBatch([req(1, 100)], policy({ maxBatchDelayMs: 1000 }), 100, 1), { kind: 'run', take: [0], rows: 1 });
});

test('while the version is busy, a partial batch waits for the delay from its oldest request, then runs', (t) => {
  const queue = [req(1, 100), req(2, 102)];
  t.deepEqual(planBatch(queue, policy(), 103, Infinity), { kind: 'wait', atMs: 105, rows: 3, group: 'g' });
  t.deepEqual(planBatch(queue, policy(), 105, Infinity), { kind: 'run', take: [0, 1], rows: 3 });
});

test('a partial batch runs at once when it holds the due rows (half the last batch, under load), else waits', (t) => {
  const queue = [req(1, 100), req(1, 101), req(1, 102)];
  t.deepEqual(planBatch(queue, policy(), 103, 4), { kind: 'wait', atMs: 105, rows: 3, group: 'g' });
  t.deepEqual(planBatch(queue, policy(), 103, 3), { kind: 'run', take: [0, 1, 2], rows: 3 });
  // Shadows count towards the due rows only as room no primary takes.
  t.deepEqual(planBatch([req(1, 100), req(2, 100, { shadow: true })], policy(), 100, 3), { kind: 'run', take: [0, 1], rows: 3 });
});

test('a full batch or a preferred size runs at once, without waiting for the delay', (t) => {
  const full = [req(4), req(4), req(1)];
  t.deepEqual(planBatch(full, policy(), 0, Infinity), { kind: 'run', take: [0, 1], rows: 8 });
  t.deepEqual(planBatch([req(2), req(2)], policy({ preferredBatchSizes: new Set([4]) }), 0, Infinity), { kind: 'run', take: [0, 1], rows: 4 });
});

test('requests of another group are never mixed in; those that do not fit are left for the next batch', (t) => {
  const queue = [req(3), req(1, 0, { group: 'other' }), req(6), req(5)];
  // 3 + 6 > 8: the 6 is left; 3 + 5 = 8 is full.
  t.deepEqual(planBatch(queue, policy(), 0, Infinity), { kind: 'run', take: [0, 3], rows: 8 });
});

test('a request at or above the batch size, or one that cannot be batched, runs alone', (t) => {
  t.deepEqual(planBatch([req(8), req(1)], policy(), 0, Infinity), { kind: 'run', take: [0], rows: 8 });
  t.deepEqual(planBatch([req(20), req(1)], policy(), 0, Infinity), { kind: 'run', take: [0], rows: 20 });
  t.deepEqual(planBatch([req(0), req(1)], policy(), 0, Infinity), { kind: 'run', take: [0], rows: 0 });
  t.deepEqual(planBatch([req(1), req(1)], policy({ maxBatchSize: 1 }), 0, Infinity), { kind: 'run', take: [0], rows: 1 });
});

test('shadows are lowest priority: a primary heads the batch, shadows only fill its room', (t) => {
  const queue = [req(4, 0, { shadow: true }), req(3, 1), req(4, 2, { shadow: true }), req(1, 3)];
  // Head: the primary at 1; primaries first (3 + 1), then the first shadow that fits (4).
  t.deepEqual(planBatch(queue, policy(), 10, Infinity), { kind: 'run', take: [0, 1, 3], rows: 8 });
  // Only shadows: the oldest heads.
  t.deepEqual(planBatch([req(2, 0, { shadow: true })], policy(), 0, 1), { kind: 'run', take: [0], rows: 2 });
});

test('expired positions and the eviction for a full queue', (t) => {
  t.deepEqual(expiredPositions([{ expiresAt: 5 }, { expiresAt: 10 }, { expiresAt: 3 }], 5), [0, 2]);
  t.is(evictionFor([req(1), req(1, 0, { shadow: true }), req(1, 0, { shadow: true }), req(1)]), 2);
  t.is(evictionFor([req(1), req(1)]), -1);
});
