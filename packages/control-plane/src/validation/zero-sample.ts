import type { Sample, SampleTensor, Signature } from '@switchyard/core';

/** The name failures report for the run on zeros. */
export const ZERO_SAMPLE_NAME = 'all-zero inputs';

/**
 * A sample of all-zero inputs (false for BOOL, empty strings for BYTES), variable dimensions set to 1:
 * without samples, one such run still proves the model loads and executes.
 */
export function zeroSample(signature: Signature): Sample {
  const inputs: Record<string, SampleTensor> = {};
  for (const spec of signature.inputs) {
    const shape = spec.shape.map((d) => (d < 0 ? 1 : d));
    const count = shape.reduce((n, d) => n * d, 1);
    inputs[spec.name] = { datatype: spec.datatype, shape, data: new Array(count).fill(spec.datatype === 'BOOL' ? false : spec.datatype === 'BYTES' ? '' : 0) };
  }
  return { name: ZERO_SAMPLE_NAME, inputs };
}
