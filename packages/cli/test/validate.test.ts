/**
 * `switchyard validate` against a real cluster (etcd + control plane) with
 * models deployed through the admin API, run as users run it (the bin shim in
 * a child process). Cases that need a broken cluster break it the way it
 * breaks in life: a samples document swapped behind the control plane's back
 * (what a bad edit or an attacker with etcd access does), an artifact file
 * deleted from the store.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import type { Etcd3 } from 'etcd3';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { AdminClient } from '@switchyard/client';
import { DEFAULT_PREFIX, KeyLayout, parseSamplesDocument, serializeSamplesDocument, type VersionRecord } from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import { silentLogger } from '@switchyard/core/logging';
import { PredictionNode } from '@switchyard/prediction-node';
import { identityModel, int64Model, linearModel, makeTempDir, removeDir, slowModel, SLOW_MODEL_WIDTH, twoOutputModel, waitFor } from '@switchyard/testkit';
import { ExitCode } from '../src/exit-codes.js';
import type { ValidationReport } from '../src/validate/validation-report.js';
import { TestCluster } from '@switchyard/e2e';
import { killRunning, runCli } from './helpers/run-cli.js';

interface Context {
  cluster: TestCluster;
  admin: AdminClient;
  etcd: Etcd3;
  keys: KeyLayout;
  cwd: string;
}

/** What tests start beyond the shared cluster; module-level, since ava gives each test a copy of the context. */
const cleanups: (() => Promise<void>)[] = [];

const test = anyTest as TestFn<Context>;

const ones = (x: number[][]) => ({ x: { datatype: 'FP32', data: x } });

/** Uploads, creates (deploy-time validation records missing golden outputs) and routes all traffic to it. */
async function deploy(t: { context: Context }, model: string, bytes: Uint8Array, samples?: object): Promise<string> {
  const { admin } = t.context;
  const { sha256 } = await admin.uploadBytes(bytes);
  const created = await admin.createVersion({
    model,
    artifact_sha256: sha256,
    ...(samples ? { samples_json: new TextEncoder().encode(JSON.stringify(samples)) } : {}),
  });
  if (created.validation?.state !== 'PASSED') throw new Error(`${model} was ${created.validation?.state}: ${created.validation?.reason}`);
  await admin.setRoute({ model, splits: [{ version: created.version, weight: 10_000 }] });
  return created.version;
}

async function readRecord(t: { context: Context }, model: string, version: string): Promise<VersionRecord> {
  return JSON.parse((await t.context.etcd.get(t.context.keys.version(model, version)).string())!) as VersionRecord;
}

function validate(t: { context: Context }, ...args: string[]) {
  return runCli(['validate', '--etcd', t.context.cluster.etcd.endpoint, ...args], { cwd: t.context.cwd });
}

async function jsonReport(t: { context: Context }, file: string): Promise<ValidationReport> {
  return JSON.parse(await readFile(join(t.context.cwd, file), 'utf8')) as ValidationReport;
}

const byName = (report: ValidationReport) => new Map(report.versions.map((v) => [`${v.model}:${v.version}`, v]));

test.before(async (t) => {
  const cluster = await TestCluster.start({ nodes: 0, prefix: DEFAULT_PREFIX });
  const admin = AdminClient.connect(cluster.controlPlane.address, { source: 'the test cluster' });
  const etcd = createEtcdClient({ endpoints: cluster.etcd.endpoint });
  const cwd = await makeTempDir('switchyard-validate-cwd-');
  t.context = { cluster, admin, etcd, keys: new KeyLayout(), cwd };

  // Golden outputs given by hand: x=[[1,2,3]] → 0.5 − 2 + 6 + 0.25 = 4.75.
  await deploy(t, 'linear', linearModel({ weights: [0.5, -1, 2], bias: 0.25 }), {
    samples: [
      { name: 'ones', inputs: ones([[1, 2, 3]]), outputs: { y: { datatype: 'FP32', data: [[4.75]] } } },
      { name: 'zeros', inputs: ones([[0, 0, 0]]) },
    ],
  });
  // Golden outputs recorded at deploy.
  await deploy(t, 'two', twoOutputModel(), { samples: [{ name: 'pair', inputs: { x: { datatype: 'FP32', data: [[1.5, -2]] } } }] });
  await deploy(t, 'ids', int64Model({ scale: 3, offset: -7 }), {
    samples: [{ name: 'wide', inputs: { ids: { datatype: 'INT64', data: [['9007199254740993', 1, -2, 0]] } } }],
  });
  // No samples at all: UNVERIFIED.
  await deploy(t, 'plain', identityModel('FP32'));
  // An unrouted version: only --all sees it.
  const { sha256 } = await admin.uploadBytes(linearModel({ weights: [1, 1, 1], bias: 0 }));
  await admin.createVersion({ model: 'linear', artifact_sha256: sha256 });
});

test.after.always(async (t) => {
  killRunning();
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  t.context.admin?.close();
  t.context.etcd?.close();
  await t.context.cluster?.stop();
  if (t.context.cwd) await removeDir(t.context.cwd);
});

test.serial('every routed version passes; the version without samples is UNVERIFIED, and a failure under --require-samples', async (t) => {
  const result = await validate(t, '--report-json', 'ok.json');
  t.is(result.code, ExitCode.OK, result.stderr);
  const report = await jsonReport(t, 'ok.json');
  const versions = byName(report);
  t.deepEqual([...versions.keys()], ['ids:v1', 'linear:v1', 'plain:v1', 'two:v1']);
  for (const name of ['ids:v1', 'linear:v1', 'two:v1']) {
    const v = versions.get(name)!;
    t.is(v.result, 'PASS', `${name}: ${v.reason}`);
    t.is(v.samplesRun, v.samples);
    t.true(v.loadMs !== null && v.loadMs >= 0);
    t.deepEqual(v.referencedBy, ['route']);
  }
  t.is(versions.get('linear:v1')!.samples, 2);
  t.is(versions.get('plain:v1')!.result, 'UNVERIFIED');
  t.deepEqual(report.counts, { total: 4, PASS: 3, FAIL: 0, UNVERIFIED: 1, ERROR: 0 });
  // The summary table on stdout, lines per version on stderr (not a terminal here).
  t.regex(result.stdout, /│ linear\s+│ v1\s+│ 2\s+│ PASS\s+│/);
  t.regex(result.stdout, /│ plain\s+│ v1\s+│ -\s+│ UNVERIFIED │/);
  t.regex(result.stdout, /4 version\(s\): 3 passed, 0 failed, 1 unverified, 0 error\(s\)/);
  t.regex(result.stderr, /\[4\/4\] /);

  const strict = await validate(t, '--model', 'plain', 'two', '--require-samples', '-o', 'json');
  t.is(strict.code, ExitCode.FAILED, strict.stderr);
  const plain = (JSON.parse(strict.stdout) as ValidationReport).versions.find((v) => v.model === 'plain')!;
  t.is(plain.result, 'FAIL');
  t.regex(plain.reason, /no samples, and --require-samples/);

  const all = await validate(t, '--all', '--model', 'linear', '-o', 'json');
  t.is(all.code, ExitCode.OK, all.stderr);
  const linear = (JSON.parse(all.stdout) as ValidationReport).versions;
  t.deepEqual(linear.map((v) => [v.version, v.referencedBy, v.result]), [['v1', ['route'], 'PASS'], ['v2', ['all'], 'UNVERIFIED']]);
});

test.serial('--against finds the node whose answers differ from this build, and agrees with the others', async (t) => {
  // A production node that answers differently for linear:v1: it serves a
  // cluster of its own (another prefix of the same etcd, artifacts from the
  // same control plane) whose linear:v1 record names a model with the same
  // signature and another bias. Seen from its clients, that is exactly a
  // node that answers linear:v1 otherwise; the other versions are the same bytes.
  const { etcd, keys, cluster, admin } = t.context;
  const prodKeys = new KeyLayout('/prod-build/');
  const planted = await admin.uploadBytes(linearModel({ weights: [0.5, -1, 2], bias: 0.26 }));
  for (const model of ['linear', 'two', 'ids']) {
    const record = await readRecord(t, model, 'v1');
    if (model === 'linear') record.artifact = { sha256: planted.sha256, size: Number(planted.size) };
    await etcd.put(prodKeys.version(model, 'v1')).value(JSON.stringify(record));
    await etcd.put(prodKeys.route(model)).value((await etcd.get(keys.route(model)).string())!);
    // Placed on the production node (issue #16), as the control plane's placer would.
    const now = new Date().toISOString();
    await etcd.put(prodKeys.placement(model, 'v1')).value(JSON.stringify({ model, version: 'v1', copies: [{ nodeId: 'prod-1', since: now }], updatedAt: now }));
  }
  const prodEtcd = createEtcdClient({ endpoints: cluster.etcd.endpoint });
  cleanups.push(async () => prodEtcd.close());
  const node = await PredictionNode.create({
    etcd: prodEtcd,
    keys: prodKeys,
    id: 'prod-1',
    dataDir: join(cluster.dir, 'prod-1'),
    logger: silentLogger(),
    controlPlanes: [cluster.controlPlane.address],
    drainGraceMs: 0,
  });
  cleanups.push(() => node.stop(500));
  await node.ready(20_000);
  await waitFor(() => ['linear', 'two', 'ids'].every((m) => node.table.routes.get(m)?.entries.length === 1), { timeoutMs: 20_000, message: 'prod node serving' });

  const result = await validate(t, '--model', 'linear', 'two', 'ids', 'plain', '--against', node.address, '--report-json', 'against.json');
  t.is(result.code, ExitCode.FAILED, result.stderr);
  const versions = byName(await jsonReport(t, 'against.json'));
  const linear = versions.get('linear:v1')!;
  t.is(linear.result, 'FAIL');
  t.is(linear.against?.state, 'DIFFERENT');
  t.deepEqual(linear.failures.map((f) => [f.sample, f.output]), [['ones', 'y'], ['zeros', 'y']]);
  t.regex(linear.failures[0]!.reason, new RegExp(`node ${node.address} differs .*sample 'ones' output 'y' element 0: expected 4\\.75, got 4\\.76`));
  for (const name of ['two:v1', 'ids:v1']) {
    t.is(versions.get(name)!.result, 'PASS');
    t.is(versions.get(name)!.against?.state, 'SAME');
    t.is(versions.get(name)!.against?.maxAbsDiff, 0);
  }
  // plain is not routed in the prod cluster: not served there, which is not a failure.
  t.is(versions.get('plain:v1')!.against?.state, 'NOT_SERVED');
  t.is(versions.get('plain:v1')!.result, 'UNVERIFIED');
  t.regex(result.stdout, /DIFFERENT \(max /);
});

test.serial('edited golden outputs FAIL naming the sample and output; a missing artifact is a load error with its own exit code; JUnit counts both', async (t) => {
  const { etcd, keys, admin, cluster } = t.context;
  const tamperedVersion = await deploy(t, 'tampered', linearModel({ weights: [1, 2, 3], bias: 0 }), {
    samples: [{ name: 'ones', inputs: ones([[1, 1, 1]]) }, { name: 'twos', inputs: ones([[2, 2, 2]]) }],
  });
  // Swap the stored samples document for one whose golden output for 'twos' is wrong.
  const record = await readRecord(t, 'tampered', tamperedVersion);
  const doc = parseSamplesDocument(
    JSON.stringify({
      samples: [
        { name: 'ones', inputs: ones([[1, 1, 1]]), outputs: { y: { datatype: 'FP32', data: [[6]] } } },
        { name: 'twos', inputs: ones([[2, 2, 2]]), outputs: { y: { datatype: 'FP32', data: [[12.5]] } } },
      ],
    }),
  );
  const bytes = serializeSamplesDocument(doc);
  const stored = await admin.uploadBytes(bytes, { filename: 'samples.json' });
  record.samples = { sha256: stored.sha256, size: bytes.byteLength, count: 2 };
  await etcd.put(keys.version('tampered', tamperedVersion)).value(JSON.stringify(record));

  const tampered = await validate(t, '--model', 'tampered');
  t.is(tampered.code, ExitCode.FAILED, tampered.stderr);
  t.regex(tampered.stdout, /tampered:v1 FAIL: sample 'twos' output 'y' element 0: expected 12\.5, got 12/);
  t.regex(tampered.stderr, /error: 1 of 1 version\(s\) FAILED validation/);

  const missingVersion = await deploy(t, 'missing', linearModel({ weights: [3, 2, 1], bias: 9 }), { samples: [{ inputs: ones([[1, 1, 1]]) }] });
  const missingSha = (await readRecord(t, 'missing', missingVersion)).artifact.sha256;
  await rm(join(cluster.dir, 'control-plane', 'artifacts', 'sha256', missingSha));

  const missing = await validate(t, '--model', 'missing', 'linear');
  t.is(missing.code, ExitCode.VALIDATION_ERROR, missing.stderr);
  t.regex(missing.stdout, /missing:v1 ERROR: could not fetch its files: NOT_FOUND/);
  t.regex(missing.stderr, /error: 1 of 2 version\(s\) could not be checked/);

  // Everything at once: a failure outranks an error in the exit code; the JUnit file has both.
  const all = await validate(t, '--report-junit', 'junit.xml');
  t.is(all.code, ExitCode.FAILED, all.stderr);
  const xml = await readFile(join(t.context.cwd, 'junit.xml'), 'utf8');
  t.is(XMLValidator.validate(xml), true);
  const parsed = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => name === 'testcase' }).parse(xml) as {
    testsuites: { testsuite: { tests: string; failures: string; errors: string; skipped: string; testcase: Record<string, unknown>[] } };
  };
  const suite = parsed.testsuites.testsuite;
  t.deepEqual([suite.tests, suite.failures, suite.errors, suite.skipped], ['6', '1', '1', '1']);
  const cases = new Map(suite.testcase.map((c) => [c.name as string, c]));
  t.deepEqual([...cases.keys()].sort(), ['ids:v1', 'linear:v1', 'missing:v1', 'plain:v1', 'tampered:v1', 'two:v1']);
  const failure = cases.get('tampered:v1')!.failure as { message: string; '#text': string };
  t.regex(failure.message, /^sample 'twos' output 'y' element 0: expected 12\.5, got 12 /);
  t.true(cases.get('missing:v1')!.error !== undefined);
  t.true(cases.get('plain:v1')!.skipped !== undefined);
  t.is(cases.get('linear:v1')!.failure, undefined);
});

test.serial('--concurrency and --max-memory bound how many versions are checked at once', async (t) => {
  const models = ['slow-a', 'slow-b'];
  const input = { x: { datatype: 'FP32', data: [Array.from({ length: SLOW_MODEL_WIDTH }, (_, i) => i / SLOW_MODEL_WIDTH)] } };
  for (const [i, model] of models.entries()) await deploy(t, model, slowModel({ iterations: 20 + i }), { samples: [{ inputs: input }] });
  const peak = async (...limits: string[]): Promise<number> => {
    const result = await validate(t, '--model', ...models, ...limits, '-o', 'json');
    t.is(result.code, ExitCode.OK, result.stderr);
    const report = JSON.parse(result.stdout) as ValidationReport;
    t.deepEqual(report.counts, { total: 2, PASS: 2, FAIL: 0, UNVERIFIED: 0, ERROR: 0 });
    return report.limits.peakRunning;
  };
  // The counter is real: unbounded, both are admitted before either finishes.
  t.is(await peak('--concurrency', '2', '--max-memory', '64GiB'), 2);
  t.is(await peak('--concurrency', '1', '--max-memory', '64GiB'), 1);
  // Every version is estimated at 64 MiB or more, so a 100 MiB budget admits one at a time.
  t.is(await peak('--concurrency', '2', '--max-memory', '100MiB'), 1);
});

test.serial('no routed versions under the prefix is an error, not a pass', async (t) => {
  const result = await validate(t, '--prefix', '/nothing-here/');
  t.is(result.code, ExitCode.VALIDATION_ERROR);
  t.regex(result.stderr, /no versions to validate under \/nothing-here\//);
  const unknown = await validate(t, '--model', 'nope');
  t.is(unknown.code, ExitCode.FAILED);
  t.regex(unknown.stderr, /model nope has no routed versions/);
});
