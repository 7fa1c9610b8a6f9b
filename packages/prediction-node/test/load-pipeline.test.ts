import test from 'ava';
import type { VersionRecord } from '@switchyard/core';
import type { LoadedVersion } from '../src/loaded-version.js';
import { LoadPipeline } from '../src/load-pipeline.js';
import type { PreparedVersion } from '../src/model-loader.js';
import { PassPacer } from '../src/pass-pacer.js';

const record = (version: string, size = 1): VersionRecord => ({ model: 'm', version, artifact: { sha256: 'a'.repeat(64), size } }) as VersionRecord;
const tick = (ms = 5): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

test('prepares run together, creations one at a time behind them', async (t) => {
  let preparing = 0;
  let maxPreparing = 0;
  let creating = 0;
  let maxCreating = 0;
  const pipeline = new LoadPipeline({
    loader: {
      prepare: async (r) => {
        maxPreparing = Math.max(maxPreparing, ++preparing);
        await tick();
        preparing--;
        return { record: r, path: '', verdict: {} as PreparedVersion['verdict'], started: 0 };
      },
      create: async (p) => {
        maxCreating = Math.max(maxCreating, ++creating);
        await tick();
        creating--;
        return { version: p.record.version } as unknown as LoadedVersion;
      },
    },
  });
  const loaded = await Promise.all(['v1', 'v2', 'v3', 'v4', 'v5'].map((v) => pipeline.load(record(v))));
  t.deepEqual(loaded.map((l) => l.version), ['v1', 'v2', 'v3', 'v4', 'v5']);
  t.is(maxPreparing, 5);
  t.is(maxCreating, 1);
});

test('a pass asked for several times runs once; cancel drops it', async (t) => {
  let passes = 0;
  const pacer = new PassPacer(() => void passes++);
  pacer.request();
  pacer.request();
  pacer.request();
  await tick(20);
  t.is(passes, 1);
  pacer.request();
  pacer.cancel();
  await tick(20);
  t.is(passes, 1);
});
