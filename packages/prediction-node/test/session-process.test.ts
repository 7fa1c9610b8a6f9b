// A session process ends a run at its limit, answers callers who have gone at once, and leaks nothing.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import ort from 'onnxruntime-node';
import { GrpcStatus, type SwitchyardError } from '@switchyard/core';
import { loopCountModel, makeTempDir, removeDir } from '@switchyard/testkit';
import { sessionOptions } from '../src/session-interface.js';
import { liveSessionProcesses, SessionProcess } from '../src/session-process.js';

const test = anyTest.serial as TestFn<{ dir: string; path: string }>;

test.before(async (t) => {
  const dir = await makeTempDir('switchyard-session-process-');
  const path = join(dir, 'loop.onnx');
  await writeFile(path, loopCountModel());
  t.context = { dir, path };
});
test.after.always(async (t) => {
  if (t.context.dir) await removeDir(t.context.dir);
});

const count = (n: bigint) => ({ count: new ort.Tensor('int64', BigInt64Array.from([n]), [1]) });
const start = (path: string) => SessionProcess.start({ path, options: sessionOptions(1), label: 'loop', loadTimeoutMs: 60_000 });

test('a run past its limit fails with DEADLINE_EXCEEDED and ends the process; runs queued behind it fail UNAVAILABLE', async (t) => {
  t.timeout(60_000);
  const before = liveSessionProcesses();
  const proc = await start(t.context.path);
  t.is(liveSessionProcesses(), before + 1);
  t.deepEqual(Array.from((await proc.run(count(7n), undefined, { timeoutMs: 30_000 }))['acc']!.data as Float32Array), [7]);
  const endless = proc.run(count(1_000_000_000_000n), undefined, { timeoutMs: 300 });
  const queued = proc.run(count(1n), undefined, { timeoutMs: 30_000 });
  const overran = await t.throwsAsync<SwitchyardError>(endless);
  t.is(overran.code, GrpcStatus.DEADLINE_EXCEEDED);
  t.is((await t.throwsAsync<SwitchyardError>(queued)).code, GrpcStatus.UNAVAILABLE);
  t.false(proc.alive);
  t.is(liveSessionProcesses(), before);
});

test('a caller who goes away is answered CANCELLED at once; its queued run is dropped, a started one still ends at its limit', async (t) => {
  t.timeout(60_000);
  const proc = await start(t.context.path);
  t.teardown(() => proc.release());
  const first = new AbortController();
  const second = new AbortController();
  const running = proc.run(count(1_000_000_000_000n), undefined, { timeoutMs: 1000, signal: first.signal });
  const queued = proc.run(count(2n), undefined, { timeoutMs: 30_000, signal: second.signal });
  second.abort();
  t.is((await t.throwsAsync<SwitchyardError>(queued)).code, GrpcStatus.CANCELLED);
  t.is(proc.pendingRequests, 1);
  first.abort();
  t.is((await t.throwsAsync<SwitchyardError>(running)).code, GrpcStatus.CANCELLED);
  // The started run is not left computing: the process ends at its limit.
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => !proc.alive && (clearInterval(poll), resolve()), 50);
  });
  t.false(proc.alive);
});

test('session creation past the load limit ends the process with DEADLINE_EXCEEDED', async (t) => {
  t.timeout(60_000);
  const before = liveSessionProcesses();
  const error = await t.throwsAsync<SwitchyardError>(SessionProcess.start({ path: t.context.path, options: sessionOptions(1), label: 'loop', loadTimeoutMs: 1 }));
  t.is(error.code, GrpcStatus.DEADLINE_EXCEEDED);
  t.is(liveSessionProcesses(), before);
});
