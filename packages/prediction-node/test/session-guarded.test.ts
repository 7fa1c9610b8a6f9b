// GuardedSession's process path with a fake process the test answers: runs go one at a time, each with its own run time-out.
import test from 'ava';
import ort from 'onnxruntime-node';
import { silentLogger } from '@switchyard/core/logging';
import { GuardedSession } from '../src/session-guarded.js';
import type { RunLimits, VersionSession } from '../src/session-interface.js';
import type { SessionProcess, SessionProcessOptions } from '../src/session-process.js';

type Out = Record<string, ort.Tensor>;
const tick = () => new Promise((r) => setImmediate(r));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const out = (): Out => ({ y: new ort.Tensor('float32', Float32Array.from([1]), [1, 1]) });

function guarded(runTimeoutMs: number) {
  const runs: { limits: RunLimits; resolve: (o: Out) => void }[] = [];
  const process = {
    alive: true,
    inputNames: ['x'],
    outputNames: ['y'],
    run: (_feeds: Out, _outputs: readonly string[] | undefined, limits: RunLimits) => new Promise<Out>((resolve) => runs.push({ limits, resolve })),
    rssBytes: () => 0,
    release: async () => undefined,
  } as unknown as SessionProcess;
  const fast = { host: 'worker', inputNames: ['x'], outputNames: ['y'], run: async () => out(), release: async () => undefined } as unknown as VersionSession;
  const session = new GuardedSession({
    fast,
    // Measured at one row: a request of two rows goes to the process.
    measuredShapes: new Map([['x', [1, 1]]]),
    process: { label: 'model m version v1' } as SessionProcessOptions,
    first: process,
    runTimeoutMs,
    logger: silentLogger(),
  });
  return { session, runs };
}

const twoRows = (): Out => ({ x: new ort.Tensor('float32', new Float32Array(2), [2, 1]) });

test('process runs go one at a time: the second starts when the first ends, its run time-out counting from then and the deadline from its call', async (t) => {
  const { session, runs } = guarded(1000);
  const a = session.run(twoRows(), ['y'], { timeoutMs: 60_000 });
  const b = session.run(twoRows(), ['y'], { timeoutMs: 60_000 });
  await tick();
  t.is(runs.length, 1, 'the second waits for the first');
  t.is(runs[0]!.limits.timeoutMs, 1000, 'the run time-out, the lesser of the two');
  await sleep(50);
  runs[0]!.resolve(out());
  await a;
  await tick();
  t.is(runs.length, 2);
  t.is(runs[1]!.limits.timeoutMs, 1000, "the first run's time is not the second's");
  const c = session.run(twoRows(), ['y'], { timeoutMs: 300 });
  await sleep(100);
  runs[1]!.resolve(out());
  await b;
  await tick();
  t.is(runs.length, 3);
  t.true(runs[2]!.limits.timeoutMs < 300, `the caller's deadline counts from its call (${runs[2]!.limits.timeoutMs} ms left)`);
  runs[2]!.resolve(out());
  await c;
});

test('a caller that leaves while waiting for its turn is answered CANCELLED at once, and the next waits for the run ahead', async (t) => {
  const { session, runs } = guarded(1000);
  const a = session.run(twoRows(), ['y'], { timeoutMs: 60_000 });
  const abort = new AbortController();
  const b = session.run(twoRows(), ['y'], { timeoutMs: 60_000, signal: abort.signal });
  const c = session.run(twoRows(), ['y'], { timeoutMs: 60_000 });
  abort.abort();
  await t.throwsAsync(b, { message: /cancelled/ });
  await tick();
  t.is(runs.length, 1, 'c still waits for a');
  runs[0]!.resolve(out());
  await a;
  await tick();
  await tick();
  t.is(runs.length, 2, 'then c runs');
  runs[1]!.resolve(out());
  await c;
});
