/** The pure parts of `switchyard validate`: the run limits, the JUnit writer, the exit code. */
import test from 'ava';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { validationOutcome } from '../src/commands/validate.js';
import { ExitCode } from '../src/exit-codes.js';
import { junitXml, xmlEscape } from '../src/validate/junit-report.js';
import { estimateMemory, RunLimits } from '../src/validate/run-limits.js';
import { countResults, type ValidationReport, type VersionReport } from '../src/validate/validation-report.js';

/** A job that runs until released, recording the order jobs start in. */
function gate(started: string[], name: string): { job: () => Promise<string>; release: () => void } {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return {
    job: async () => {
      started.push(name);
      await done;
      return name;
    },
    release: () => release(),
  };
}

const tick = () => new Promise((r) => setImmediate(r));

test('RunLimits admits jobs within the concurrency and the memory budget, in order; an oversized job runs alone', async (t) => {
  const limits = new RunLimits(3, 100);
  const started: string[] = [];
  const jobs = { a: gate(started, 'a'), b: gate(started, 'b'), big: gate(started, 'big'), c: gate(started, 'c') };
  const results = [limits.run(40, jobs.a.job), limits.run(40, jobs.b.job), limits.run(500, jobs.big.job), limits.run(10, jobs.c.job)];
  await tick();
  // a + b = 80 fit; big does not, and c waits behind it (no overtaking).
  t.deepEqual(started, ['a', 'b']);
  jobs.a.release();
  await tick();
  t.deepEqual(started, ['a', 'b']);
  jobs.b.release();
  await tick();
  t.deepEqual(started, ['a', 'b', 'big'], 'the oversized job starts once nothing else runs');
  jobs.big.release();
  await tick();
  t.deepEqual(started, ['a', 'b', 'big', 'c']);
  jobs.c.release();
  t.deepEqual(await Promise.all(results), ['a', 'b', 'big', 'c']);
  t.deepEqual(limits.peaks, { running: 2, memoryBytes: 500 });
  t.throws(() => new RunLimits(0, 1), { instanceOf: TypeError });
  t.true(estimateMemory(1000) > 3000);
});

test('RunLimits releases its budget when a job throws', async (t) => {
  const limits = new RunLimits(1, 10);
  await t.throwsAsync(limits.run(10, async () => Promise.reject(new Error('boom'))), { message: 'boom' });
  t.is(await limits.run(10, async () => 'next'), 'next');
});

const version = (overrides: Partial<VersionReport>): VersionReport => ({
  model: 'm',
  version: 'v1',
  sha256: 'a'.repeat(64),
  size: 10,
  referencedBy: ['route'],
  result: 'PASS',
  samples: 1,
  samplesRun: 1,
  maxAbsDiff: 0,
  loadMs: 1.5,
  durationMs: 20,
  reason: '',
  failures: [],
  ...overrides,
});

function report(versions: VersionReport[]): ValidationReport {
  return {
    build: '1.0.0',
    startedAt: '2026-11-28T00:00:00.000Z',
    durationMs: 1234,
    etcdRevision: '7',
    all: false,
    requireSamples: false,
    against: null,
    limits: { concurrency: 2, maxMemoryBytes: 1, peakRunning: 1, peakMemoryBytes: 1 },
    counts: countResults(versions),
    versions,
    skipped: [],
  };
}

test('xmlEscape escapes markup and replaces characters XML cannot hold', (t) => {
  t.is(xmlEscape(`<a href="x">&'</a>`), '&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;');
  t.is(xmlEscape('bell\u0007 nul\u0000 tab\t'), 'bell\uFFFD nul\uFFFD tab\t');
});

test('the JUnit document parses with one testcase per version, whatever the names and reasons hold', (t) => {
  const nasty = `sample '<b>&"x"' output 'y]]>' element 0: expected 1, got 2\u0001`;
  const xml = junitXml(
    report([
      version({ model: 'a&b', version: 'v<1>' }),
      version({ model: 'c', result: 'FAIL', reason: nasty, failures: [{ sample: '<b>&"x"', output: 'y]]>', reason: nasty }] }),
      version({ model: 'd', result: 'ERROR', reason: 'could not fetch its files: NOT_FOUND: gone', loadMs: null }),
      version({ model: 'e', result: 'UNVERIFIED', reason: 'it has no samples', samples: 0, samplesRun: 0 }),
    ]),
  );
  t.is(XMLValidator.validate(xml), true);
  const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '' }).parse(xml) as {
    testsuites: { testsuite: { tests: string; failures: string; errors: string; skipped: string; testcase: Record<string, any>[] } };
  };
  const suite = parsed.testsuites.testsuite;
  t.deepEqual([suite.tests, suite.failures, suite.errors, suite.skipped], ['4', '1', '1', '1']);
  t.is(suite.testcase[0]!.name, 'a&b:v<1>');
  t.is(suite.testcase[1]!.failure.message, nasty.replace('\u0001', '\uFFFD'));
  t.is(suite.testcase[1]!.failure.type, 'OutputMismatch');
  t.is(suite.testcase[2]!.error.type, 'FetchError');
  t.regex(suite.testcase[3]!.skipped.message, /^UNVERIFIED: /);
});

test('the exit code: FAIL outranks ERROR, UNVERIFIED passes', (t) => {
  t.is(validationOutcome(report([version({}), version({ result: 'UNVERIFIED' })])).exitCode, ExitCode.OK);
  t.is(validationOutcome(report([version({ result: 'ERROR' })])).exitCode, ExitCode.VALIDATION_ERROR);
  t.is(validationOutcome(report([version({ result: 'ERROR' }), version({ result: 'FAIL' })])).exitCode, ExitCode.FAILED);
});
