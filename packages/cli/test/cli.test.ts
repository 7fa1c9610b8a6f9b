import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { corruptModelBytes, expectedLinear, linearModel, makeTempDir, removeDir } from '@switchyard/testkit';
import { TestCluster } from './helpers/cluster.js';
import { killRunning, runCli } from './helpers/run-cli.js';

const test = anyTest as TestFn<{ cluster: TestCluster; cwd: string }>;

const WEIGHTS = [0.5, -1, 2];
const BIAS = 0.25;

test.before(async (t) => {
  const cluster = await TestCluster.start(2);
  // An empty working directory: no .switchyard/cluster.json to find by accident.
  const cwd = await makeTempDir('switchyard-cli-cwd-');
  await writeFile(join(cwd, 'linear.onnx'), linearModel({ weights: WEIGHTS, bias: BIAS }));
  await writeFile(join(cwd, 'corrupt.onnx'), corruptModelBytes());
  t.context = { cluster, cwd };
});

test.after.always(async (t) => {
  killRunning();
  await t.context.cluster?.stop();
  if (t.context.cwd) await removeDir(t.context.cwd);
});

/** Runs the CLI against the test cluster's control plane. */
function cli(t: { context: { cluster: TestCluster; cwd: string } }, ...args: string[]) {
  return runCli([...args, '--control-plane', t.context.cluster.controlPlane.address], { cwd: t.context.cwd });
}

test.serial('deploy uploads, routes and waits until both nodes are READY', async (t) => {
  const result = await cli(t, 'deploy', 'linear', 'linear.onnx', '--output', 'json');
  t.is(result.code, 0, result.stderr);
  const out = JSON.parse(result.stdout) as { model: string; version: string; sha256: string; size: number; nodes: { id: string; state: string }[]; readyMs: number };
  t.is(out.model, 'linear');
  t.is(out.version, 'v1');
  t.regex(out.sha256, /^[0-9a-f]{64}$/);
  t.true(out.size > 0);
  t.deepEqual(out.nodes.map((n) => [n.id, n.state]), [['node-1', 'READY'], ['node-2', 'READY']]);
  t.true(out.readyMs >= 0);
});

test.serial('deploy in table mode prints one summary line', async (t) => {
  const result = await cli(t, 'deploy', 'linear', 'linear.onnx');
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, /^deployed linear:v2 \(sha256 [0-9a-f]{12}…, \d+ B\), READY on 2\/2 nodes in \d+ ms\n$/);
});

test.serial('predict returns the linear model’s value and the version that answered', async (t) => {
  const rows = [[1, 2, 3], [-1, 0.5, 4]];
  const result = await cli(t, 'predict', 'linear', '--input', `x=${JSON.stringify(rows)}`, '--output', 'json');
  t.is(result.code, 0, result.stderr);
  const out = JSON.parse(result.stdout) as { model: string; version: string; outputs: Record<string, { datatype: string; shape: number[]; data: number[][] }> };
  t.is(out.model, 'linear');
  t.is(out.version, 'v2');
  const y = out.outputs['y']!;
  t.is(y.datatype, 'FP32');
  t.deepEqual(y.shape, [2, 1]);
  const expected = expectedLinear(WEIGHTS, BIAS, rows);
  y.data.forEach((row, i) => t.true(Math.abs(row[0]! - expected[i]!) < 1e-5, `row ${i}: ${row[0]} vs ${expected[i]}`));

  const table = await cli(t, 'predict', 'linear', '-i', 'x=[[1,2,3]]', '--version', 'v2');
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /^y \(FP32 \[1,1\]\): \[\[4\.75\]\]\nmodel_version: v2 /);
});

test.serial('predict --node talks to that node without a control plane', async (t) => {
  const node = t.context.cluster.nodes[1]!;
  const result = await runCli(['predict', 'linear', '-i', 'x=[[0,0,0]]', '--node', node.address, '-o', 'json'], { cwd: t.context.cwd });
  t.is(result.code, 0, result.stderr);
  t.deepEqual((JSON.parse(result.stdout) as { outputs: { y: { data: number[][] } } }).outputs.y.data, [[0.25]]);
});

test.serial('status --output json lists both nodes READY for the routed version', async (t) => {
  const result = await cli(t, 'status', 'linear', '-o', 'json');
  t.is(result.code, 0, result.stderr);
  const status = JSON.parse(result.stdout) as {
    model: string;
    route: { splits: { version: string; weight: number }[] };
    nodes: { node_id: string; versions: { version: string; state: string }[] }[];
  };
  t.is(status.model, 'linear');
  t.deepEqual(status.route.splits, [{ version: 'v2', weight: 10000 }]);
  t.deepEqual(status.nodes.map((n) => n.node_id), ['node-1', 'node-2']);
  for (const node of status.nodes) t.is(node.versions.find((v) => v.version === 'v2')?.state, 'READY');

  const table = await cli(t, 'status', 'linear');
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /route: v2 100%/);
  t.regex(table.stdout, /node-2 .*v2 .*READY/);
});

test('without a control plane configured, client commands exit 2 and list the three ways', async (t) => {
  const result = await runCli(['status', 'linear'], { cwd: t.context.cwd });
  t.is(result.code, 2);
  t.is(result.stdout, '');
  t.regex(result.stderr, /^error: no control plane configured/);
  t.regex(result.stderr, /--control-plane/);
  t.regex(result.stderr, /SWITCHYARD_CONTROL_PLANE/);
  t.regex(result.stderr, /switchyard up/);
});

test('SWITCHYARD_CONTROL_PLANE is used when no flag is given', async (t) => {
  const result = await runCli(['status', 'linear', '-o', 'json'], {
    cwd: t.context.cwd,
    env: { SWITCHYARD_CONTROL_PLANE: t.context.cluster.controlPlane.address },
  });
  t.is(result.code, 0, result.stderr);
});

test('an unknown model exits 1 with the control plane’s NOT_FOUND', async (t) => {
  for (const args of [['status', 'no-such-model'], ['predict', 'no-such-model', '-i', 'x=[[1,2,3]]']]) {
    const result = await cli(t, ...args);
    t.is(result.code, 1, args.join(' '));
    t.regex(result.stderr, /^error: NOT_FOUND: .*no-such-model/);
  }
});

test('an unreachable control plane exits 3', async (t) => {
  const result = await runCli(['status', 'linear', '--control-plane', '127.0.0.1:1'], { cwd: t.context.cwd });
  t.is(result.code, 3);
  t.regex(result.stderr, /^error: UNAVAILABLE: cannot reach the control plane at 127\.0\.0\.1:1 \(from --control-plane\)/);
});

test('deploying a corrupt file exits 1 and says what was wrong', async (t) => {
  const result = await cli(t, 'deploy', 'broken', 'corrupt.onnx');
  t.is(result.code, 1);
  t.is(result.stdout, '');
  t.regex(result.stderr, /^error: INVALID_ARGUMENT: creating a version of broken from corrupt\.onnx failed: .*ONNX/);
  t.notRegex(result.stderr, /\n\s+at /, 'no stack trace');
});

test('usage errors exit 2', async (t) => {
  const cases: [string[], RegExp][] = [
    [['deploy', 'linear', 'missing.onnx'], /cannot read model file missing\.onnx/],
    [['deploy', 'linear', 'linear.onnx', '--timeout', 'soon'], /--timeout 'soon' is not a duration/],
    [['predict', 'linear', '-i', 'x=[[1,2'], /is not JSON/],
    [['predict', 'linear', '-i', 'x=[[1,2,3],[4]]'], /must be rectangular/],
    [['predict', 'linear', '-i', 'nope=[[1,2,3]]'], /has no input 'nope'; it takes x \(FP32/],
    [['status'], /missing required argument/],
    [['frobnicate'], /unknown command/],
  ];
  for (const [args, pattern] of cases) {
    const result = await cli(t, ...args);
    t.is(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
    t.regex(result.stderr, pattern);
  }
});

test('--version prints the build version', async (t) => {
  const result = await runCli(['--version'], { cwd: t.context.cwd });
  t.is(result.code, 0);
  t.regex(result.stdout, /^\d+\.\d+\.\d+/);
});
