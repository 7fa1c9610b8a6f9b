/**
 * (d) deploy-to-READY: for each of N new versions (linear models with
 * different weights, uploaded and created beforehand, untimed), the time
 * from the SetRoute reply to the moment the last node's READY status
 * arrives through an etcd watch.
 */
import { performance } from 'node:perf_hooks';
import { linearModel } from '@switchyard/testkit';
import type { BenchCluster } from './bench-cluster.js';
import { round, summarize } from './stats.js';

export interface DeployResult {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Every deploy's time to READY on all nodes, ms, in order. */
  samplesMs: number[];
  /** Each SetRoute RPC's own round trip, ms (not part of the figure). */
  setRouteMs: number[];
}

export async function measureDeploys(cluster: BenchCluster, count: number, log: (line: string) => void): Promise<DeployResult> {
  const model = 'deploy';
  const samples: number[] = [];
  const setRoute: number[] = [];
  for (let i = 0; i < count; i++) {
    const bytes = linearModel({ weights: [1 + i, -2, 0.25 * i], bias: i / 10 });
    const version = await cluster.createVersion(model, bytes);
    const sent = performance.now();
    await cluster.routeAll(model, version);
    const replied = performance.now();
    const readyTimes = await cluster.watch!.waitReady(model, version, cluster.nodeIds, 30_000);
    samples.push(round(Math.max(...readyTimes) - replied));
    setRoute.push(round(replied - sent));
    // Let the previous version's unload finish so deploys do not overlap.
    await new Promise((r) => setTimeout(r, 30));
  }
  const s = summarize(samples);
  log(`  ${count} deploys: p50 ${round(s.p50Ms, 1)} ms, p99 ${round(s.p99Ms, 1)} ms, max ${round(s.maxMs, 1)} ms`);
  return { count, p50Ms: round(s.p50Ms), p99Ms: round(s.p99Ms), maxMs: round(s.maxMs), samplesMs: samples, setRouteMs: setRoute };
}
