import test from 'ava';
import { InferenceSession, Tensor } from 'onnxruntime-node';
import {
  corruptModelBytes,
  expectedLinear,
  expectedMlp,
  GATHER_TABLE,
  gatherModel,
  identityModel,
  int64Model,
  linearModel,
  mlpModel,
  slowModel,
  twoOutputModel,
  type ModelDatatype,
} from '../src/index.js';

type Feeds = Record<string, Tensor>;

/** Runs `bytes` once and releases the session, whatever happens. */
async function runOnce(bytes: Uint8Array, feeds: Feeds, options: InferenceSession.SessionOptions = {}) {
  const session = await InferenceSession.create(bytes, options);
  try {
    return await session.run(feeds);
  } finally {
    await session.release();
  }
}

function output(results: InferenceSession.OnnxValueMapType, name: string): Tensor {
  const tensor = results[name];
  if (!tensor) throw new Error(`no output ${name}`);
  return tensor as Tensor;
}

function assertClose(t: { true(value: boolean, message?: string): void }, actual: ArrayLike<number>, expected: number[], tolerance = 1e-5) {
  t.true(actual.length === expected.length, `length ${actual.length} != ${expected.length}`);
  expected.forEach((want, i) => {
    const got = actual[i]!;
    t.true(Math.abs(got - want) <= tolerance * Math.max(1, Math.abs(want)), `[${i}] ${got} != ${want}`);
  });
}

test('linearModel computes x·w + b', async (t) => {
  const weights = [1, 2, 3];
  const rows = [
    [1, 1, 1],
    [0.5, -2, 4],
  ];
  const results = await runOnce(linearModel({ weights, bias: 0.5 }), {
    x: new Tensor('float32', Float32Array.from(rows.flat()), [2, 3]),
  });
  const y = output(results, 'y');
  t.deepEqual(y.dims, [2, 1]);
  t.deepEqual(expectedLinear(weights, 0.5, rows), [6.5, 9]);
  assertClose(t, y.data as Float32Array, expectedLinear(weights, 0.5, rows));
});

test('linearModel honours custom tensor names', async (t) => {
  const bytes = linearModel({ weights: [2], bias: -1, inputName: 'features', outputName: 'score' });
  const session = await InferenceSession.create(bytes);
  try {
    t.deepEqual(session.inputNames, ['features']);
    t.deepEqual(session.outputNames, ['score']);
  } finally {
    await session.release();
  }
});

test('int64Model computes ids·scale + offset in int64', async (t) => {
  const ids = [1n, 2n, 3n, 4n, -5n, 0n, 10n, 2n ** 40n];
  const feeds = { ids: new Tensor('int64', BigInt64Array.from(ids), [2, 4]) };
  const byDefault = output(await runOnce(int64Model({}), feeds), 'out');
  t.is(byDefault.type, 'int64');
  t.deepEqual(byDefault.dims, [2, 4]);
  t.deepEqual([...(byDefault.data as BigInt64Array)], ids.map((v) => v * 2n + 1n));

  const custom = output(await runOnce(int64Model({ scale: 3, offset: -7 }), feeds), 'out');
  t.deepEqual([...(custom.data as BigInt64Array)], ids.map((v) => v * 3n - 7n));
});

test('twoOutputModel returns the row sums and the doubled input', async (t) => {
  const results = await runOnce(twoOutputModel(), {
    x: new Tensor('float32', Float32Array.from([1, 2, 3, 4.5]), [2, 2]),
  });
  const sum = output(results, 'sum');
  const doubled = output(results, 'doubled');
  t.deepEqual(sum.dims, [2, 1]);
  t.deepEqual([...(sum.data as Float32Array)], [3, 7.5]);
  t.deepEqual(doubled.dims, [2, 2]);
  t.deepEqual([...(doubled.data as Float32Array)], [2, 4, 6, 9]);
});

const identityCases: [ModelDatatype, Tensor.Type, ArrayLike<unknown>][] = [
  ['FP32', 'float32', Float32Array.from([1.5, -2, 3.25, 0])],
  ['FP64', 'float64', Float64Array.from([Math.PI, -1e300, 2 ** -40, 0])],
  ['INT32', 'int32', Int32Array.from([2 ** 31 - 1, -(2 ** 31), 7, 0])],
  ['INT64', 'int64', BigInt64Array.from([2n ** 62n, -(2n ** 63n), 7n, 0n])],
  ['BOOL', 'bool', Uint8Array.from([1, 0, 0, 1])],
];

for (const [datatype, type, values] of identityCases) {
  test(`identityModel(${datatype}) passes ${type} through`, async (t) => {
    const input = new Tensor(type, values as never, [2, 2]);
    const out = output(await runOnce(identityModel(datatype), { in: input }), 'out');
    t.is(out.type, type);
    t.deepEqual(out.dims, [2, 2]);
    t.deepEqual(Array.from(out.data as ArrayLike<unknown>), Array.from(values));
  });
}

test('identityModel accepts a custom shape', async (t) => {
  const out = output(
    await runOnce(identityModel('FP32', [3]), { in: new Tensor('float32', Float32Array.from([1, 2, 3]), [3]) }),
    'out',
  );
  t.deepEqual(out.dims, [3]);
});

test('mlpModel is deterministic and matches expectedMlp', async (t) => {
  const options = { inputSize: 8, hidden: 16, layers: 3, seed: 42 };
  t.deepEqual(mlpModel(options), mlpModel(options));
  t.notDeepEqual(mlpModel(options), mlpModel({ ...options, seed: 43 }));
  const rows = [
    [1, -1, 0.5, 2, 0, 3, -0.25, 1],
    [0, 0, 0, 0, 0, 0, 0, 0],
  ];
  const y = output(
    await runOnce(mlpModel(options), { x: new Tensor('float32', Float32Array.from(rows.flat()), [2, 8]) }),
    'y',
  );
  t.deepEqual(y.dims, [2, 16]);
  assertClose(t, y.data as Float32Array, rows.flatMap((row) => expectedMlp(options, row)), 1e-4);
});

test('mlpModel at benchmark size is about 13.6 MB', (t) => {
  const bytes = mlpModel({ inputSize: 256, hidden: 1024, layers: 4, seed: 1 });
  t.true(bytes.length > 13_600_000 && bytes.length < 13_700_000, `${bytes.length} bytes`);
});

test('slowModel shifts x by `iterations` positions', async (t) => {
  const x = Float32Array.from({ length: 256 }, (_, i) => i);
  for (const iterations of [1, 3, 300]) {
    const y = output(await runOnce(slowModel({ iterations }), { x: new Tensor('float32', x, [1, 256]) }), 'y');
    t.deepEqual(y.dims, [1, 256]);
    const data = y.data as Float32Array;
    t.is(data[0], (256 - (iterations % 256)) % 256);
    t.is(data[iterations % 256], 0);
  }
  t.throws(() => slowModel({ iterations: 0 }));
});

test('gatherModel looks rows up, including negative indices', async (t) => {
  const y = output(
    await runOnce(gatherModel(), { idx: new Tensor('int64', BigInt64Array.from([0n, 3n, -1n, 1n]), [4]) }),
    'y',
  );
  t.deepEqual(y.dims, [4, 2]);
  t.deepEqual([...(y.data as Float32Array)], [0, 3, 3, 1].flatMap((i) => [...GATHER_TABLE[i]!]));
});

test('gatherModel loads fine but fails at run time for an out-of-range index', async (t) => {
  // Severity 4 keeps onnxruntime from printing the expected error to stderr.
  const session = await InferenceSession.create(gatherModel(), { logSeverityLevel: 4 });
  try {
    await t.throwsAsync(() => session.run({ idx: new Tensor('int64', BigInt64Array.from([10n]), [1]) }), {
      message: /out of data bounds/,
    });
  } finally {
    await session.release();
  }
});

test('corruptModelBytes cannot be loaded', async (t) => {
  await t.throwsAsync(() => InferenceSession.create(corruptModelBytes(), { logSeverityLevel: 4 }), {
    message: /protobuf parsing failed/,
  });
});
