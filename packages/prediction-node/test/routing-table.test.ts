import test from 'ava';
import type { LoadedVersion } from '../src/loaded-version.js';
import { ModelRoute } from '../src/routing-table.js';

const fake = (version: string, closed = false) => ({ model: 'm', version, closed }) as unknown as LoadedVersion;

test('draws versions in proportion to their weights', (t) => {
  const route = new ModelRoute('m', [
    { loaded: fake('v1'), weight: 7_000 },
    { loaded: fake('v2'), weight: 2_000 },
    { loaded: fake('v3'), weight: 1_000 },
  ]);
  const counts = new Map<string, number>();
  const n = 100_000;
  for (let i = 0; i < n; i++) {
    const v = route.pick(i / n).version;
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  t.deepEqual(Object.fromEntries(counts), { v1: 70_000, v2: 20_000, v3: 10_000 });
});

test('a single version is always picked; a closed version makes the route unusable', (t) => {
  const route = new ModelRoute('m', [{ loaded: fake('v1'), weight: 10_000 }]);
  t.is(route.pick(0.999).version, 'v1');
  t.true(route.usable());
  t.false(new ModelRoute('m', [{ loaded: fake('v1', true), weight: 10_000 }]).usable());
});
