// A node gives freed native heap back after unloads, not on every free (issue #17).
import test from 'ava';
import ort from 'onnxruntime-node';
import { VersionRecordSchema } from '@switchyard/core';
import { heapTrims, trimHeap } from '../src/heap-trim.js';
import { LoadedVersion } from '../src/loaded-version.js';
import { VersionStats } from '../src/version-stats.js';

const glibc = process.platform === 'linux' && Boolean((process.report?.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime);

test('malloc_trim is reachable on glibc Linux', (t) => {
  t.is(trimHeap(), glibc);
});

test('unloading a version trims the heap once its sessions are released', async (t) => {
  if (!glibc) return t.pass('not glibc');
  const record = VersionRecordSchema.parse({
    model: 'm',
    version: 'v1',
    artifact: { sha256: '0'.repeat(64), size: 1 },
    signature: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 1] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }] },
    createdAt: '2026-01-01T00:00:00Z',
  });
  let released = false;
  const session = {
    host: 'worker',
    inputNames: ['x'],
    outputNames: ['y'],
    run: async () => ({ y: new ort.Tensor('float32', new Float32Array(1), [1, 1]) }),
    release: async () => void (released = true),
  };
  const loaded = new LoadedVersion(record, session as never, new VersionStats('m', 'v1'), 0);
  const before = heapTrims();
  await loaded.close();
  t.true(released);
  await new Promise((r) => setTimeout(r, 400));
  t.true(heapTrims() > before);
});
