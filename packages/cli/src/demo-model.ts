import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InferenceClient, type AdminClient } from '@switchyard/client';
import { deployModel, type DeployResult } from './deploy-model.js';
import { findServingNode, predict, type PredictResult } from './predict-model.js';

export const DEMO_MODEL = 'demo';
export const DEMO_WEIGHTS = [0.5, -1, 2];
export const DEMO_BIAS = 0.25;
/** The quick start's example input; 1·0.5 + 2·(-1) + 3·2 + 0.25 = 4.75. */
export const DEMO_INPUT = [[1, 2, 3]];

/**
 * Builds the demo linear model, deploys it exactly as `switchyard deploy`
 * would, and sends it one prediction, so `up` proves the whole path works.
 */
export async function deployDemo(admin: AdminClient, dataDir: string): Promise<{ deployed: DeployResult; prediction: PredictResult }> {
  // testkit is the project's one ONNX writer; loaded lazily since only the demo needs it.
  const { linearModel } = await import('@switchyard/testkit');
  const file = join(dataDir, 'demo.onnx');
  await writeFile(file, linearModel({ weights: DEMO_WEIGHTS, bias: DEMO_BIAS }));
  const deployed = await deployModel({ admin, model: DEMO_MODEL, file, timeoutMs: 60_000 });
  const client = await InferenceClient.create({ nodes: [await findServingNode(admin, DEMO_MODEL, deployed.version)] });
  try {
    const prediction = await predict({ client, model: DEMO_MODEL, inputs: [{ name: 'x', value: DEMO_INPUT }] });
    return { deployed, prediction };
  } finally {
    client.close();
  }
}
