import type { TestCluster } from './cluster.js';

type Inputs = Parameters<TestCluster['infer']>[2];

/** Sends ModelInfer to every node of the cluster until stopped; counts successes and failures. */
export function continuousLoad(cluster: TestCluster, model: string, inputs: Inputs) {
  let stopped = false;
  const stats = { ok: 0, failed: [] as string[] };
  const loops = cluster.nodes.map(async (_n, i) => {
    while (!stopped) {
      try {
        await cluster.infer(i, model, inputs, { deadlineMs: 5000 });
        stats.ok++;
      } catch (err) {
        stats.failed.push(`node ${i}: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, 2));
    }
  });
  return {
    stats,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      return stats;
    },
  };
}
