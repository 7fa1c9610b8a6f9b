/**
 * What one loaded copy of a version is expected to cost before any node
 * measured it, as a multiple of its artifact's size, until versions of a
 * similar size measured on nodes teach a better one. onnxruntime keeps the
 * weights once plus its arena and graph; the MLPs of issue #16 cost about
 * 1.1–2.2× their file, so 1.5 errs on the side of placing fewer. The node's
 * own estimate (prediction-node memory-admission.ts, DEFAULT_COST_RATIO) is
 * the same.
 */
export const DEFAULT_MEMORY_FACTOR = 1.5;

/** No copy is expected to cost less: a session's fixed cost (graph, arena, thread pools) is about that. The node's MIN_VERSION_BYTES. */
export const MIN_VERSION_BYTES = 1024 * 1024;

/**
 * Versions teach the estimate of an artifact only within this factor of its
 * size either way, as the node does: a session's fixed cost makes a 100-byte
 * model measure as 30,000× its file, and a global median of such ratios once
 * estimated a 13.6 MB MLP at 31 GiB and placed it nowhere (bench scenario
 * (j)); a 13.6 MB MLP learns only from artifacts of 3.4–54 MB.
 */
export const SIMILAR_SIZE_FACTOR = 4;

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

/** What a copy of a version with an artifact of this size is expected to cost before any node measured it. */
export type CostEstimate = (artifactBytes: number) => number;

/**
 * The estimate the nodes make (memory-admission.ts `estimateCost`), over
 * every measured version of the registry: artifact size times the median
 * ratio of measured / artifact size among versions whose artifact is within
 * {@link SIMILAR_SIZE_FACTOR} of this one's (the upper median, as the node
 * takes; a median, so one measurement inflated by other work in a process
 * does not move every estimate), else {@link DEFAULT_MEMORY_FACTOR}; never
 * below {@link MIN_VERSION_BYTES}. A version's ratio is its largest
 * measurement's (nodes may differ; placement must fit the worst). Answers
 * are remembered per size: a pass asks for many versions of a few sizes.
 */
export function costEstimate(samples: Iterable<CostSample>): CostEstimate {
  const measured: { size: number; ratio: number }[] = [];
  for (const s of samples) {
    const bytes = largest(s.measuredBytes);
    if (bytes !== undefined && s.artifactBytes > 0) measured.push({ size: s.artifactBytes, ratio: bytes / s.artifactBytes });
  }
  measured.sort((a, b) => a.size - b.size);
  const sizes = measured.map((m) => m.size);
  const known = new Map<number, number>();
  return (artifactBytes) => {
    let bytes = known.get(artifactBytes);
    if (bytes === undefined) {
      const from = lowerBound(sizes, artifactBytes / SIMILAR_SIZE_FACTOR);
      const to = lowerBound(sizes, artifactBytes * SIMILAR_SIZE_FACTOR + 1);
      const ratios = measured.slice(from, to).map((m) => m.ratio).sort((a, b) => a - b);
      const ratio = ratios.length > 0 ? ratios[Math.floor(ratios.length / 2)]! : DEFAULT_MEMORY_FACTOR;
      bytes = Math.max(MIN_VERSION_BYTES, Math.round(artifactBytes * ratio));
      known.set(artifactBytes, bytes);
    }
    return bytes;
  };
}

/** The largest measurement when any node measured it (nodes may differ; placement must fit the worst), else the estimate. */
export function versionCost(sample: CostSample, estimate: CostEstimate): VersionCost {
  const measured = largest(sample.measuredBytes);
  if (measured !== undefined) return { bytes: measured, measured: true };
  return { bytes: estimate(sample.artifactBytes), measured: false };
}

function largest(values: readonly number[]): number | undefined {
  let out: number | undefined;
  for (const v of values) if (v > 0 && (out === undefined || v > out)) out = v;
  return out;
}

/** The first index whose size is at least `size`, in sizes sorted ascending. */
function lowerBound(sizes: readonly number[], size: number): number {
  let lo = 0;
  let hi = sizes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sizes[mid]! < size) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
