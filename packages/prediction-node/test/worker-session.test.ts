// WorkerSession keeps VersionSession's contract: same results as the
// inline session, the caller's feeds untouched, errors of the same kind.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import ort from 'onnxruntime-node';
import { GrpcStatus, SwitchyardError } from '@switchyard/core';
import { silentLogger } from '@switchyard/core/logging';
import { corruptModelBytes, makeTempDir, removeDir, twoOutputModel } from '@switchyard/testkit';
import { liveSessionThreads, WorkerSession } from '../src/index.js';
import { InlineSession } from '../src/session-inline.js';
import { sessionOptions } from '../src/session-interface.js';

const test = anyTest.serial as TestFn<{ dir: string; path: string }>;

test.before(async (t) => {
  const dir = await makeTempDir('switchyard-worker-session-');
  const path = join(dir, 'two-output.onnx');
  await writeFile(path, twoOutputModel());
  t.context = { dir, path };
});
test.after.always(async (t) => {
  if (t.context.dir) await removeDir(t.context.dir);
});

const open = (path: string) => WorkerSession.create({ path, options: sessionOptions(1), label: 'model t version v1', logger: silentLogger() });

test('same outputs as an inline session; the feeds are neither detached nor changed and can be run again', async (t) => {
  const worker = await open(t.context.path);
  const inline = new InlineSession(await ort.InferenceSession.create(t.context.path, sessionOptions(1)));
  t.teardown(async () => {
    await worker.release();
    await inline.release();
  });
  t.is(worker.host, 'worker');
  t.deepEqual([...worker.inputNames], [...inline.inputNames]);
  t.deepEqual([...worker.outputNames], [...inline.outputNames]);
  // A view into a larger buffer, as decoded gRPC raw contents are.
  const backing = new Float32Array([99, 1, 2, 3, 4, 99]);
  const view = new Float32Array(backing.buffer, 4, 4);
  const feeds = { x: new ort.Tensor('float32', view, [2, 2]) };
  for (let i = 0; i < 2; i++) {
    const [fromWorker, fromInline] = [await worker.run(feeds), await inline.run(feeds)];
    for (const name of inline.outputNames) {
      t.deepEqual(Array.from(fromWorker[name]!.data as Float32Array), Array.from(fromInline[name]!.data as Float32Array));
      t.deepEqual([...fromWorker[name]!.dims], [...fromInline[name]!.dims]);
      t.is(fromWorker[name]!.type, 'float32');
    }
  }
  t.is(backing.buffer.byteLength, 24, 'the caller’s buffer is not detached');
  t.deepEqual(Array.from(backing), [99, 1, 2, 3, 4, 99]);
  const onlySum = await worker.run(feeds, ['sum']);
  t.deepEqual(Object.keys(onlySum), ['sum']);
  t.deepEqual(Array.from(onlySum['sum']!.data as Float32Array), [3, 7]);
  // Many in flight at once each get their own answer.
  const rows = Array.from({ length: 20 }, (_, i) => new ort.Tensor('float32', Float32Array.of(i, 1), [1, 2]));
  const sums = await Promise.all(rows.map((x) => worker.run({ x }, ['sum'])));
  t.deepEqual(sums.map((r) => (r['sum']!.data as Float32Array)[0]), rows.map((_, i) => i + 1));
});

test('a run-time rejection is a plain error, as inline; after release runs are UNAVAILABLE and the thread is gone', async (t) => {
  const before = liveSessionThreads();
  const worker = await open(t.context.path);
  t.is(liveSessionThreads(), before + 1);
  const wrongShape = { x: new ort.Tensor('float32', Float32Array.of(1, 2, 3), [1, 3]) };
  const err = await t.throwsAsync(worker.run(wrongShape));
  t.false(err instanceof SwitchyardError);
  await worker.release();
  t.is(liveSessionThreads(), before);
  const after = await t.throwsAsync(worker.run({ x: new ort.Tensor('float32', Float32Array.of(1, 2), [1, 2]) }));
  t.is((after as SwitchyardError).code, GrpcStatus.UNAVAILABLE);
});

test('an artifact onnxruntime cannot load is INVALID_ARGUMENT and leaves no thread', async (t) => {
  const before = liveSessionThreads();
  const path = join(t.context.dir, 'corrupt.onnx');
  await writeFile(path, corruptModelBytes());
  const err = await t.throwsAsync(open(path));
  t.is((err as SwitchyardError).code, GrpcStatus.INVALID_ARGUMENT);
  t.regex(err!.message, /onnxruntime cannot load the artifact/);
  t.is(liveSessionThreads(), before);
});
