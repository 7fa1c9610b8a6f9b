import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InferenceClient, type AdminClient } from '@switchyard/client';
import { deployModel, type DeployResult } from './deploy-model.js';
import { DEMO_BIAS, DEMO_INPUT, DEMO_MODEL, DEMO_WEIGHTS } from './demo-model-names.js';
import { findServingNode, predict, type PredictResult } from './predict-model.js';

export { DEMO_BIAS, DEMO_INPUT, DEMO_MODEL, DEMO_WEIGHTS } from './demo-model-names.js';

/**
 * Builds the demo linear model, deploys it exactly as `switchyard deploy`
 * would, and sends it one prediction, so `up` proves the whole path works.
 */
export async function deployDemo(admin: AdminClient, dataDir: string): Promise<{ deployed: DeployResult; prediction: PredictResult }> {
  // The ONNX writer is loaded only when a demo is deployed.
  const { linearModel } = await import('@switchyard/core/onnx');
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
