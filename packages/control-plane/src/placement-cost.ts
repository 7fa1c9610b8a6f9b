/**
 * What one loaded copy of a version is expected to cost before any node
 * measured it: its artifact's size times this, until versions measured on
 * nodes teach a better factor. onnxruntime keeps the weights once plus its
 * arena and graph; the MLPs of issue #16 cost about 1.1× their file, so 1.5
 * errs on the side of placing fewer.
 */
export const DEFAULT_MEMORY_FACTOR = 1.5;

/** One version's artifact size and what nodes measured of it (any number of nodes). */
export interface CostSample {
  artifactBytes: number;
  measuredBytes: readonly number[];
}

/** A version's expected cost per copy, and whether a node measured it. */
export interface VersionCost {
  bytes: number;
  measured: boolean;
}

/**
 * Artifacts below this teach no factor: a session's fixed cost (graph,
 * arena, thread pools) and the noise of a resident-set reading are a few MB
 * whatever the model, so a 100-byte model measured at 3 MB read as a factor
 * of 30,000, and the median of a registry of small models then estimated a
 * 13.6 MB MLP at 31 GiB and placed it nowhere (bench scenario (j)).
 */
export const MIN_FACTOR_ARTIFACT_BYTES = 1024 * 1024;

/**
 * The factor from artifact size to memory, learned from the versions nodes
 * measured whose artifact is at least {@link MIN_FACTOR_ARTIFACT_BYTES}: the
 * median of their ratios (a median, so one odd model does not move every
 * estimate), else {@link DEFAULT_MEMORY_FACTOR}.
 */
export function memoryFactor(samples: Iterable<CostSample>): number {
  const ratios: number[] = [];
  for (const s of samples) {
    const measured = largest(s.measuredBytes);
    if (measured !== undefined && s.artifactBytes >= MIN_FACTOR_ARTIFACT_BYTES) ratios.push(measured / s.artifactBytes);
  }
  if (ratios.length === 0) return DEFAULT_MEMORY_FACTOR;
  ratios.sort((a, b) => a - b);
  const mid = Math.floor(ratios.length / 2);
  return ratios.length % 2 === 1 ? ratios[mid]! : (ratios[mid - 1]! + ratios[mid]!) / 2;
}

/** The largest measurement when any node measured it (nodes may differ; placement must fit the worst), else the estimate. */
export function versionCost(sample: CostSample, factor: number): VersionCost {
  const measured = largest(sample.measuredBytes);
  if (measured !== undefined) return { bytes: measured, measured: true };
  return { bytes: Math.ceil(sample.artifactBytes * factor), measured: false };
}

function largest(values: readonly number[]): number | undefined {
  const positive = values.filter((v) => v > 0);
  return positive.length === 0 ? undefined : Math.max(...positive);
}
