import test from 'ava';
import { type Signature } from '@switchyard/core';
import { silentLogger } from '@switchyard/core/logging';
import { DeployValidation } from '../src/deploy-validation.js';
import type { ArtifactStore } from '../src/artifact-store.js';

const signature: Signature = { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 1] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }] };

test('a burst of deploys runs at most maxConcurrent validations at once', async (t) => {
  let running = 0;
  let peak = 0;
  const validation = new DeployValidation({
    artifacts: {} as ArtifactStore,
    artifactPath: (sha) => `/nowhere/${sha}`,
    logger: silentLogger(),
    maxConcurrent: 2,
    validate: async () => {
      peak = Math.max(peak, ++running);
      await new Promise((r) => setTimeout(r, 20));
      running--;
      return {
        record: { state: 'PASSED', reason: '', samples: 0, goldenRecorded: false, maxAbsDiff: 0, durationMs: 20, validatedAt: new Date().toISOString() },
        samples: null,
        signature,
      };
    },
  });
  const results = await Promise.all(Array.from({ length: 6 }, (_, i) => validation.run(String(i).repeat(64), signature, null)));
  t.is(peak, 2);
  t.true(results.every((r) => r.validation.state === 'PASSED'));
});
