import test from 'ava';
import {
  HISTOGRAM_BUCKETS,
  addHistogram,
  emptyHistogram,
  histogramBucket,
  histogramQuantile,
  histogramUpperBound,
  subtractHistogram,
} from '../src/index.js';

test('a latency falls in the bucket whose bounds enclose it', (t) => {
  for (const seconds of [0.00006, 0.0003, 0.0012, 0.05, 0.7, 3, 40]) {
    const i = histogramBucket(seconds);
    t.true(seconds <= histogramUpperBound(i) * (1 + 1e-12), `${seconds} ≤ upper bound of ${i}`);
    t.true(i === 0 || seconds > histogramUpperBound(i - 1), `${seconds} > upper bound of ${i - 1}`);
  }
  t.is(histogramBucket(0), 0);
  t.is(histogramBucket(1e6), HISTOGRAM_BUCKETS);
  t.is(histogramUpperBound(HISTOGRAM_BUCKETS), Infinity);
});

test('the p99 read from buckets is within one bucket of the exact value', (t) => {
  const latencies = Array.from({ length: 10_000 }, (_, i) => 0.001 + (i % 100) * 0.0001); // 1.0–10.9 ms
  const counts = emptyHistogram();
  for (const s of latencies) counts[histogramBucket(s)]!++;
  const exact = [...latencies].sort((a, b) => a - b)[Math.ceil(0.99 * latencies.length) - 1]!;
  const estimate = histogramQuantile(counts, 0.99);
  t.true(Math.abs(estimate - exact) / exact < 0.19, `estimate ${estimate} vs exact ${exact}`);
  t.true(Number.isNaN(histogramQuantile(emptyHistogram(), 0.99)));
});

test('histograms from several nodes add up, and a step is the difference of two snapshots', (t) => {
  const a = emptyHistogram();
  const b = emptyHistogram();
  a[3] = 5;
  b[3] = 2;
  b[10] = 1;
  const sum = addHistogram(emptyHistogram(), a);
  addHistogram(sum, b);
  t.is(sum[3], 7);
  t.is(sum[10], 1);
  t.deepEqual(subtractHistogram(sum, a), b);
  // A reset counter (a restarted node) never gives negative counts.
  t.true(subtractHistogram(a, sum).every((c) => c >= 0));
});
