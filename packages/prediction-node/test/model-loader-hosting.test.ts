// Where ModelLoader puts a version's session: by its warm-up run, its size, or the node's choice.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { VersionRecordSchema, type VersionRecord } from '@switchyard/core';
import { linearModel, makeTempDir, removeDir, SLOW_MODEL_WIDTH, slowModel } from '@switchyard/testkit';
import { liveSessionThreads, type ArtifactCache } from '../src/index.js';
import { ModelLoader, type ModelLoaderOptions } from '../src/model-loader.js';
import { VersionStats } from '../src/version-stats.js';

const test = anyTest.serial as TestFn<{ dir: string }>;

test.before(async (t) => {
  const dir = await makeTempDir('switchyard-loader-hosting-');
  await writeFile(join(dir, 'linear'), linearModel({ weights: [1, 2, 3], bias: 0 }));
  // ≈ 60 ms per run on the dev box: far over the 2 ms limit, quick to load.
  await writeFile(join(dir, 'slow'), slowModel({ iterations: 200 }));
  t.context = { dir };
});
test.after.always(async (t) => {
  if (t.context.dir) await removeDir(t.context.dir);
});

function record(name: 'linear' | 'slow', size: number): VersionRecord {
  const width = name === 'linear' ? 3 : SLOW_MODEL_WIDTH;
  return VersionRecordSchema.parse({
    model: name,
    version: 'v1',
    artifact: { sha256: (name === 'linear' ? 'a' : 'b').repeat(64), size },
    signature: {
      inputs: [{ name: 'x', datatype: 'FP32', shape: [name === 'linear' ? -1 : 1, width] }],
      outputs: [{ name: 'y', datatype: 'FP32', shape: name === 'linear' ? [-1, 1] : [1, width] }],
    },
    createdAt: new Date().toISOString(),
  });
}

/** The artifact files of this test stand in for the node's verified cache. */
function loader(dir: string, options: Partial<ModelLoaderOptions> = {}): ModelLoader {
  const cache = { ensure: async (sha256: string) => join(dir, sha256.startsWith('a') ? 'linear' : 'slow') } as unknown as ArtifactCache;
  return new ModelLoader({ cache, statsFor: (r) => new VersionStats(r.model, r.version), ...options });
}

async function hostOf(l: ModelLoader, r: VersionRecord): Promise<string> {
  const loaded = await l.load(r);
  const host = loaded.session.host;
  await loaded.close();
  return host;
}

test('auto: a fast version stays inline, a slow one gets a worker thread, released with its version', async (t) => {
  const l = loader(t.context.dir);
  const before = liveSessionThreads();
  t.is(await hostOf(l, record('linear', 100)), 'inline');
  const slow = await l.load(record('slow', 100));
  t.is(slow.session.host, 'worker');
  t.is(liveSessionThreads(), before + 1);
  await slow.close();
  t.is(liveSessionThreads(), before);
});

test('auto: a large artifact goes straight to a worker thread; forced hosting overrides the run time', async (t) => {
  t.is(await hostOf(loader(t.context.dir, { workerArtifactBytes: 50 }), record('linear', 100)), 'worker');
  t.is(await hostOf(loader(t.context.dir, { sessionHosting: 'worker' }), record('linear', 100)), 'worker');
  t.is(await hostOf(loader(t.context.dir, { sessionHosting: 'inline' }), record('slow', 100)), 'inline');
  t.is(await hostOf(loader(t.context.dir, { inlineRunLimitMs: 60_000 }), record('slow', 100)), 'inline');
});

test('versions loaded at once do not time each other: fast ones stay inline beside a slow one', async (t) => {
  const l = loader(t.context.dir);
  // The slow model's warm-up run holds the main thread ≈ 60 ms; timed while it
  // ran, a 12 µs model looked slow and was sent to a worker thread.
  const loads = [l.load(record('slow', 100)), ...Array.from({ length: 8 }, () => l.load(record('linear', 100)))];
  const loaded = await Promise.all(loads);
  t.deepEqual(
    loaded.map((v) => v.session.host),
    ['worker', ...Array.from({ length: 8 }, () => 'inline')],
  );
  await Promise.all(loaded.map((v) => v.close()));
});
