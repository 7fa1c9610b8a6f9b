import test from 'ava';
import ort from 'onnxruntime-node';
import { KeyLayout, type ShadowEntry, type VersionRecord } from '@switchyard/core';
import { silentLogger } from '@switchyard/core/logging';
import type { ServedRequest } from '../src/inference-service.js';
import { LoadedVersion } from '../src/loaded-version.js';
import { compareOutputs, compareTensor } from '../src/shadow-compare.js';
import { ShadowMirror } from '../src/shadow-mirror.js';
import { shadowStatsSource } from '../src/shadow-metrics.js';
import { ShadowStatsTable } from '../src/shadow-stats.js';
import { VersionStats } from '../src/version-stats.js';

const tensor = (data: number[], dims: number[]) => new ort.Tensor('float32', Float32Array.from(data), dims);

function record(version: string): VersionRecord {
  return {
    model: 'm',
    version,
    artifact: { sha256: '0'.repeat(64), size: 1 },
    signature: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 2] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 2] }] },
    createdAt: '2026-01-01T00:00:00Z',
    createdBy: '',
    description: '',
    labels: {},
    expiresAfterSeconds: 0,
    samples: null,
  };
}

/** A version whose runs wait until the test resolves them. */
function controlledVersion(version: string) {
  const pending: ((out: Record<string, ort.Tensor>) => void)[] = [];
  const session = {
    run: () => new Promise<Record<string, ort.Tensor>>((resolve) => pending.push(resolve)),
    release: async () => undefined,
  };
  const loaded = new LoadedVersion(record(version), session as unknown as LoadedVersion['session'], new VersionStats('m', version), 0);
  return { loaded, pending };
}

function served(primary: LoadedVersion): ServedRequest {
  const feeds = { x: tensor([1, 2], [1, 2]) };
  return { loaded: primary, request: { model_name: 'm', model_version: '', inputs: [], raw_input_contents: [] } as never, feeds, outputs: ['y'], results: { y: tensor([0.1, 0.9], [1, 2]) }, seconds: 0.001 };
}

const entry = (version: string, fraction = 1): ShadowEntry => ({ version, fraction, until: null, budget: null, tolerance: 1e-5, addedAt: '2026-01-01T00:00:00Z', addedBy: '', auto: false });

const tick = () => new Promise((r) => setImmediate(r));

function mirror(
  options: { busy?: () => boolean; queueSize?: number; random?: () => number; shadows?: ShadowEntry[]; now?: () => number; inFlight?: () => number; maxWaitMs?: number } = {},
) {
  const primary = controlledVersion('v1');
  const shadow = controlledVersion('v2');
  const stats = new ShadowStatsTable();
  const m = new ShadowMirror(
    {
      stats,
      shadowsOf: () => options.shadows ?? [entry('v2')],
      versionOf: (_model, version) => (version === 'v2' ? shadow.loaded : undefined),
      busy: { busy: options.busy ?? (() => false) },
      logger: silentLogger(),
      ...(options.random ? { random: options.random } : {}),
      ...(options.now ? { now: options.now } : {}),
      ...(options.inFlight ? { primariesInFlight: options.inFlight } : {}),
    },
    { queueSize: options.queueSize ?? 2, concurrency: 1, timeoutMs: 60_000, ...(options.maxWaitMs ? { maxWaitMs: options.maxWaitMs } : {}) },
  );
  return { m, primary, shadow, stats, pair: () => stats.pair('m', 'v1', 'v2', '2026-01-01T00:00:00Z') };
}

test('at most queueSize shadow calls are outstanding; they wait in the shadow version queue, run one at a time there, and are compared', async (t) => {
  const { m, primary, shadow, pair } = mirror();
  // Five answered in one turn: two fit, three are dropped.
  for (let i = 0; i < 5; i++) m.onServed(served(primary.loaded));
  t.is(m.queued, 2);
  t.is(pair().mirrored, 5);
  t.is(pair().dropped, 3);
  await tick();
  t.is(m.active, 2, 'both handed to the version queue');
  t.is(shadow.loaded.queue.active, 1, 'one session: one runs');
  t.is(shadow.loaded.queue.waiting, 1);
  for (let i = 0; i < 2; i++) {
    shadow.pending.shift()!({ y: tensor([0.1, 0.9], [1, 2]) });
    await tick();
    await tick();
  }
  t.is(pair().compared, 2);
  t.is(pair().agreed, 2);
  t.is(m.active, 0);
  t.is(m.queued, 0);
});

test('a shadow call waits behind primaries in the version queue, and is dropped once it has waited past maxWaitMs', async (t) => {
  const { m, primary, shadow, pair } = mirror({ queueSize: 8, maxWaitMs: 30 });
  // The shadow version is busy with a primary of its own.
  const primaryRun = shadow.loaded.queue.submit({ x: tensor([1, 2], [1, 2]) }, ['y'], { remainingMs: Number.POSITIVE_INFINITY });
  m.onServed(served(primary.loaded));
  await tick();
  t.is(shadow.loaded.queue.waiting, 1, 'the shadow call waits in the queue');
  // A primary arriving meanwhile goes before it.
  const secondPrimary = shadow.loaded.queue.submit({ x: tensor([1, 2], [1, 2]) }, ['y'], { remainingMs: Number.POSITIVE_INFINITY });
  shadow.pending.shift()!({ y: tensor([0.1, 0.9], [1, 2]) });
  await primaryRun;
  t.is(shadow.pending.length, 1, 'the next run is the primary');
  t.is(shadow.loaded.queue.waiting, 1);
  await new Promise((r) => setTimeout(r, 60));
  t.is(pair().dropped, 1, 'waited past maxWaitMs: dropped, never run');
  t.is(shadow.loaded.queue.waiting, 0);
  shadow.pending.shift()!({ y: tensor([0.1, 0.9], [1, 2]) });
  await secondPrimary;
  t.is(pair().compared, 0);
  t.is(shadow.loaded.queueStats.rejections('shadow_dropped'), 1);
});

test('sampling follows the fraction, skips expired shadows, the primary itself and versions not loaded here', async (t) => {
  let r = 0;
  const draws = [0.1, 0.6, 0.3, 0.9];
  const { m, primary, pair } = mirror({ random: () => draws[r++ % draws.length]!, shadows: [entry('v2', 0.5)] });
  for (let i = 0; i < 4; i++) m.onServed(served(primary.loaded));
  t.is(pair().mirrored, 2);

  const expired = mirror({ shadows: [{ ...entry('v2'), until: '2026-01-01T00:00:00Z' }], now: () => Date.parse('2026-01-02T00:00:00Z') });
  expired.m.onServed(served(expired.primary.loaded));
  t.is(expired.pair().mirrored, 0);

  const self = mirror({ shadows: [entry('v1')] });
  self.m.onServed(served(self.primary.loaded));
  t.deepEqual([...self.stats.all()], []);

  const absent = mirror({ shadows: [{ ...entry('v3') }] });
  absent.m.onServed(served(absent.primary.loaded));
  const p = absent.stats.pair('m', 'v1', 'v3', '2026-01-01T00:00:00Z');
  t.is(p.mirrored, 1);
  t.is(p.dropped, 1);
});

test('a shadow that rejects counts as error; different output dims count as shape', async (t) => {
  const { m, primary, shadow, pair } = mirror({ queueSize: 8 });
  const failing = shadow.loaded.session as unknown as { run: () => Promise<unknown> };
  const original = failing.run;
  failing.run = () => Promise.reject(new Error('boom'));
  m.onServed(served(primary.loaded));
  await tick();
  await tick();
  t.is(pair().failed.error, 1);
  failing.run = original;
  m.onServed(served(primary.loaded));
  await tick();
  shadow.pending.shift()!({ y: tensor([0.1, 0.9, 0.5], [1, 3]) });
  await tick();
  await tick();
  t.is(pair().failed.shape, 1);
  t.is(pair().compared, 0);
});

test('compareTensor: differences, tolerance and top-1 on class scores', (t) => {
  const c = compareTensor(tensor([0.1, 0.9, 0.8, 0.2], [2, 2]), tensor([0.1, 0.7, 0.3, 0.7], [2, 2]), 0.25);
  t.is(c.elements, 4);
  t.true(Math.abs(c.sumAbsDiff - 1.2) < 1e-6);
  t.true(Math.abs(c.maxAbsDiff - 0.5) < 1e-6);
  t.is(c.withinTolerance, 2);
  t.true(c.top1Compared);
  t.false(c.top1Agreed, 'row 2 flips from class 0 to class 1');
  const scalar = compareTensor(tensor([1], [1, 1]), tensor([1], [1, 1]), 0);
  t.false(scalar.top1Compared, 'a last dimension of 1 is not class scores');
  const all = compareOutputs(['y'], { y: tensor([1, 2], [1, 2]) }, { y: tensor([1, 2], [1, 2]) }, 0);
  t.true(all.ok && all.agreed);
  const missing = compareOutputs(['y'], { y: tensor([1, 2], [1, 2]) }, {}, 0);
  t.false(missing.ok);
});

test('the stats source publishes a pair only when it changed, under the reporter key', (t) => {
  const table = new ShadowStatsTable();
  const keys = new KeyLayout('/p/');
  const source = shadowStatsSource({ table, keys, nodeId: 'n1', incarnation: 'abcd' });
  t.deepEqual([...source(0)], []);
  table.pair('m', 'v1', 'v2').countMirrored();
  const first = [...source(1000)];
  t.is(first.length, 1);
  t.is(first[0]!.key, keys.shadowStats('m', 'v1', 'v2', 'n1.abcd'));
  t.like(JSON.parse(first[0]!.value!), { mirrored: 1, model: 'm', primary: 'v1', shadow: 'v2', nodeId: 'n1', incarnation: 'abcd' });
  t.deepEqual([...source(2000)], [], 'unchanged: not written again');
  // A new epoch (the shadow added again) starts from zero and is written.
  table.pair('m', 'v1', 'v2', 'later');
  const reset = [...source(3000)];
  t.is(JSON.parse(reset[0]!.value!).mirrored, 0);
});
