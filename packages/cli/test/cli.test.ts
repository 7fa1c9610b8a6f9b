import anyTest, { type TestFn } from 'ava';
import { corruptModelBytes, expectedLinear, linearModel } from '@switchyard/testkit';
import { cli, useCliCluster, type CliContext } from './helpers/cli-fixture.js';
import { runCli } from './helpers/run-cli.js';

const test = anyTest as TestFn<CliContext>;

const WEIGHTS = [0.5, -1, 2];
const BIAS = 0.25;
// x=[[1,2,3]] gives 0.5 - 2 + 6 + 0.25 = 4.75.
const samples = (y: number) => ({ samples: [{ name: 'ones', inputs: { x: { datatype: 'FP32', data: [[1, 2, 3]] } }, outputs: { y: { datatype: 'FP32', data: [[y]] } } }] });

useCliCluster(test, {
  nodes: 2,
  files: {
    'linear.onnx': linearModel({ weights: WEIGHTS, bias: BIAS }),
    'corrupt.onnx': corruptModelBytes(),
    'good-samples.json': JSON.stringify(samples(4.75)),
    'bad-samples.json': JSON.stringify(samples(5.75)),
  },
});

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
  t.regex(result.stdout, /^deployed linear:v2 \(sha256 [0-9a-f]{12}…, \d+ B\), READY on 2\/2 nodes in \d+ ms\nvalidation PASSED \(no samples: loaded and ran once on zeros\)\n$/);
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

interface VersionJson {
  model: string;
  version: string;
  labels: Record<string, string>;
  description: string;
  expires_after_seconds: string | number;
  samples_sha256: string;
  validation: { state: string; reason: string; samples: number; golden_recorded: boolean; max_abs_diff: number };
}

interface RouteJson {
  model: string;
  splits: { version: string; weight: number }[];
  revision: string;
}

test.serial('deploy --samples with matching golden outputs: PASSED, with labels, description and expiration stored', async (t) => {
  const result = await cli(
    t, 'deploy', 'linear', 'linear.onnx', '--no-route', '--samples', 'good-samples.json',
    '--label', 'team=risk', '--label', 'tier=gold', '--description', 'golden checked', '--expires-after', '30d', '-o', 'json',
  );
  t.is(result.code, 0, result.stderr);
  const out = JSON.parse(result.stdout) as { version: string; routed: boolean; validation: VersionJson['validation'] };
  t.is(out.version, 'v3');
  t.false(out.routed);
  t.is(out.validation.state, 'PASSED');
  t.is(out.validation.samples, 1);
  t.false(out.validation.golden_recorded);
  t.true(out.validation.max_abs_diff < 1e-5);

  const got = await cli(t, 'versions', 'get', 'linear', 'v3', '-o', 'json');
  t.is(got.code, 0, got.stderr);
  const version = JSON.parse(got.stdout) as VersionJson;
  t.deepEqual(version.labels, { team: 'risk', tier: 'gold' });
  t.is(version.description, 'golden checked');
  t.is(Number(version.expires_after_seconds), 30 * 86_400);
  t.regex(version.samples_sha256, /^[0-9a-f]{64}$/);
  t.is(version.validation.state, 'PASSED');

  const table = await cli(t, 'versions', 'get', 'linear', 'v3');
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /validation: +PASSED \(1 sample, max \|diff\| /);
  t.regex(table.stdout, /expires: +30d after last use/);
  t.regex(table.stdout, /last used: +never/);
  t.regex(table.stdout, /labels: +team=risk, tier=gold/);
});

test.serial('deploy --samples with a golden mismatch exits 1 with the reason; the REJECTED version keeps it', async (t) => {
  const result = await cli(t, 'deploy', 'linear', 'linear.onnx', '--samples', 'bad-samples.json');
  t.is(result.code, 1);
  t.is(result.stdout, '');
  t.regex(result.stderr, /^error: linear:v4 was REJECTED by deploy-time validation: sample 'ones' output 'y' element 0: expected 5\.75, got 4\.75/);
  t.regex(result.stderr, /fix the model or its samples and deploy again/);

  const got = await cli(t, 'versions', 'get', 'linear', 'v4', '-o', 'json');
  t.is(got.code, 0, got.stderr);
  const version = JSON.parse(got.stdout) as VersionJson;
  t.is(version.validation.state, 'REJECTED');
  t.regex(version.validation.reason, /expected 5\.75, got 4\.75/);
  const listed = await cli(t, 'versions', 'list', 'linear', '-o', 'json');
  t.deepEqual((JSON.parse(listed.stdout) as { versions: VersionJson[] }).versions.map((v) => [v.version, v.validation.state]), [
    ['v1', 'PASSED'], ['v2', 'PASSED'], ['v3', 'PASSED'], ['v4', 'REJECTED'],
  ]);
});

test.serial('route set and get in percent, converted to basis points; conflicts exit 6, unroutable versions exit 1', async (t) => {
  const set = await cli(t, 'route', 'set', 'linear', 'v2=90', 'v3=10', '-o', 'json');
  t.is(set.code, 0, set.stderr);
  const route = JSON.parse(set.stdout) as RouteJson;
  t.deepEqual(route.splits, [{ version: 'v2', weight: 9000 }, { version: 'v3', weight: 1000 }]);
  const got = await cli(t, 'route', 'get', 'linear', '-o', 'json');
  t.is(got.code, 0, got.stderr);
  t.deepEqual(JSON.parse(got.stdout), route);

  const fine = await cli(t, 'route', 'set', 'linear', 'v2=99.99', 'v3=0.01', '--expected-revision', String(route.revision), '-o', 'json');
  t.is(fine.code, 0, fine.stderr);
  t.deepEqual((JSON.parse(fine.stdout) as RouteJson).splits, [{ version: 'v2', weight: 9999 }, { version: 'v3', weight: 1 }]);

  const stale = await cli(t, 'route', 'set', 'linear', 'v2=100', '--expected-revision', String(route.revision));
  t.is(stale.code, 6, stale.stderr);
  t.regex(stale.stderr, /^error: ABORTED: /);
  const rejected = await cli(t, 'route', 'set', 'linear', 'v2=50', 'v4=50');
  t.is(rejected.code, 1);
  t.regex(rejected.stderr, /^error: FAILED_PRECONDITION: version v4 of model linear failed deploy-time validation/);

  const back = await cli(t, 'route', 'set', 'linear', 'v2=100');
  t.is(back.code, 0, back.stderr);
  t.regex(back.stdout, /^route of linear: v2 100% \(revision \d+, updated /);
});

test.serial('status without a model lists every node and control plane', async (t) => {
  // JSON: the per-node summary (versions counted by state); with --versions, every node's versions too.
  const summary = await cli(t, 'status', '-o', 'json');
  t.is(summary.code, 0, summary.stderr);
  const counted = JSON.parse(summary.stdout) as { nodes: { node: { node_id: string }; versions: unknown[]; counts: { total: number; ready: number } }[] };
  t.true(counted.nodes.every((n) => n.versions.length === 0 && n.counts.ready >= 1));
  const result = await cli(t, 'status', '--versions', '-o', 'json');
  t.is(result.code, 0, result.stderr);
  const cluster = JSON.parse(result.stdout) as {
    nodes: { node: { node_id: string }; versions: { model: string; state: { version: string; state: string } }[] }[];
    control_planes: { id: string; address: string }[];
  };
  t.deepEqual(cluster.nodes.map((n) => n.node.node_id), ['node-1', 'node-2']);
  for (const node of cluster.nodes) t.true(node.versions.some((v) => v.model === 'linear' && v.state.version === 'v2' && v.state.state === 'READY'));
  t.deepEqual(cluster.control_planes.map((cp) => cp.address), [t.context.cluster.controlPlane.address]);

  // One row per node: its versions counted by state (VERSIONS, READY, LOADING, FAILED, OTHER).
  const table = await cli(t, 'status');
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /nodes \(2\):/);
  for (const node of cluster.nodes) {
    const ready = node.versions.filter((v) => v.state.state === 'READY').length;
    t.regex(table.stdout, new RegExp(`${node.node.node_id} .*│ ${node.versions.length} +│ ${ready} +│`));
  }
  t.notRegex(table.stdout, /linear:v2/);
  t.regex(table.stdout, /control planes \(1\):/);
  // --versions: one line per node and version.
  const detail = await cli(t, 'status', '--versions');
  t.is(detail.code, 0, detail.stderr);
  t.regex(detail.stdout, /node-1 +│ linear +│ v2 +│ READY/);
  t.regex(detail.stdout, /node-2 +│ linear +│ v2 +│ READY/);
});

test.serial('history lists changes newest first, a page at a time', async (t) => {
  const first = await cli(t, 'history', 'linear', '--limit', '3', '-o', 'json');
  t.is(first.code, 0, first.stderr);
  type Page = { entries: { at: string; actor: string; action: string; version: string }[]; next_page_token: string };
  const page = JSON.parse(first.stdout) as Page;
  t.deepEqual(page.entries.map((e) => e.action), ['SetRoute', 'SetRoute', 'SetRoute']);
  t.true(page.entries.every((e) => e.actor === 'anonymous'));
  t.not(page.next_page_token, '');
  const rest = await cli(t, 'history', 'linear', '--limit', '1000', '--page-token', page.next_page_token, '-o', 'json');
  t.is(rest.code, 0, rest.stderr);
  const all = [...page.entries, ...(JSON.parse(rest.stdout) as Page).entries];
  const times = all.map((e) => e.at);
  t.deepEqual(times, [...times].sort().reverse(), 'newest first');
  t.deepEqual(all.filter((e) => e.action === 'CreateVersion').map((e) => e.version), ['v4', 'v3', 'v2', 'v1']);

  const table = await cli(t, 'history', 'linear', '--limit', '2');
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /SetRoute .*v2 99\.99%, v3 0\.01% -> v2 100%/);
  t.regex(table.stdout, /older: --page-token /);
});

test.serial('models create, update, get and list with paging', async (t) => {
  for (const name of ['alpha', 'beta', 'gamma']) {
    const created = await cli(t, 'models', 'create', name, '--owner', 'team-a');
    t.is(created.code, 0, created.stderr);
  }
  const updated = await cli(t, 'models', 'update', 'beta', '--description', 'second', '--default-expires-after', '12h', '-o', 'json');
  t.is(updated.code, 0, updated.stderr);
  const beta = JSON.parse(updated.stdout) as { owner: string; description: string; default_expires_after_seconds: string | number };
  t.is(beta.owner, 'team-a');
  t.is(beta.description, 'second');
  t.is(Number(beta.default_expires_after_seconds), 12 * 3600);
  const got = await cli(t, 'models', 'get', 'linear', '-o', 'json');
  t.deepEqual((JSON.parse(got.stdout) as { versions: string[] }).versions, ['v1', 'v2', 'v3', 'v4']);

  // Placement settings (docs/placement.md): flags change only what they name.
  const placed = await cli(t, 'models', 'update', 'alpha', '--min-copies', '2', '--max-copies', '3', '--always-resident', '-o', 'json');
  t.is(placed.code, 0, placed.stderr);
  t.deepEqual((JSON.parse(placed.stdout) as { placement: unknown }).placement, { min_copies: 2, max_copies: 3, always_resident: true });
  const lowered = await cli(t, 'models', 'update', 'alpha', '--min-copies', '0');
  t.is(lowered.code, 0, lowered.stderr);
  t.regex((await cli(t, 'models', 'get', 'alpha')).stdout, /placement: +1 copy, up to 3 under load, always resident/);
  const refused = await cli(t, 'models', 'update', 'alpha', '--min-copies', '5');
  t.is(refused.code, 1, refused.stderr);
  t.regex(refused.stderr, /placement.min_copies \(5\) is more than placement.max_copies \(3\)/);

  type Page = { models: { name: string }[]; next_page_token: string };
  const first = JSON.parse((await cli(t, 'models', 'list', '--page-size', '2', '-o', 'json')).stdout) as Page;
  t.deepEqual(first.models.map((m) => m.name), ['alpha', 'beta']);
  t.not(first.next_page_token, '');
  const second = JSON.parse((await cli(t, 'models', 'list', '--page-size', '2', '--page-token', first.next_page_token, '-o', 'json')).stdout) as Page;
  t.deepEqual(second.models.map((m) => m.name), ['gamma', 'linear']);
  t.is(second.next_page_token, '');
  const all = JSON.parse((await cli(t, 'models', 'list', '--page-size', '2', '--all', '-o', 'json')).stdout) as Page;
  t.deepEqual(all.models.map((m) => m.name), ['alpha', 'beta', 'gamma', 'linear']);
  t.is(all.next_page_token, '');
  const filtered = JSON.parse((await cli(t, 'models', 'list', '--filter', 'mm', '-o', 'json')).stdout) as Page;
  t.deepEqual(filtered.models.map((m) => m.name), ['gamma']);

  const deleted = await cli(t, 'models', 'delete', 'alpha');
  t.is(deleted.code, 0, deleted.stderr);
  t.is((await cli(t, 'models', 'get', 'alpha')).code, 1);
  const who = await cli(t, 'whoami', '-o', 'json');
  t.deepEqual(JSON.parse(who.stdout), { name: 'anonymous', role: 'admin', auth_enabled: false });
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
    [['history'], /missing required argument/],
    [['route', 'set', 'linear', 'v1=90', 'v2=5'], /add up to 95%, not 100%/],
    [['route', 'set', 'linear', 'v1=33.333', 'v2=66.667'], /'v1=33\.333' is not version=percent/],
    [['route', 'set', 'linear'], /give the split, e\.g\. v1=90 v2=10, or --empty/],
    [['route', 'set', 'linear', 'v1=100', '--empty'], /either version=percent splits or --empty/],
    [['deploy', 'linear', 'linear.onnx', '--expires-after', '1.5s'], /must be whole seconds/],
    [['deploy', 'linear', 'linear.onnx', '--label', 'novalue'], /--label 'novalue' must be key=value/],
    [['deploy', 'linear', 'linear.onnx', '--label', '__proto__=x'], /--label __proto__: the key '__proto__' is reserved/],
    [['deploy', 'linear', 'linear.onnx', '--samples', 'missing.json'], /cannot read --samples missing\.json/],
    [['models', 'update', 'linear'], /nothing to change/],
    [['models', 'list', '--page-size', '0'], /--page-size must be a whole number from 1 to 1000/],
    [['status', 'linear', '--tls-ca', 'missing.pem'], /--tls-ca: cannot read missing\.pem/],
    [['status', 'linear', '--tls-cert', 'linear.onnx'], /--tls-cert needs --tls-key/],
    [['frobnicate'], /unknown command/],
  ];
  // All at once: each is a short-lived process, and this is the longest list of the file.
  const results = await Promise.all(cases.map(([args]) => cli(t, ...args)));
  cases.forEach(([args, pattern], i) => {
    t.is(results[i]!.code, 2, `${args.join(' ')}: ${results[i]!.stderr}`);
    t.regex(results[i]!.stderr, pattern);
  });
});

test('--version prints the build version', async (t) => {
  const result = await runCli(['--version'], { cwd: t.context.cwd });
  t.is(result.code, 0);
  t.regex(result.stdout, /^\d+\.\d+\.\d+/);
});
