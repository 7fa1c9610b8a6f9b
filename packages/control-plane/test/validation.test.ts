import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { parseSamplesDocument, serializeSamplesDocument, type SamplesDocument, type Signature } from '@switchyard/core';
import { silentLogger } from '@switchyard/core/logging';
import {
  corruptModelBytes,
  gatherModel,
  int64Model,
  linearModel,
  makeTempDir,
  pidIsGone,
  removeDir,
  slowModel,
  twoOutputModel,
} from '@switchyard/testkit';
import { readOnnxSignature } from '../src/index.js';
import { runInChild, validateVersion } from '../src/validation/index.js';
import { capturingLogger } from './helpers/harness.js';

// Serial: each test forks an onnxruntime process, and the time-limit test
// must not compete with the others for the two cores.
const test = anyTest as TestFn<{ dir: string }>;

test.before(async (t) => {
  t.context.dir = await makeTempDir('switchyard-validation-');
});

test.after.always(async (t) => {
  await removeDir(t.context.dir);
});

let fileCounter = 0;

/** Writes the model to a file, as the artifact store would, and reads its signature. */
async function artifact(dir: string, bytes: Uint8Array, signature?: Signature): Promise<{ artifactPath: string; signature: Signature }> {
  fileCounter += 1;
  const artifactPath = join(dir, `model-${fileCounter}.onnx`);
  await writeFile(artifactPath, bytes);
  return { artifactPath, signature: signature ?? (await readOnnxSignature(bytes)) };
}

const doc = (value: object): SamplesDocument => parseSamplesDocument(JSON.stringify(value));
const fp32 = (data: unknown): object => ({ datatype: 'FP32', data });

// y = x·[1,2,3] + 0.5
const linear = (): Uint8Array => linearModel({ weights: [1, 2, 3], bias: 0.5 });

test.serial('samples whose golden outputs match pass, and the document is kept as given', async (t) => {
  const samples = doc({
    samples: [
      { name: 'ones', inputs: { x: fp32([[1, 1, 1]]) }, outputs: { y: fp32([[6.5]]) } },
      { name: 'rows', inputs: { x: fp32([[1, 2, 3], [0, 0, 0]]) }, outputs: { y: fp32([[14.5], [0.5]]) } },
    ],
  });
  const { record, samples: stored } = await validateVersion({ ...(await artifact(t.context.dir, linear())), samples });
  t.like(record, { state: 'PASSED', reason: '', samples: 2, goldenRecorded: false, maxAbsDiff: 0 });
  t.true(record.durationMs > 0);
  t.false(Number.isNaN(Date.parse(record.validatedAt)));
  t.deepEqual(stored, samples);
});

test.serial('a golden mismatch is REJECTED naming the sample, output, expected and got', async (t) => {
  const samples = doc({ samples: [{ name: 'ones', inputs: { x: fp32([[1, 1, 1]]) }, outputs: { y: fp32([[7.5]]) } }] });
  const { record, samples: stored } = await validateVersion({ ...(await artifact(t.context.dir, linear())), samples });
  t.is(record.state, 'REJECTED');
  t.is(record.reason, "sample 'ones' output 'y' element 0: expected 7.5, got 6.5 (|diff| 1 > allowed 0.00076)");
  t.is(record.samples, 1);
  t.is(record.maxAbsDiff, 1);
  t.deepEqual(stored, samples);
});

test.serial('a per-output tolerance overrides the document tolerance', async (t) => {
  const samples = doc({
    tolerance: { absolute: 0, relative: 0 },
    samples: [
      {
        name: 'pair',
        inputs: { x: fp32([[1, 2]]) },
        outputs: { sum: fp32([[3.25]]), doubled: fp32([[2, 4.5]]) },
        tolerance: { sum: { absolute: 0.5 } },
      },
    ],
  });
  const { record } = await validateVersion({ ...(await artifact(t.context.dir, twoOutputModel())), samples });
  t.is(record.state, 'REJECTED');
  // sum is off by 0.25 but allowed 0.5; doubled has no slack.
  t.is(record.reason, "sample 'pair' output 'doubled' element 1: expected 4.5, got 4 (|diff| 0.5 > allowed 0)");
  t.is(record.maxAbsDiff, 0.5);
});

test.serial('samples without golden outputs get the computed ones recorded', async (t) => {
  const samples = doc({
    samples: [
      { name: 'given', inputs: { x: fp32([[1, 2]]) }, outputs: { sum: fp32([[3]]) } },
      { name: 'open', inputs: { x: fp32([[0.1, 5]]) } },
    ],
  });
  const { record, samples: stored } = await validateVersion({ ...(await artifact(t.context.dir, twoOutputModel())), samples });
  t.like(record, { state: 'PASSED', samples: 2, goldenRecorded: true });
  t.deepEqual(stored!.samples[0], samples.samples[0]);
  t.deepEqual(stored!.samples[1]!.outputs, {
    sum: { datatype: 'FP32', shape: [1, 1], data: [Math.fround(Math.fround(0.1) + 5)] },
    doubled: { datatype: 'FP32', shape: [1, 2], data: [Math.fround(0.2), 10] },
  });
  // The filled document is what gets stored: it must read back unchanged.
  t.deepEqual(parseSamplesDocument(serializeSamplesDocument(stored!)), stored);
  // And the recorded values pass a second validation exactly.
  const again = await validateVersion({ ...(await artifact(t.context.dir, twoOutputModel())), samples: stored });
  t.like(again.record, { state: 'PASSED', goldenRecorded: false, maxAbsDiff: 0 });
});

test.serial('INT64 values beyond 2^53 go through the child and back exactly', async (t) => {
  const samples = doc({ samples: [{ name: 'big', inputs: { ids: { datatype: 'INT64', data: [['4503599627370497', 0, -3, 7]] } } }] });
  const { record, samples: stored } = await validateVersion({ ...(await artifact(t.context.dir, int64Model())), samples });
  t.like(record, { state: 'PASSED', goldenRecorded: true });
  // ids·2 + 1
  t.deepEqual(stored!.samples[0]!.outputs!.out!.data, ['9007199254740995', 1, -5, 15]);
});

test.serial('without samples, one run on all-zero inputs is enough to pass', async (t) => {
  const { record, samples } = await validateVersion({ ...(await artifact(t.context.dir, linear())), samples: null });
  t.like(record, { state: 'PASSED', reason: '', samples: 0, goldenRecorded: false, maxAbsDiff: 0 });
  t.is(samples, null);
  t.is((await validateVersion({ ...(await artifact(t.context.dir, int64Model())), samples: null })).record.state, 'PASSED');
});

test.serial('bytes onnxruntime cannot load are REJECTED', async (t) => {
  const signature: Signature = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [1] }] };
  const { record } = await validateVersion({ ...(await artifact(t.context.dir, corruptModelBytes(), signature)), samples: null });
  t.is(record.state, 'REJECTED');
  t.regex(record.reason, /^onnxruntime cannot load the model: .+/);
});

test.serial('a sample the model fails on is REJECTED naming the sample and the onnxruntime error', async (t) => {
  const samples = doc({
    samples: [
      { name: 'fine', inputs: { idx: { datatype: 'INT64', shape: [2], data: [0, 1] } } },
      { name: 'out-of-range', inputs: { idx: { datatype: 'INT64', shape: [1], data: [10] } } },
    ],
  });
  const { record } = await validateVersion({ ...(await artifact(t.context.dir, gatherModel())), samples });
  t.is(record.state, 'REJECTED');
  t.regex(record.reason, /^sample 'out-of-range' failed to run: .*out of data bounds/);
  t.is(record.samples, 1);
});

test.serial('a sample that does not fit the signature is REJECTED without running', async (t) => {
  const samples = doc({ samples: [{ name: 'narrow', inputs: { x: fp32([[1, 2]]) } }] });
  const { record } = await validateVersion({ ...(await artifact(t.context.dir, linear())), samples });
  t.is(record.state, 'REJECTED');
  t.regex(record.reason, /^sample 'narrow' input 'x' has shape \[1,2\] but the model's is x \(FP32 \[-1,3\]\)/);
});

test.serial('a model that runs too long is SIGKILLed at the time limit and its process is gone', async (t) => {
  const { logger, records } = capturingLogger();
  // ≈ 0.2 s to load and ≈ 0.8 s to run on the dev box: the limit cuts it off.
  const model = await artifact(t.context.dir, slowModel({ iterations: 2000 }));
  const samples = doc({ samples: [{ name: 'zeros', inputs: { x: { datatype: 'FP32', shape: [1, 256], data: new Array(256).fill(0) } } }] });
  const started = Date.now();
  const { record } = await validateVersion({ ...model, samples, timeoutMs: 300, logger });
  t.is(record.state, 'REJECTED');
  t.regex(record.reason, /^validation timed out after 0\.3 s \((the model ran too long on sample 'zeros'|onnxruntime was still loading the model); raise --validation-timeout or fix the model\)$/);
  t.log(record.reason);
  t.true(Date.now() - started < 10_000);
  const spawned = records.find((r) => r.message === 'validation child started');
  const pid = spawned?.pid;
  t.is(typeof pid, 'number');
  t.true(pidIsGone(pid as number));
});

// onnxruntime crashes are hard to provoke on purpose; stand-in children show
// the runner reports a dying or silent child and reaps it.
async function fakeChild(dir: string, name: string, source: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, source);
  return path;
}

const noJob = { artifactPath: '/nonexistent', signature: { inputs: [], outputs: [] }, samples: [], logger: silentLogger() };

test.serial('a child that dies mid-run is reported as crashed with its signal and stderr', async (t) => {
  const childModule = await fakeChild(
    t.context.dir,
    'crashing-child.mjs',
    `process.on('message', async () => {
      await new Promise((r) => process.send({ type: 'loaded' }, r));
      await new Promise((r) => process.send({ type: 'started', index: 0 }, r));
      process.stderr.write('boom in kernel\\n');
      setTimeout(() => process.kill(process.pid, 'SIGSEGV'), 50);
    });
    process.send({ type: 'ready' });`,
  );
  const result = await runInChild({ ...noJob, timeoutMs: 5000, childModule });
  t.like(result, { kind: 'crashed', stage: { phase: 'running', index: 0 }, signal: 'SIGSEGV', stderr: 'boom in kernel' });
});

test.serial('a child that never becomes ready is killed at the startup limit', async (t) => {
  let pid = 0;
  const childModule = await fakeChild(t.context.dir, 'silent-child.mjs', 'setInterval(() => {}, 1000);');
  const result = await runInChild({ ...noJob, timeoutMs: 60_000, startupTimeoutMs: 300, childModule, onSpawn: (p) => (pid = p) });
  t.like(result, { kind: 'timed-out', stage: { phase: 'starting' } });
  t.true(pid > 0 && pidIsGone(pid));
});
