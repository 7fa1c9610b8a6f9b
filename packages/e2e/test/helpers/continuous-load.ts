import type { TestCluster } from './cluster.js';

export type Inputs = Parameters<TestCluster['infer']>[2];

/** Options for {@link continuousLoad}. */
export interface ContinuousLoadOptions {
  /** Calls kept in flight per node. @default 1 */
  perNode?: number;
}

/**
 * Sends ModelInfer to every node of the cluster until stopped; counts
 * successes and failures. `inputs` may be a function of the request's
 * sequence number, for traffic whose inputs vary.
 */
export function continuousLoad(cluster: TestCluster, model: string, inputs: Inputs | ((n: number) => Inputs), options: ContinuousLoadOptions = {}) {
  let stopped = false;
  let sent = 0;
  const inputsFor = typeof inputs === 'function' ? inputs : () => inputs;
  const stats = { ok: 0, failed: [] as string[] };
  const loops = cluster.nodes.flatMap((_n, i) =>
    Array.from({ length: options.perNode ?? 1 }, async () => {
      while (!stopped) {
        try {
          await cluster.infer(i, model, inputsFor(sent++), { deadlineMs: 5000 });
          stats.ok++;
        } catch (err) {
          stats.failed.push(`node ${i}: ${(err as Error).message}`);
        }
        await new Promise((r) => setTimeout(r, 2));
      }
    }),
  );
  return {
    stats,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      return stats;
    },
  };
}
