/**
 * The process whose memory the memory scenario measures, so the bench's own
 * heap does not distort it. Runs with --expose-gc, one of two modes:
 *
 *   cycles <model.onnx> <n>   load, run once and release the model n times
 *                             (the node's inline hosting: one intra-op thread),
 *                             printing RSS after cycle 1 and every 20th as JSON
 *   node <etcd> <prefix> <dir> <id>
 *                             a real PredictionNode; answers {rss} to each IPC
 *                             'rss' message (after a GC), stops on 'stop'
 */
import ort from 'onnxruntime-node';
import { KeyLayout } from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import { silentLogger } from '@switchyard/core/logging';
import { PredictionNode, trimHeap } from '@switchyard/prediction-node';

const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

async function settledRss(): Promise<number> {
  gc();
  await new Promise((r) => setTimeout(r, 50));
  gc();
  return process.memoryUsage().rss;
}

async function cycles(path: string, n: number): Promise<void> {
  const samples: { cycle: number; rssBytes: number }[] = [];
  const input = new ort.Tensor('float32', new Float32Array(256).fill(0.5), [1, 256]);
  for (let cycle = 1; cycle <= n; cycle++) {
    const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential' });
    await session.run({ [session.inputNames[0]!]: input });
    await session.release();
    // As a node does after an unload (heap-trim.ts), when asked.
    if (process.env.SWITCHYARD_BENCH_TRIM_AT_RELEASE === '1') trimHeap();
    if (cycle === 1 || cycle % 20 === 0 || cycle === n) samples.push({ cycle, rssBytes: await settledRss() });
  }
  process.stdout.write(`${JSON.stringify({ samples })}\n`);
}

async function node(etcdEndpoint: string, prefix: string, dataDir: string, id: string): Promise<void> {
  const etcd = createEtcdClient({ endpoints: etcdEndpoint });
  const predictionNode = await PredictionNode.create({ etcd, keys: new KeyLayout(prefix), id, dataDir, logger: silentLogger(), drainGraceMs: 0 });
  await predictionNode.ready();
  process.on('message', (message: string) => {
    if (message === 'rss') void settledRss().then((rss) => process.send!({ rss }));
    if (message === 'stop') void predictionNode.stop(1000).then(() => {
      etcd.close();
      process.exit(0);
    });
  });
  process.send!({ ready: true, rss: await settledRss() });
}

const [mode, ...args] = process.argv.slice(2);
const run = mode === 'cycles' ? cycles(args[0]!, Number(args[1])) : node(args[0]!, args[1]!, args[2]!, args[3]!);
run.catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
