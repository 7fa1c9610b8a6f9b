/**
 * (m) Model density (issue #16), in a cluster of its own (2 nodes, this
 * process): the cold start of a first request, the cost of one forwarding
 * hop, and a hot set's p99 while a long tail churns through a small budget
 * against the same hot set with everything resident.
 */
import * as grpc from '@grpc/grpc-js';
import { encodeRaw, FORWARDED_METADATA_KEY, type ModelInferResponse } from '@switchyard/core';
import { inferenceService } from '@switchyard/core/grpc';
import { mlpModel } from '@switchyard/testkit';
import { BenchCluster } from './bench-cluster.js';
import { round, summarize } from './stats.js';

const MIB = 1024 * 1024;
/** The bench's 13.6 MB MLP. */
const BIG = { inputSize: 256, hidden: 1024, layers: 4 };
/** 2.2 MB MLPs for the hot set and the tail. */
const SMALL = { inputSize: 64, hidden: 512, layers: 3 };

export interface DensityResults {
  cold: { count: number; firstRequestP50Ms: number; firstRequestMaxMs: number; warmP50Ms: number; loadMsP50: number };
  forward: { requests: number; directP50Ms: number; directP99Ms: number; forwardedP50Ms: number; forwardedP99Ms: number; ratioP50: number; ratioP99: number; aaRatioP50: number; aaRatioP99: number };
  churn: {
    hot: number;
    tail: number;
    budgetMiB: number;
    rounds: number;
    residentP99Ms: number;
    churnP99Ms: number;
    ratioP99: number;
    aaRatioP99: number;
    residentP50Ms: number;
    churnP50Ms: number;
    evictions: number;
    tailRequests: number;
    /** Tail requests refused (a load that did not fit) or failed. */
    tailErrors: number;
    /** Hot-set requests that failed (none expected). */
    hotErrors: number;
  };
}

type Client = grpc.Client & Record<string, Function>;

function call(client: Client, model: string, inputSize: number, forwarded: boolean): Promise<number> {
  const metadata = new grpc.Metadata();
  if (forwarded) metadata.set(FORWARDED_METADATA_KEY, 'bench');
  const request = { model_name: model, model_version: '', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, inputSize] }], raw_input_contents: [encodeRaw(new Float32Array(inputSize).fill(0.5))] };
  const started = performance.now();
  return new Promise((resolve, reject) =>
    client.ModelInfer!(request, metadata, { deadline: Date.now() + 60_000 }, (err: grpc.ServiceError | null, _res: ModelInferResponse) =>
      err ? reject(err) : resolve(performance.now() - started),
    ),
  );
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function measureDensity(o: { quick: boolean; log: (line: string) => void }): Promise<DensityResults> {
  const hot = 4;
  const tail = o.quick ? 8 : 24;
  // The hot set and two tail models fit node-1; node-2 holds everything.
  // Measured costs of these 2.2 MB MLPs run 2.2–6 MB in this busy process.
  const budgetMiB = (hot + 2) * 5;
  const cluster = await BenchCluster.start(2, [{ memoryBudgetBytes: budgetMiB * MIB }, {}]);
  const Inference = inferenceService();
  const clients = cluster.nodes.map((n) => new Inference(n.address, grpc.credentials.createInsecure()) as Client);
  try {
    // Cold start: a new version of the 13.6 MB MLP with no placement, its first request through node-2.
    const coldCount = o.quick ? 2 : 10;
    const firsts: number[] = [];
    const warm: number[] = [];
    const loads: number[] = [];
    o.log(`(m) density: cold start of the 13.6 MB MLP, ${coldCount} models with no placement, first request through node-2`);
    for (let i = 0; i < coldCount; i++) {
      // A model of its own each time: a new version of a served model would be answered by the old one while it loads.
      const model = `cold${i}`;
      const version = await cluster.createVersion(model, mlpModel({ ...BIG, seed: 1000 + i }));
      // No copies: the placer keeps it nowhere, so its first request loads it.
      await cluster.setMinCopies(model, 0);
      await cluster.routeAll(model, version, false);
      await sleep(200);
      firsts.push(await call(clients[1]!, model, BIG.inputSize, false));
      for (let k = 0; k < 20; k++) warm.push(await call(clients[1]!, model, BIG.inputSize, false));
      const loaded = cluster.nodes[1]!.table.versions.get(`${model}/${version}`);
      if (loaded) loads.push(loaded.loadMs);
    }
    const coldS = summarize(firsts);
    const cold = {
      count: coldCount,
      firstRequestP50Ms: round(coldS.p50Ms, 1),
      firstRequestMaxMs: round(coldS.maxMs, 1),
      warmP50Ms: round(summarize(warm).p50Ms, 2),
      loadMsP50: round(summarize(loads).p50Ms, 1),
    };
    o.log(`  first request p50 ${cold.firstRequestP50Ms} ms (max ${cold.firstRequestMaxMs}), the node's load p50 ${cold.loadMsP50} ms; warm requests p50 ${cold.warmP50Ms} ms`);

    // One forwarding hop: a small MLP held by node-1 only (loaded there on request), called on node-1 (direct)
    // and on node-2 (forwarded), interleaved; A/A: direct twice.
    const fwdVersion = await cluster.createVersion('fwd', mlpModel({ ...SMALL, seed: 2000 }));
    await cluster.setMinCopies('fwd', 0);
    await cluster.routeAll('fwd', fwdVersion, false);
    await sleep(200);
    await call(clients[0]!, 'fwd', SMALL.inputSize, true);
    await cluster.watch!.waitReady('fwd', fwdVersion, ['node-1'], 30_000);
    await sleep(300);
    const arms = { direct: [] as number[], forwarded: [] as number[], directAgain: [] as number[] };
    const perRound = o.quick ? 50 : 200;
    const fwdRounds = o.quick ? 4 : 10;
    for (let k = 0; k < 20; k++) await call(clients[1]!, 'fwd', SMALL.inputSize, false);
    for (let r = 0; r < fwdRounds; r++) {
      for (let k = 0; k < perRound; k++) arms.direct.push(await call(clients[0]!, 'fwd', SMALL.inputSize, false));
      for (let k = 0; k < perRound; k++) arms.forwarded.push(await call(clients[1]!, 'fwd', SMALL.inputSize, false));
      for (let k = 0; k < perRound; k++) arms.directAgain.push(await call(clients[0]!, 'fwd', SMALL.inputSize, false));
    }
    const [d, f, a] = [summarize(arms.direct), summarize(arms.forwarded), summarize(arms.directAgain)];
    const forward = {
      requests: arms.direct.length,
      directP50Ms: round(d.p50Ms, 3),
      directP99Ms: round(d.p99Ms, 3),
      forwardedP50Ms: round(f.p50Ms, 3),
      forwardedP99Ms: round(f.p99Ms, 3),
      ratioP50: round(f.p50Ms / d.p50Ms, 2),
      ratioP99: round(f.p99Ms / d.p99Ms, 2),
      aaRatioP50: round(a.p50Ms / d.p50Ms, 2),
      aaRatioP99: round(a.p99Ms / d.p99Ms, 2),
    };
    o.log(`  forwarding hop: p50 ${forward.forwardedP50Ms} vs ${forward.directP50Ms} ms direct (×${forward.ratioP50}; A/A ×${forward.aaRatioP50}), p99 ×${forward.ratioP99} (A/A ×${forward.aaRatioP99})`);

    // Hot set under churn: node-1 (budget for the hot set and two more) loads the tail on request and evicts;
    // node-2 has everything placed. Same workload on each, rounds interleaved; A/A: node-2 twice.
    o.log(`  hot set of ${hot} and a tail of ${tail} 2.2 MB MLPs, no copies placed; node-1 budget ${budgetMiB} MiB (the tail churns), node-2 everything resident`);
    const models: string[] = [];
    for (let i = 0; i < hot + tail; i++) {
      const name = i < hot ? `hot${i}` : `tail${i - hot}`;
      const version = await cluster.createVersion(name, mlpModel({ ...SMALL, seed: 3000 + i }));
      await cluster.setMinCopies(name, 0);
      await cluster.routeAll(name, version, false);
      models.push(name);
    }
    await sleep(200);
    // node-2 (a budget for everything) loads every one on request and keeps it.
    for (const m of models) await call(clients[1]!, m, SMALL.inputSize, true);
    const hotModels = models.slice(0, hot);
    const tailModels = models.slice(hot);
    const churnRounds = o.quick ? 2 : 8;
    const roundMs = o.quick ? 600 : 2500;
    const results = { resident: [] as number[], churn: [] as number[], residentAgain: [] as number[] };
    let tailRequests = 0;
    let tailErrors = 0;
    let hotErrors = 0;
    let firstError = '';
    const evictionsBefore = await counter(cluster, 0, 'switchyard_evictions_total');
    const arm = async (client: Client, into: number[]): Promise<void> => {
      const until = performance.now() + roundMs;
      let stop = false;
      // The tail: one model after another, each a cold load on the small node.
      const churn = (async () => {
        let i = 0;
        while (!stop) {
          tailRequests++;
          await call(client, tailModels[i++ % tailModels.length]!, SMALL.inputSize, true).catch((err: grpc.ServiceError) => {
            tailErrors++;
            firstError ||= err.details;
          });
        }
      })();
      let i = 0;
      try {
        while (performance.now() < until) {
          try {
            into.push(await call(client, hotModels[i++ % hot]!, SMALL.inputSize, true));
          } catch (err) {
            hotErrors++;
            firstError ||= `hot: ${(err as grpc.ServiceError).details}`;
          }
        }
      } finally {
        stop = true;
        await churn;
      }
    };
    // Warm both: the hot set loaded on node-1.
    for (const m of hotModels) await call(clients[0]!, m, SMALL.inputSize, true);
    for (let r = 0; r < churnRounds; r++) {
      await arm(clients[1]!, results.resident);
      await arm(clients[0]!, results.churn);
      await arm(clients[1]!, results.residentAgain);
    }
    const [res, ch, aa] = [summarize(results.resident), summarize(results.churn), summarize(results.residentAgain)];
    const churn = {
      hot,
      tail,
      budgetMiB,
      rounds: churnRounds,
      residentP50Ms: round(res.p50Ms, 3),
      residentP99Ms: round(res.p99Ms, 3),
      churnP50Ms: round(ch.p50Ms, 3),
      churnP99Ms: round(ch.p99Ms, 3),
      ratioP99: round(ch.p99Ms / res.p99Ms, 2),
      aaRatioP99: round(aa.p99Ms / res.p99Ms, 2),
      evictions: (await counter(cluster, 0, 'switchyard_evictions_total')) - evictionsBefore,
      tailRequests,
      tailErrors,
      hotErrors,
    };
    if (firstError) o.log(`  ${tailErrors} tail and ${hotErrors} hot requests failed, first: ${firstError}`);
    o.log(`  hot p99 ${churn.churnP99Ms} ms with the tail churning vs ${churn.residentP99Ms} ms resident (×${churn.ratioP99}; A/A ×${churn.aaRatioP99}); ${churn.evictions} evictions in ${tailRequests} tail requests`);
    return { cold, forward, churn };
  } finally {
    for (const c of clients) c.close();
    await cluster.stop();
  }
}

async function counter(cluster: BenchCluster, node: number, name: string): Promise<number> {
  const metric = await cluster.nodes[node]!.metrics.registry.getSingleMetric(name)?.get();
  return (metric?.values ?? []).reduce((sum, v) => sum + v.value, 0);
}

/** The report's section. */
export function formatDensity(r: DensityResults): string {
  return [
    'Model density (m): 2 nodes, no copies placed; node-1 with a small budget loads on request and evicts, node-2 (the machine\'s budget) keeps what it loaded',
    `  cold start, 13.6 MB MLP, no placement (${r.cold.count} models): first request p50 ${r.cold.firstRequestP50Ms} ms, max ${r.cold.firstRequestMaxMs} ms (node load p50 ${r.cold.loadMsP50} ms); then p50 ${r.cold.warmP50Ms} ms`,
    `  one forwarding hop (2.2 MB MLP, ${r.forward.requests} requests each): p50 ${r.forward.forwardedP50Ms} ms vs ${r.forward.directP50Ms} ms direct = ×${r.forward.ratioP50} (A/A ×${r.forward.aaRatioP50}); p99 ${r.forward.forwardedP99Ms} vs ${r.forward.directP99Ms} = ×${r.forward.ratioP99} (A/A ×${r.forward.aaRatioP99})`,
    `  hot set of ${r.churn.hot} while a tail of ${r.churn.tail} churns through a ${r.churn.budgetMiB} MiB budget: hot p99 ${r.churn.churnP99Ms} ms vs ${r.churn.residentP99Ms} ms all resident = ×${r.churn.ratioP99} (A/A ×${r.churn.aaRatioP99}); p50 ${r.churn.churnP50Ms} vs ${r.churn.residentP50Ms} ms; ${r.churn.evictions} evictions in ${r.churn.tailRequests} tail requests (${r.churn.tailErrors} failed); hot requests failed: ${r.churn.hotErrors}`,
  ].join('\n');
}
