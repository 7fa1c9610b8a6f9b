import test from 'ava';
import { NodeMetrics } from '../src/node-metrics.js';

const lines = (text: string, name: string): string[] => text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
const value = (text: string, name: string): number => Number(lines(text, name)[0]?.split(' ').pop());

test('a scrape of 1,000 loaded versions details only the recently active ones, at most the limit, and keeps node totals', async (t) => {
  let now = 10_000_000;
  const metrics = new NodeMetrics({ node: 'n1' }, { versionSeriesLimit: 100, versionSeriesWindowMs: 600_000, now: () => now });
  for (let i = 0; i < 1000; i++) {
    const stats = metrics.statsFor(`model-${i}`, 'v1');
    // Versions 0–149 answered a request a second apart, the most recent last; the rest long ago.
    if (i < 150) {
      stats.record(0.001);
      stats.lastActiveMs = now - (150 - i) * 1000;
    } else if (i < 300) {
      stats.record(0.002);
      stats.lastActiveMs = now - 3_600_000;
    }
  }
  const text = await metrics.registry.metrics();
  const detailed = lines(text, 'switchyard_requests_total');
  t.is(detailed.length, 100);
  t.true(detailed.every((l) => /model="model-(\d+)"/.test(l) && Number(/model-(\d+)/.exec(l)![1]) >= 50), 'the 100 most recently active');
  t.is(lines(text, 'switchyard_request_duration_seconds_count').length, 100);
  t.is(value(text, 'switchyard_node_requests_total'), 300);
  t.is(value(text, 'switchyard_node_request_duration_seconds_count'), 300);
  t.is(value(text, 'switchyard_version_series_omitted'), 900);
  t.true(Buffer.byteLength(text) < 200_000, `${Buffer.byteLength(text)} bytes`);

  // An unloaded version's counts stay in the node totals; once the window passes, no version has series of its own.
  metrics.forget('model-0', 'v1');
  now += 3_600_000;
  const later = await metrics.registry.metrics();
  t.is(lines(later, 'switchyard_requests_total').length, 0);
  t.is(value(later, 'switchyard_node_requests_total'), 300);
});
