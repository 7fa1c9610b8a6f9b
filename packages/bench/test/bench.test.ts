import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import test from 'ava';

// The compiled CLI, next to this file's compiled copy: dist/test → dist/src.
const MAIN = fileURLToPath(new URL('../src/main.js', import.meta.url));

function runBench(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [MAIN, ...args], { timeout: 260_000, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(Object.assign(err, { stderr })) : resolve({ stdout, stderr }),
    );
  });
}

/** Every leaf under `value` as [path, leaf]. */
function leaves(value: unknown, path = ''): [string, unknown][] {
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => leaves(v, path ? `${path}.${k}` : k));
  }
  return [[path, value]];
}

test('a minimal run reports every figure as a positive number in its JSON', async (t) => {
  // Scenario (j) starts a node process and loads the MLP, (l) a registry of 1,000 versions: about 45 s more on this machine; (m) a cluster of its own, ≈ 15 s.
  t.timeout(270_000);
  const { stdout, stderr } = await runBench([
    '--quick',
    '--duration', '0.3',
    '--warmup', '0.1',
    '--rounds', '1',
    '--deploys', '2',
    '--registrations', '4',
    '--slow-iterations', '50',
    '--scale-models', '100',
    '--json', '-',
  ]);
  t.regex(stderr, /Deploy-to-READY/, 'the table goes to stderr when the JSON goes to stdout');
  t.regex(stderr, /Routed: /);
  const report = JSON.parse(stdout) as { schema: number; figures: Record<string, unknown>; targets: { name: string; met: unknown; value: unknown }[] };
  t.is(report.schema, 1);

  const figures = Object.fromEntries(leaves(report.figures));
  const expected = [
    ...['bare', 'node'].flatMap((s) =>
      ['c1', 'c32'].flatMap((c) => ['requestsPerSecond', 'p50Ms', 'p99Ms', 'serverCpuUsPerRequest'].map((f) => `throughput.${s}.${c}.${f}`)),
    ),
    'throughput.ratio.c1',
    'throughput.ratio.c32',
    'throughput.cpuRatio.c1',
    'throughput.cpuRatio.c32',
    ...['single', 'split'].flatMap((s) =>
      ['c1', 'c32'].flatMap((c) => ['requestsPerSecond', 'p50Ms', 'p99Ms', 'serverCpuUsPerRequest'].map((f) => `routed.${s}.${c}.${f}`)),
    ),
    'routed.ratio.c1',
    'routed.ratio.c32',
    'routed.cpuRatio.c1',
    'routed.cpuRatio.c32',
    'deployToReady.p50Ms',
    'deployToReady.p99Ms',
    'deployToReady.maxMs',
    'registration.versionsPerSecond',
    'registration.p50Ms',
    'registration.p99Ms',
    ...['idle', 'linear', 'mlp', 'slow', 'slow-inline'].flatMap((p) =>
      ['loopLagP99Ms', 'loopLagMaxMs', 'healthP50Ms', 'healthP99Ms', 'healthMaxMs', 'serverLiveP99Ms'].map((f) => `inferenceThread.${p}.${f}`),
    ),
    ...['linear', 'mlp', 'slow', 'slow-inline'].flatMap((p) =>
      ['modelRunMs', 'requestsPerSecond', 'inferP50Ms', 'inferP99Ms'].map((f) => `inferenceThread.${p}.${f}`),
    ),
    ...['node', 'nodeTrimmed'].flatMap((n) => ['idleMb', 'loadedMb', 'retiredMb'].map((f) => `memory.${n}.${f}`)),
    ...['cycles', 'cyclesTrimmed'].flatMap((c) => ['afterFirstMb', 'afterLastMb'].map((f) => `memory.${c}.${f}`)),
    ...['mlpNodeRequestsPerSecond', 'mlpBareRequestsPerSecond', 'mlpNodeCpuUsPerRequest', 'meanBatchRows', 'overloadAdmittedP99Ms', 'overloadHealthP99Ms'].map((f) => `batching.${f}`),
    ...['requestsPerSecond', 'ratio'].flatMap((k) => ['c1', 'c32'].flatMap((c) => ['grpc', 'grpc-aa', 'rest-json', 'rest-binary'].map((v) => `rest.${k}.${c}.${v}`))),
    ...['restartAllServedMs', 'restartFirstServedMs', 'restartSessionMsSum', 'cliStatusP50Ms', 'cliVersionP50Ms', 'metricsBytes'].map((f) => `scale.${f}`),
    'scale.adminP99Ms.GetClusterStatus (summary, as status)',
  ];
  for (const path of expected) t.true(path in figures, `figure ${path} is missing`);
  for (const [path, value] of Object.entries(figures)) {
    t.true(typeof value === 'number' && Number.isFinite(value) && value > 0, `figure ${path} = ${String(value)}`);
  }
  // 8, the memory cycle target (h), the registration rate (i), the six of batching (j), and registry scale (l): restart, 6 admin calls, leader.
  t.is(report.targets.length, 24);
  t.deepEqual(
    report.targets.map((target) => target.name).filter((name) => name.startsWith('routed')),
    ['routed split/single c1', 'routed split/single c32'],
  );
  for (const target of report.targets) {
    t.is(typeof target.met, 'boolean');
    t.is(typeof target.value, 'number');
  }
});

test('--only runs the named scenarios, and the report and targets cover just those', async (t) => {
  t.timeout(100_000);
  const { stdout, stderr } = await runBench(['--quick', '--only', 'deploy', '--deploys', '2', '--json', '-']);
  t.regex(stderr, /Deploy-to-READY/);
  t.notRegex(stderr, /Routed: |Throughput: |Shadow: |Memory /);
  const report = JSON.parse(stdout) as { figures: Record<string, unknown>; targets: { name: string }[] };
  t.deepEqual(Object.keys(report.figures), ['deployToReady']);
  t.deepEqual(
    report.targets.map((target) => target.name),
    ['deploy-to-READY p99'],
  );
  const bad = await runBench(['--only', 'latency']).then(
    () => undefined,
    (err: { code?: number; stderr?: string }) => err,
  );
  t.is(bad?.code, 2);
  t.regex(bad?.stderr ?? '', /--only: unknown scenario 'latency'; choose from throughput, routed, shadow, deploy, thread, memory, registration/);
});
