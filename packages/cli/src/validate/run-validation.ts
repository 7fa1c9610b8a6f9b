import { performance } from 'node:perf_hooks';
import { BUILD_VERSION } from '@switchyard/core';
import { RunLimits, estimateMemory } from './run-limits.js';
import type { TargetSelection, TargetVersion } from './target-versions.js';
import { checkVersion, type CheckDependencies, type CheckPhase } from './version-check.js';
import { countResults, type ValidationReport, type VersionReport } from './validation-report.js';

/** What the display is told while versions are checked. */
export interface ValidationProgress {
  started(total: number): void;
  phase(target: TargetVersion, phase: CheckPhase): void;
  finished(report: VersionReport): void;
  stop(): void;
}

/** Options for {@link runValidation}. */
export interface RunValidationOptions {
  selection: TargetSelection;
  check: CheckDependencies;
  concurrency: number;
  maxMemoryBytes: number;
  all: boolean;
  progress?: ValidationProgress;
}

/**
 * Checks every selected version, in parallel within the concurrency and
 * memory limits, and builds the report. Versions are reported in the
 * selection's order whatever order they finish in.
 */
export async function runValidation(options: RunValidationOptions): Promise<ValidationReport> {
  const startedAt = new Date().toISOString();
  const started = performance.now();
  const limits = new RunLimits(options.concurrency, options.maxMemoryBytes);
  const { versions } = options.selection;
  options.progress?.started(versions.length);
  let reports: VersionReport[];
  try {
    reports = await Promise.all(
      versions.map((target) =>
        limits.run(estimateMemory(target.record?.artifact.size ?? 0), async () => {
          const report = await checkVersion(target, options.check, (phase) => options.progress?.phase(target, phase));
          options.progress?.finished(report);
          return report;
        }),
      ),
    );
  } finally {
    options.progress?.stop();
  }
  return {
    build: BUILD_VERSION,
    startedAt,
    durationMs: Math.round(performance.now() - started),
    etcdRevision: options.selection.revision,
    all: options.all,
    requireSamples: options.check.requireSamples,
    against: options.check.against?.address ?? null,
    limits: {
      concurrency: options.concurrency,
      maxMemoryBytes: options.maxMemoryBytes,
      peakRunning: limits.peaks.running,
      peakMemoryBytes: limits.peaks.memoryBytes,
    },
    counts: countResults(reports),
    versions: reports,
    skipped: options.selection.skipped,
  };
}
