import type { Reference, SkippedVersion } from './target-versions.js';

/**
 * The results of `switchyard validate`: PASS (every golden output matched),
 * FAIL (an output differs, a sample does not run, the production node answers
 * otherwise, or no samples under --require-samples), UNVERIFIED (loads and
 * runs, but there are no golden outputs to compare with), ERROR (could not be
 * checked: not fetched, or this build cannot load it).
 */
export type VersionResult = 'PASS' | 'FAIL' | 'UNVERIFIED' | 'ERROR';

/** One output of one sample that did not match, or a sample that did not run (output ''). */
export interface SampleFailure {
  sample: string;
  output: string;
  /** Names the sample and output, e.g. `sample 'ones' output 'y' element 0: expected 4.75, got 5.75 (…)`. */
  reason: string;
}

/** How a running production node's answers compare with this build's (`--against`). */
export interface AgainstReport {
  node: string;
  /** SAME within tolerance; DIFFERENT; NOT_SERVED: the node does not have the version loaded; ERROR: no answer. */
  state: 'SAME' | 'DIFFERENT' | 'NOT_SERVED' | 'ERROR';
  /** Samples both builds answered. */
  samples: number;
  maxAbsDiff: number;
  differences: SampleFailure[];
  reason: string;
}

/** One version's result. */
export interface VersionReport {
  model: string;
  version: string;
  /** Empty when the version record could not be read. */
  sha256: string;
  size: number;
  referencedBy: Reference[];
  result: VersionResult;
  /** Samples in the version's document (0 without one). */
  samples: number;
  /** Samples that ran to the end in this build. */
  samplesRun: number;
  /** Largest |this build − golden| over every compared element. */
  maxAbsDiff: number;
  /** Creating the onnxruntime session in this build; null when it did not get that far. */
  loadMs: number | null;
  /** The whole check: fetch, load, samples, comparison. */
  durationMs: number;
  /** Why it is not PASS, in one line; '' for PASS. */
  reason: string;
  failures: SampleFailure[];
  against?: AgainstReport;
}

/** The whole report, as `--report-json` writes it. */
export interface ValidationReport {
  /** The build being validated (`switchyard --version`). */
  build: string;
  startedAt: string;
  durationMs: number;
  /** The etcd revision the target state was read at. */
  etcdRevision: string;
  all: boolean;
  requireSamples: boolean;
  against: string | null;
  limits: { concurrency: number; maxMemoryBytes: number; peakRunning: number; peakMemoryBytes: number };
  counts: Record<VersionResult, number> & { total: number };
  versions: VersionReport[];
  skipped: SkippedVersion[];
}

/** Counts by result. */
export function countResults(versions: readonly VersionReport[]): ValidationReport['counts'] {
  const counts = { total: versions.length, PASS: 0, FAIL: 0, UNVERIFIED: 0, ERROR: 0 };
  for (const v of versions) counts[v.result] += 1;
  return counts;
}
