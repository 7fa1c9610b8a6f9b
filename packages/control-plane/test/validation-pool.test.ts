import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import type { Sample, Signature } from '@switchyard/core';
import { linearModel, makeTempDir, pidIsGone, removeDir, slowModel } from '@switchyard/testkit';
import { ValidationPool } from '../src/validation/index.js';
import { capturingLogger } from './helpers/harness.js';

// Serial: each test runs onnxruntime processes; the time-limit test must not compete for the two cores.
const test = anyTest as TestFn<{ dir: string }>;

test.before(async (t) => {
  t.context.dir = await makeTempDir('switchyard-validation-pool-');
});

test.after.always(async (t) => {
  await removeDir(t.context.dir);
});

const LINEAR: Signature = { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }] };
const row = (name: string, values: number[]): Sample => ({ name, inputs: { x: { datatype: 'FP32', shape: [1, 3], data: values } } });

async function file(dir: string, name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

test.serial('one warm child validates version after version, each model opened afresh', async (t) => {
  const pool = new ValidationPool({ size: 1, logger: capturingLogger().logger });
  t.teardown(() => pool.close());
  const spawned: number[] = [];
  for (let i = 0; i < 5; i++) {
    const artifactPath = await file(t.context.dir, `linear-${i}.onnx`, linearModel({ weights: [1, 2, 3], bias: i }));
    const result = await pool.run({ artifactPath, signature: LINEAR, samples: [row('r', [1, 1, 1])], timeoutMs: 10_000, logger: capturingLogger().logger, onSpawn: (pid) => spawned.push(pid) });
    // Each version answers with its own bias: nothing of the last model is left in the child.
    t.like(result, { kind: 'finished' });
    t.deepEqual(result.kind === 'finished' ? result.outputs[0]?.y?.data : undefined, [6 + i]);
  }
  t.is(spawned.length, 1, 'one process for all five');
  t.is(pool.idle, 1);
});

test.serial('a child past the time limit is killed by pid and the next validation gets a new one', async (t) => {
  const pool = new ValidationPool({ size: 1, logger: capturingLogger().logger });
  t.teardown(() => pool.close());
  const spawned: number[] = [];
  const onSpawn = (pid: number): void => void spawned.push(pid);
  const logger = capturingLogger().logger;
  const fast = await file(t.context.dir, 'fast.onnx', linearModel({ weights: [1, 2, 3], bias: 0 }));
  t.like(await pool.run({ artifactPath: fast, signature: LINEAR, samples: [row('r', [0, 0, 0])], timeoutMs: 10_000, logger, onSpawn }), { kind: 'finished' });
  const slow = await file(t.context.dir, 'slow.onnx', slowModel({ iterations: 3000 }));
  const zeros: Sample = { name: 'zeros', inputs: { x: { datatype: 'FP32', shape: [1, 256], data: new Array(256).fill(0) } } };
  const timedOut = await pool.run({ artifactPath: slow, samples: () => [zeros], timeoutMs: 200, logger, onSpawn });
  t.is(timedOut.kind, 'timed-out');
  t.true(pidIsGone(spawned[0]!), 'the child that ran over is gone');
  t.is(pool.idle, 0);
  t.like(await pool.run({ artifactPath: fast, signature: LINEAR, samples: [row('r', [1, 0, 0])], timeoutMs: 10_000, logger, onSpawn }), { kind: 'finished' });
  t.is(spawned.length, 2);
});

test.serial('a child that crashes is replaced; one that failed to load a model is kept; children retire after maxJobsPerChild', async (t) => {
  const pool = new ValidationPool({ size: 1, maxJobsPerChild: 3, logger: capturingLogger().logger });
  t.teardown(() => pool.close());
  const spawned: number[] = [];
  const onSpawn = (pid: number): void => void spawned.push(pid);
  const logger = capturingLogger().logger;
  const garbage = await file(t.context.dir, 'garbage.onnx', new Uint8Array([1, 2, 3, 4]));
  t.is((await pool.run({ artifactPath: garbage, samples: () => [], timeoutMs: 10_000, logger, onSpawn })).kind, 'load-failed');
  const fast = await file(t.context.dir, 'fast2.onnx', linearModel({ weights: [1, 2, 3], bias: 0 }));
  for (let i = 0; i < 3; i++) await pool.run({ artifactPath: fast, signature: LINEAR, samples: [row('r', [0, 0, 0])], timeoutMs: 10_000, logger, onSpawn });
  // load-failed kept the child; its third job retired it, so the fourth run started a second one.
  t.is(spawned.length, 2);
  t.true(pidIsGone(spawned[0]!));

  process.kill(spawned[1]!, 'SIGKILL');
  await new Promise((r) => setTimeout(r, 200));
  t.is(pool.idle, 0, 'an idle child that died left the pool');
  t.like(await pool.run({ artifactPath: fast, signature: LINEAR, samples: [row('r', [0, 0, 0])], timeoutMs: 10_000, logger, onSpawn }), { kind: 'finished' });
  t.is(spawned.length, 3);
});

test.serial('close() kills the idle children', async (t) => {
  const pool = new ValidationPool({ size: 2, logger: capturingLogger().logger });
  const spawned: number[] = [];
  const fast = await file(t.context.dir, 'fast3.onnx', linearModel({ weights: [1, 2, 3], bias: 0 }));
  const logger = capturingLogger().logger;
  await Promise.all([0, 1].map(() => pool.run({ artifactPath: fast, signature: LINEAR, samples: [row('r', [0, 0, 0])], timeoutMs: 10_000, logger, onSpawn: (pid) => void spawned.push(pid) })));
  t.is(pool.idle, 2);
  await pool.close();
  t.true(spawned.every(pidIsGone));
  await t.throwsAsync(pool.run({ artifactPath: fast, signature: LINEAR, samples: [], timeoutMs: 1000, logger }), { message: /closed/ });
});
