/**
 * One bench run: starts the system under test, runs the chosen scenarios
 * ((a)–(h), all by default) and stops everything it started, whatever
 * happens. See docs/benchmarks.md.
 */
import { execFileSync } from 'node:child_process';
import { cpus, platform, release } from 'node:os';
import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';
import { linearModel, mlpModel, seededRandom, slowModel } from '@switchyard/testkit';
import { SCENARIOS, type BenchArgs, type Scenario } from './args.js';
import { startBareServer, type BareServer } from './bare-server.js';
import { BenchCluster } from './bench-cluster.js';
import { measureDeploys, type DeployResult } from './deploy-latency.js';
import { measureRegistration, type RegistrationResult } from './registration.js';
import { measureInferenceThread, type ThreadFigures, type ThreadPhase } from './inference-thread.js';
import { killLoadClients } from './load-runner.js';
import { buildReport, type BenchReport } from './report.js';
import { inferCall } from './requests.js';
import { round } from './stats.js';
import { measureRouted, measureThroughput, type RoutedResults, type ThroughputResults } from './throughput.js';
import { measureShadow, type ShadowResults } from './shadow-scenario.js';
import { measureMemory } from './memory-scenario.js';
import { measureDensity } from './density-scenario.js';
import { measureScale } from './scale-scenario.js';
import { measureRest, restCalls, type RestResults } from './rest-scenario.js';
import { measureBatching, type BatchingResults } from './batching-scenario.js';

const LINEAR = { weights: [0.5, -1.25, 2], bias: 0.75 };
const LINEAR_INPUT = [1, 2, 3];
/** Calls in flight on the slow model: two runs of ~1 s queued. */
const SLOW_CONCURRENCY = 2;
const SLOW_MIN_DURATION_MS = 8000;
/** Registration clients at once: more than the control plane validates at once, so it always has the next version queued. */
const REGISTRATION_CONCURRENCY = 8;

/** Basis points of the routed scenario's three versions. */
const ROUTED_WEIGHTS = [5000, 3000, 2000];

function gitCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return null;
  }
}

function randomInput(n: number, seed: number): Float32Array {
  const random = seededRandom(seed);
  return Float32Array.from({ length: n }, () => random() * 2 - 1);
}

export async function runBench(args: BenchArgs, log: (line: string) => void): Promise<BenchReport> {
  const startedAt = new Date();
  const t0 = performance.now();
  const warmupMs = args.warmupS * 1000;
  const durationMs = args.durationS * 1000;
  const linearBytes = linearModel(LINEAR);
  const expected = LINEAR_INPUT.reduce((s, x, j) => s + x * LINEAR.weights[j]!, LINEAR.bias);
  // One request of the bench's linear input, to any model built from LINEAR.
  const linearCallTo = (label: string, model: string) => inferCall(label, model, { name: 'x', shape: [1, 3], data: Float32Array.from(LINEAR_INPUT) });
  const linearCall = linearCallTo('infer', 'linear');

  let cluster: BenchCluster | undefined;
  let bare: BareServer | undefined;
  try {
    log('starting etcd, control plane and 2 prediction nodes');
    cluster = await BenchCluster.start(2);
    await cluster.deploy('linear', linearBytes);

    const run = (name: Scenario): boolean => args.only.has(name);
    let throughput: ThroughputResults | undefined;
    if (run('throughput')) {
      bare = await startBareServer(linearBytes);
      log(`(a–c) throughput, ${args.rounds} alternating rounds per concurrency`);
      throughput = await measureThroughput({
        targets: { bare: bare.address, node: cluster.nodes[0]!.address },
        concurrencies: args.concurrencies,
        call: linearCall,
        expected: { output: 'y', values: [expected] },
        warmupMs,
        durationMs,
        rounds: args.rounds,
        log,
      });
      await bare.stop();
      bare = undefined;
    }

    let routed: RoutedResults | undefined;
    if (run('routed')) {
      log(`(f) routed: ${ROUTED_WEIGHTS.length}-way split vs single version on node 1, ${args.rounds} alternating rounds per concurrency`);
      await cluster.deploy('single', linearBytes);
      const splits = await cluster.deploySplit('split', linearBytes, ROUTED_WEIGHTS);
      routed = await measureRouted({
        address: cluster.nodes[0]!.address,
        calls: {
          single: linearCallTo('single', 'single'),
          split: linearCallTo('split', 'split'),
        },
        splits,
        concurrencies: args.concurrencies,
        expected: { output: 'y', values: [expected] },
        warmupMs,
        durationMs,
        rounds: args.rounds,
        log,
      });
    }

    let shadow: ShadowResults | undefined;
    if (run('shadow')) {
      log('(g) shadow traffic: primary with 0 % and 100 % shadowing on node 1');
      shadow = await measureShadow({
        cluster,
        bytes: linearBytes,
        call: linearCallTo,
        expected: { output: 'y', values: [expected] },
        warmupMs,
        durationMs,
        rounds: args.rounds,
        log,
      });
    }

    let deploy: DeployResult | undefined;
    if (run('deploy')) {
      log(`(d) deploy-to-READY, ${args.deploys} deploys`);
      deploy = await measureDeploys(cluster, args.deploys, log);
    }

    let registration: RegistrationResult | undefined;
    if (run('registration')) {
      log(`(i) registration rate, ${args.registrations} versions with validation`);
      registration = await measureRegistration(cluster, args.registrations, REGISTRATION_CONCURRENCY, log);
    }

    let thread: ThreadFigures[] | undefined;
    if (run('thread')) {
      log('(e) inference thread');
      const mlp = { inputSize: 256, hidden: 1024, layers: 4, seed: 7 };
      const slow = {
        name: 'slow',
        bytes: slowModel({ iterations: args.slowIterations }),
        call: inferCall('infer', 'slow', { name: 'x', shape: [1, 256], data: randomInput(256, 2) }),
        concurrency: SLOW_CONCURRENCY,
      };
      // A run of ~1 s on the main thread holds every health probe for up to a
      // run per request queued: measure long enough to see several.
      const slowDurationMs = args.quick ? durationMs : Math.max(durationMs, SLOW_MIN_DURATION_MS);
      const phases: ThreadPhase[] = [
        { name: 'idle', description: 'no inference load' },
        {
          name: 'linear',
          description: `linear 3→1 at concurrency ${Math.max(...args.concurrencies)}`,
          model: { name: 'linear', bytes: linearBytes, call: linearCall, concurrency: Math.max(...args.concurrencies), deployed: true },
        },
        {
          name: 'mlp',
          description: `mlpModel 256→1024×4 (13.6 MB), batch 1, at concurrency ${args.heavyConcurrency}`,
          model: {
            name: 'mlp',
            bytes: mlpModel(mlp),
            call: inferCall('infer', 'mlp', { name: 'x', shape: [1, 256], data: randomInput(256, 1) }),
            concurrency: args.heavyConcurrency,
          },
        },
        {
          name: 'slow',
          description: `slowModel ${args.slowIterations} iterations, at concurrency ${SLOW_CONCURRENCY}; node 1 hosts it in a worker thread`,
          model: slow,
          durationMs: slowDurationMs,
        },
        {
          name: 'slow-inline',
          description: `the same on a node started with sessionHosting 'inline' (session.run on the main thread, as before worker hosting)`,
          model: { ...slow, deployed: true },
          target: 'inline-node',
          durationMs: slowDurationMs,
        },
      ];
      thread = await measureInferenceThread({ cluster, phases, warmupMs, durationMs, log });
    }

    let batching: BatchingResults | undefined;
    if (run('batching')) {
      log(`(j) dynamic batching and overload, ${args.rounds} alternating rounds`);
      batching = await measureBatching({ cluster, warmupMs, durationMs, rounds: args.rounds, quick: args.quick, log });
    }

    let rest: RestResults | undefined;
    if (run('rest')) {
      log(`(k) REST vs gRPC on node 1, ${args.rounds} alternating rounds per concurrency`);
      rest = await measureRest({
        grpcAddress: cluster.nodes[0]!.address,
        httpAddress: cluster.nodes[0]!.httpAddress!,
        grpcCall: linearCall,
        rest: restCalls('linear', Float32Array.from(LINEAR_INPUT)),
        concurrencies: args.concurrencies,
        warmupMs,
        durationMs,
        rounds: args.rounds,
        log,
      });
    }

    // Child processes of its own: the cluster above does not share their memory.
    const memory = run('memory') ? await measureMemory({ versions: args.quick ? 1 : 4, cycles: args.quick ? 10 : 200, log }) : undefined;
    // A cluster of its own: nodes with a budget of their own, versions placed on one node.
    const density = run('density') ? await measureDensity({ quick: args.quick, log }) : undefined;

    const scale = run('scale')
      ? await (async () => {
          const models = args.scaleModels;
          const routedModels = Math.min(1000, Math.max(1, Math.floor(models / 10)));
          log(`(l) registry scale: ${models} models × 10 versions, ${routedModels} routed`);
          return measureScale({
            models,
            versionsPerModel: 10,
            routed: routedModels,
            restarts: args.quick ? 1 : 3,
            calls: args.quick ? 30 : 100,
            cliRuns: args.quick ? 3 : 7,
            changes: args.quick ? 50 : 200,
            log,
          });
        })()
      : undefined;

    const cpuList = cpus();
    const machine = `${cpuList.length} cores (${cpuList[0]?.model.trim() ?? 'unknown'}), Node ${process.version}, onnxruntime-node ${ort.env.versions.node}, ${platform()} ${release()}`;
    const settings =
      `${args.durationS} s measured per cell in ${args.rounds} alternating rounds of ${round(args.durationS / args.rounds)} s ` +
      `(each client connection warmed ${args.warmupS} s first), ${args.deploys} deploys, ` +
      `inference-thread phases ${args.durationS} s after ${args.warmupS} s${args.quick ? ' (--quick)' : ''}` +
      (args.only.size < SCENARIOS.length ? `; only ${[...args.only].join(', ')}` : '');
    const meta = {
      startedAt: startedAt.toISOString(),
      totalSeconds: round((performance.now() - t0) / 1000, 1),
      gitCommit: gitCommit(),
      machine,
      settings,
      cpus: cpuList.length,
      node: process.version,
      onnxruntimeNode: ort.env.versions.node,
      args: { ...args, only: [...args.only] },
    };
    return buildReport(meta, { throughput, routed, deploy, registration, inferenceThread: thread, shadow, memory, batching, rest, scale, density });
  } finally {
    killLoadClients();
    await bare?.stop().catch(() => undefined);
    await cluster?.stop();
  }
}
