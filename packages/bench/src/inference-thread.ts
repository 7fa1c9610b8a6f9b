/**
 * (e) What inference costs the rest of the node: while one node serves a
 * model under load from a client process, a second client process probes
 * grpc.health.v1 Check and ServerLive every ~20 ms, and this process (the
 * node's) records its event-loop delay with perf_hooks.monitorEventLoopDelay
 * over the phase. Phases: idle, the small linear model, a large dense MLP,
 * and a deliberately slow model, hosted in a worker thread (node 1 decides
 * by itself) and then on the main thread (an extra node started with
 * `sessionHosting: 'inline'`), to show what the worker thread buys.
 */
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';
import { createEtcdClient } from '@switchyard/core/etcd';
import { silentLogger } from '@switchyard/core/logging';
import { PredictionNode } from '@switchyard/prediction-node';
import type { BenchCluster } from './bench-cluster.js';
import type { CallSpec } from './load-protocol.js';
import { runClientsOnce, type ClientConfig } from './load-runner.js';
import { healthCheckCall, serverLiveCall } from './requests.js';
import { round, summarize } from './stats.js';

export interface ThreadPhase {
  /** Short name, e.g. "idle", "mlp". */
  name: string;
  description: string;
  /** Model to drive, absent for the idle phase; deployed first unless `deployed`. */
  model?: { name: string; bytes: Uint8Array; call: CallSpec; concurrency: number; deployed?: boolean };
  /**
   * 'inline-node': drive an extra node that keeps every session on its main
   * thread (started for the first such phase), instead of node 1.
   * @default node 1
   */
  target?: 'inline-node';
  /** Measured time of this phase, when it must differ from the others' (a model that runs for seconds). */
  durationMs?: number;
}

export interface ThreadFigures {
  name: string;
  description: string;
  loopLagP99Ms: number;
  loopLagMaxMs: number;
  healthP50Ms: number;
  healthP99Ms: number;
  healthMaxMs: number;
  serverLiveP50Ms: number;
  serverLiveP99Ms: number;
  probes: number;
  /** Where the driven version's session ran: 'inline' (main thread) or 'worker'. */
  sessionHost?: string;
  /** Present when the phase drives a model. */
  load?: {
    concurrency: number;
    /** One run of the model in a bare session on an idle loop, median of 5. */
    modelRunMs: number;
    requestsPerSecond: number;
    inferP50Ms: number;
    inferP99Ms: number;
  };
}

export interface ThreadOptions {
  cluster: BenchCluster;
  phases: ThreadPhase[];
  warmupMs: number;
  durationMs: number;
  log: (line: string) => void;
}

const LAG_RESOLUTION_MS = 10;

const runMsCache = new WeakMap<Uint8Array, number>();

/** Median time of one run, on an idle event loop, of a fresh session with the node's options (once per model). */
async function modelRunMs(bytes: Uint8Array): Promise<number> {
  let ms = runMsCache.get(bytes);
  if (ms === undefined) runMsCache.set(bytes, (ms = await measureRunMs(bytes)));
  return ms;
}

async function measureRunMs(bytes: Uint8Array): Promise<number> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
  try {
    const inputName = session.inputNames[0]!;
    // The phases' models all take one FP32 [1, n] input; read n from the session.
    const meta = session.inputMetadata[0] as { shape?: (number | string)[] } | undefined;
    const n = Number(meta?.shape?.[1] ?? 256);
    const feeds = { [inputName]: new ort.Tensor('float32', new Float32Array(n).fill(0.5), [1, n]) };
    await session.run(feeds);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      await session.run(feeds);
      times.push(performance.now() - t);
    }
    return summarize(times).p50Ms;
  } finally {
    await session.release();
  }
}

/** A node in this process that runs every session on its main thread, as nodes did before worker hosting. */
async function startInlineNode(cluster: BenchCluster): Promise<{ node: PredictionNode; stop: () => Promise<void> }> {
  const etcd = createEtcdClient({ endpoints: cluster.etcd.endpoint });
  const node = await PredictionNode.create({
    etcd,
    keys: cluster.keys,
    id: 'node-inline',
    dataDir: join(cluster.dir, 'node-inline'),
    logger: silentLogger(),
    sessionHosting: 'inline',
  });
  await node.ready(120_000);
  return {
    node,
    stop: async () => {
      await node.stop(1000).catch(() => undefined);
      etcd.close();
    },
  };
}

/** Waits until `node` routes `model` to the same version as `reference`; returns where its session runs. */
async function servedHost(node: PredictionNode, reference: PredictionNode, model: string, timeoutMs = 120_000): Promise<string> {
  const version = reference.table.routes.get(model)?.entries[0]?.loaded.version;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const entry = node.table.routes.get(model)?.entries[0];
    if (entry && entry.loaded.version === version) return entry.loaded.session.host;
    if (Date.now() > deadline) throw new Error(`${node.id} does not serve ${model}:${version} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function measureInferenceThread(o: ThreadOptions): Promise<ThreadFigures[]> {
  const out: ThreadFigures[] = [];
  let inline: Awaited<ReturnType<typeof startInlineNode>> | undefined;
  try {
    for (const phase of o.phases) {
      if (phase.target === 'inline-node') inline ??= await startInlineNode(o.cluster);
      out.push(await measurePhase(o, phase, phase.target === 'inline-node' ? inline!.node : o.cluster.nodes[0]!));
    }
  } finally {
    await inline?.stop();
  }
  return out;
}

async function measurePhase(o: ThreadOptions, phase: ThreadPhase, node: PredictionNode): Promise<ThreadFigures> {
  let runMs = 0;
  let sessionHost: string | undefined;
  if (phase.model) {
    if (!phase.model.deployed) await o.cluster.deploy(phase.model.name, phase.model.bytes);
    sessionHost = await servedHost(node, o.cluster.nodes[0]!, phase.model.name);
    runMs = await modelRunMs(phase.model.bytes);
  }
  const probe: ClientConfig = {
    target: node.address,
    mode: 'probe',
    calls: [healthCheckCall(), serverLiveCall()],
    concurrency: 1,
    intervalMs: 20,
    deadlineMs: 30_000,
  };
  const clients = [probe];
  if (phase.model) {
    clients.push({
      target: node.address,
      mode: 'closed-loop',
      calls: [phase.model.call],
      concurrency: phase.model.concurrency,
      intervalMs: 0,
      deadlineMs: 30_000,
    });
  }
  const lag = monitorEventLoopDelay({ resolution: LAG_RESOLUTION_MS });
  // Over the whole phase, warm-up included: enabling it only for the
  // measured window would, with a model that stalls the loop for longer
  // than that window, fire the enable and disable timers back to back and
  // record nothing. The warm-up carries the same load.
  const results = await runClientsOnce(clients, o.warmupMs, phase.durationMs ?? o.durationMs, () => lag.enable());
  lag.disable();
  const probed = results[0]!.calls;
  const health = probed['health']!;
  const live = probed['serverLive']!;
  if (health.errors + live.errors > 0) throw new Error(`${phase.name}: probes failed: ${health.firstError ?? live.firstError}`);
  const h = summarize(health.latenciesMs);
  const l = summarize(live.latenciesMs);
  // The histogram holds how late each 10 ms timer fired; the resolution itself is not lag.
  const lagMs = (ns: number): number => round(Math.max(0, ns / 1e6 - LAG_RESOLUTION_MS));
  const figures: ThreadFigures = {
    name: phase.name,
    description: phase.description,
    loopLagP99Ms: lagMs(lag.percentile(99)),
    loopLagMaxMs: lagMs(lag.max),
    healthP50Ms: round(h.p50Ms),
    healthP99Ms: round(h.p99Ms),
    healthMaxMs: round(h.maxMs),
    serverLiveP50Ms: round(l.p50Ms),
    serverLiveP99Ms: round(l.p99Ms),
    probes: h.count,
    ...(sessionHost ? { sessionHost } : {}),
  };
  if (phase.model) {
    const loadResult = results[1]!;
    const calls = loadResult.calls[phase.model.call.label]!;
    if (calls.errors > 0) throw new Error(`${phase.name}: ${calls.errors} failed inference calls, first: ${calls.firstError}`);
    const s = summarize(calls.latenciesMs);
    figures.load = {
      concurrency: phase.model.concurrency,
      modelRunMs: round(runMs),
      requestsPerSecond: round(calls.completed / (loadResult.windowMs / 1000), 1),
      inferP50Ms: round(s.p50Ms),
      inferP99Ms: round(s.p99Ms),
    };
  }
  o.log(
    `  ${phase.name.padEnd(11)} loop lag p99 ${figures.loopLagP99Ms} ms, health p99 ${figures.healthP99Ms} ms` +
      (figures.load ? `, model run ${figures.load.modelRunMs} ms, infer p99 ${figures.load.inferP99Ms} ms, session ${sessionHost}` : ''),
  );
  return figures;
}
