import anyTest, { type TestFn } from 'ava';
import { linearModel, waitFor } from '@switchyard/testkit';
import { cli, useCliCluster, type CliContext } from './helpers/cli-fixture.js';

const test = anyTest as TestFn<CliContext>;

useCliCluster(test, {
  nodes: 1,
  files: { 'v1.onnx': linearModel({ weights: [1, 2, 3], bias: 0 }), 'plus-half.onnx': linearModel({ weights: [1, 2, 3], bias: 0.5 }) },
});

test.serial('deploy --auto-shadow makes the new version a shadow of the primary; shadow list, report and remove', async (t) => {
  t.is((await cli(t, 'deploy', 'm', 'v1.onnx')).code, 0);
  const deployed = await cli(t, 'deploy', 'm', 'plus-half.onnx', '--auto-shadow', '1', '--auto-shadow-for', '1h', '-o', 'json');
  t.is(deployed.code, 0, deployed.stderr);
  const out = JSON.parse(deployed.stdout) as { version: string; routed: boolean; shadow: { fraction: number; until: string; primaries: string[] }; nodes: { state: string }[] };
  t.is(out.version, 'v2');
  t.false(out.routed);
  t.deepEqual(out.shadow.primaries, ['v1']);
  t.is(out.shadow.fraction, 1);
  t.truthy(out.shadow.until);
  t.deepEqual(out.nodes.map((n) => n.state), ['READY']);

  const list = await cli(t, 'shadow', 'list', 'm');
  t.is(list.code, 0, list.stderr);
  t.regex(list.stdout, /v2 .*│ 1 .*anonymous \(auto\)/);

  for (let i = 0; i < 3; i++) {
    const predicted = await cli(t, 'predict', 'm', '-i', 'x=[[1,1,1]]', '-o', 'json');
    t.is(predicted.code, 0, predicted.stderr);
    t.is((JSON.parse(predicted.stdout) as { version: string }).version, 'v1', 'the primary still answers');
  }
  const node = t.context.cluster.nodes[0]!;
  let report: { pairs: { compared: string; outputs: { max_abs_diff: number }[] }[] } | undefined;
  await waitFor(
    async () => {
      await node.statsPublisher.tick();
      const r = await cli(t, 'shadow', 'report', 'm', '-o', 'json');
      report = JSON.parse(r.stdout) as typeof report;
      return Number(report?.pairs[0]?.compared ?? 0) === 3;
    },
    { timeoutMs: 20_000, message: 'three compared shadow requests in the report' },
  );
  t.true(Math.abs(report!.pairs[0]!.outputs[0]!.max_abs_diff - 0.5) < 1e-6);

  const table = await cli(t, 'shadow', 'report', 'm');
  t.is(table.code, 0, table.stderr);
  t.regex(table.stdout, /^shadow report of m\n\nv2 shadowing v1 — fraction 1, tolerance 0\.00001, until \S+, auto\n/);
  t.regex(table.stdout, /mirrored 3, dropped 0, failed 0 \(error 0, timeout 0, shape 0\), compared 3, agreed 0 \(0%\); 1 node process/);
  t.regex(table.stdout, /│ y +│ 3 +│ 0\.5 +│ 0\.5 +│ 0% +│ - +│/);

  const removed = await cli(t, 'shadow', 'remove', 'm', 'v2');
  t.is(removed.code, 0, removed.stderr);
  t.regex(removed.stdout, /shadows of m \(route revision \d+\): none/);
  const after = await cli(t, 'shadow', 'report', 'm');
  t.regex(after.stdout, /v2 shadowing v1 \(no longer a shadow\)/);
});

test.serial('shadow usage errors exit 2', async (t) => {
  for (const args of [
    ['shadow', 'add', 'm', 'v2', '--fraction', '0'],
    ['shadow', 'add', 'm', 'v2', '--for', '1h', '--until', '2030-01-01T00:00:00Z'],
    ['deploy', 'm', 'v1.onnx', '--auto-shadow-for', '1h'],
    ['deploy', 'm', 'v1.onnx', '--auto-shadow', '2'],
  ]) {
    const result = await cli(t, ...args);
    t.is(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
  }
});
