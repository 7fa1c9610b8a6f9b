/**
 * (i) Registration rate: N new versions (distinct linear models, each with a
 * samples document of two rows) uploaded and created through the admin API,
 * `concurrency` at a time, with deploy-time validation as always. The figure
 * is versions per second over the whole burst, upload included, as a CI
 * pipeline registering many models would see it.
 */
import { performance } from 'node:perf_hooks';
import { linearModel } from '@switchyard/testkit';
import type { BenchCluster } from './bench-cluster.js';
import { round, summarize } from './stats.js';

export interface RegistrationResult {
  count: number;
  concurrency: number;
  versionsPerSecond: number;
  /** One version's UploadArtifact + CreateVersion, ms. */
  p50Ms: number;
  p99Ms: number;
  /** Versions not PASSED (each is a failure of the bench's own models). */
  notPassed: number;
}

export async function measureRegistration(cluster: BenchCluster, count: number, concurrency: number, log: (line: string) => void): Promise<RegistrationResult> {
  const samples = (w: number[], b: number): Uint8Array =>
    new TextEncoder().encode(
      JSON.stringify({
        samples: [
          { name: 'ones', inputs: { x: { datatype: 'FP32', data: [[1, 1, 1]] } }, outputs: { y: { datatype: 'FP32', data: [[w[0]! + w[1]! + w[2]! + b]] } } },
          { name: 'zeros', inputs: { x: { datatype: 'FP32', data: [[0, 0, 0]] } } },
        ],
      }),
    );
  const times: number[] = [];
  let notPassed = 0;
  let next = 0;
  const started = performance.now();
  const worker = async (): Promise<void> => {
    for (let i = next++; i < count; i = next++) {
      // Exact in FP32: small integers and halves.
      const weights = [1 + (i % 7), -2 + (i % 3), (i % 5) / 2];
      const bias = (i % 11) / 2;
      const t0 = performance.now();
      const version = await cluster.registerVersion(`reg-${i % 50}`, linearModel({ weights, bias }), samples(weights, bias));
      times.push(performance.now() - t0);
      if (version.state !== 'PASSED') notPassed++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, () => worker()));
  const seconds = (performance.now() - started) / 1000;
  const s = summarize(times);
  const result = { count, concurrency, versionsPerSecond: round(count / seconds, 1), p50Ms: round(s.p50Ms), p99Ms: round(s.p99Ms), notPassed };
  log(`  ${count} versions, ${concurrency} at a time: ${result.versionsPerSecond} versions/s; each p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms; not PASSED: ${notPassed}`);
  return result;
}
