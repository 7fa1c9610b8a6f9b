import { performance } from 'node:perf_hooks';
import pLimit from 'p-limit';
import {
  checkSamplesAgainstSignature,
  compareSample,
  DEFAULT_TOLERANCE,
  SwitchyardError,
  type Logger,
  type Sample,
  type SamplesDocument,
  type SampleTensor,
  type Signature,
  type VersionRecord,
} from '@switchyard/core';
import { runInChild, zeroSample, type ChildRunOptions, type ChildRunResult, type ChildStage } from '@switchyard/control-plane';
import type { AgainstNode } from './against-node.js';
import type { TargetVersion } from './target-versions.js';
import type { AgainstReport, SampleFailure, VersionReport } from './validation-report.js';

/** Where a check is, for the progress display. */
export type CheckPhase = 'fetching' | 'loading' | 'running' | 'comparing';

/** What {@link checkVersion} needs. */
export interface CheckDependencies {
  /** Downloads and verifies the version's files (ArtifactFiles). */
  files: {
    artifact(record: VersionRecord): Promise<string>;
    samples(record: VersionRecord): Promise<SamplesDocument | null>;
  };
  /** Limit on loading the model plus running every sample in the child. */
  timeoutMs: number;
  requireSamples: boolean;
  against?: AgainstNode;
  logger: Logger;
  /** @default runInChild, the child process deploy-time validation runs */
  run?: (options: ChildRunOptions) => Promise<ChildRunResult>;
}

const messageOf = (err: unknown): string => SwitchyardError.from(err).message;
const round = (ms: number): number => Math.round(ms * 10) / 10;
const hasGolden = (sample: Sample): boolean => sample.outputs !== undefined && Object.keys(sample.outputs).length > 0;

/** The failures of one sample's comparison, one per output that differs, each naming sample and output. */
function sampleFailures(sample: string, golden: Record<string, SampleTensor>, got: Record<string, SampleTensor>, tolerances: Parameters<typeof compareSample>[3]): { failures: SampleFailure[]; maxAbsDiff: number } {
  const comparison = compareSample(sample, golden, got, tolerances);
  const failures = Object.entries(comparison.outputs)
    .filter(([, o]) => !o.ok)
    .map(([output, o]) => ({ sample, output, reason: `sample '${sample}' output '${output}' ${o.reason ?? 'differs'}` }));
  return { failures, maxAbsDiff: comparison.maxAbsDiff };
}

/** Why the child did not finish, and whether that is the model failing (a sample) or the check not running (load). */
function childFailure(result: Exclude<ChildRunResult, { kind: 'finished' }>, runs: Sample[], timeoutMs: number): { error: boolean; failure: SampleFailure } {
  const sampleAt = (stage: ChildStage): string => (stage.phase === 'running' ? (runs[stage.index]?.name ?? `#${stage.index}`) : '');
  switch (result.kind) {
    case 'load-failed':
      return { error: true, failure: { sample: '', output: '', reason: `this build cannot load the model: ${result.message}` } };
    case 'run-failed': {
      const sample = runs[result.index]?.name ?? `#${result.index}`;
      return { error: false, failure: { sample, output: '', reason: `sample '${sample}' failed to run in this build: ${result.message}` } };
    }
    case 'timed-out': {
      const sample = sampleAt(result.stage);
      const where = sample ? `on sample '${sample}'` : result.stage.phase === 'loading' ? 'while loading the model' : 'while starting';
      return {
        error: sample === '',
        failure: { sample, output: '', reason: `timed out after ${timeoutMs / 1000} s ${where} (raise --timeout, or the build is much slower)` },
      };
    }
    case 'refused':
      return { error: true, failure: { sample: '', output: '', reason: `this build cannot serve the model: ${result.error.message}` } };
    case 'memory-exceeded': {
      const sample = sampleAt(result.stage);
      const where = sample ? `on sample '${sample}'` : 'while loading the model';
      return { error: sample === '', failure: { sample, output: '', reason: `ran out of memory ${where}: ${result.detail.slice(0, 300)}` } };
    }
    case 'crashed': {
      const sample = sampleAt(result.stage);
      const how = result.signal ? `killed by ${result.signal}` : `exit code ${String(result.exitCode)}`;
      const where = sample ? `on sample '${sample}'` : result.stage.phase === 'loading' ? 'while loading the model' : 'while starting';
      const stderr = result.stderr ? `; its last output: ${result.stderr.slice(-300)}` : '';
      return { error: sample === '', failure: { sample, output: '', reason: `the model crashed this build's process (${how}) ${where}${stderr}` } };
    }
  }
}

/**
 * Samples in flight to the production node per version: a version with
 * hundreds of samples no longer waits one round trip per sample, and a
 * serving node sees a handful of extra calls at most.
 */
const AGAINST_CALLS_IN_FLIGHT = 8;

/** Asks the production node for every run and compares its answers with this build's. */
async function compareWithNode(node: AgainstNode, record: VersionRecord, runs: Sample[], outputs: Record<string, SampleTensor>[], doc: SamplesDocument | null): Promise<AgainstReport> {
  const report: AgainstReport = { node: node.address, state: 'SAME', samples: 0, maxAbsDiff: 0, differences: [], reason: '' };
  const limit = pLimit(AGAINST_CALLS_IN_FLIGHT);
  const answers = await Promise.all(
    runs.map((sample) =>
      limit(() =>
        node.run(record.model, record.version, sample, record.signature).then(
          (answer) => ({ answer }),
          (error: unknown) => ({ error }),
        ),
      ),
    ),
  );
  // Judged in sample order, so the report reads the same as when they ran one by one.
  for (const [index, sample] of runs.entries()) {
    const got = answers[index]!;
    if ('error' in got) return { ...report, state: 'ERROR', reason: `node ${node.address} did not answer sample '${sample.name}': ${messageOf(got.error)}` };
    const answer = got.answer;
    if (answer.kind === 'not-served') return { ...report, state: 'NOT_SERVED', reason: `node ${node.address} does not serve it: ${answer.message}` };
    report.samples += 1;
    // This build's outputs are the reference; the node's are judged with the sample's own tolerance.
    const tolerances = { default: doc?.tolerance ?? DEFAULT_TOLERANCE, ...(sample.tolerance ? { outputs: sample.tolerance } : {}) };
    const { failures, maxAbsDiff } = sampleFailures(sample.name, outputs[index] ?? {}, answer.outputs, tolerances);
    report.maxAbsDiff = Math.max(report.maxAbsDiff, maxAbsDiff);
    report.differences.push(...failures.map((f) => ({ ...f, reason: `node ${node.address} differs from this build (expected: this build, got: the node): ${f.reason}` })));
  }
  if (report.differences.length > 0) {
    report.state = 'DIFFERENT';
    report.reason = `${report.differences.length} output(s) differ from this build's; first: ${report.differences[0]!.reason}`;
  }
  return report;
}

/**
 * Validates one version in this build: fetches its artifact and samples
 * (sha256 verified), loads it in a child process (deploy-time validation's,
 * so a crashing or runaway model harms only the child), runs every sample,
 * and compares the outputs with the golden ones recorded at deploy time. A
 * version without samples is run once on all-zero inputs, which proves it
 * loads and runs, and is UNVERIFIED. Never throws for what the version or the
 * model does; the result says it.
 */
export async function checkVersion(target: TargetVersion, deps: CheckDependencies, onPhase: (phase: CheckPhase) => void = () => undefined): Promise<VersionReport> {
  const started = performance.now();
  const record = target.record;
  const report: VersionReport = {
    model: target.model,
    version: target.version,
    sha256: record?.artifact.sha256 ?? '',
    size: record?.artifact.size ?? 0,
    referencedBy: target.referencedBy,
    result: 'ERROR',
    samples: record?.samples?.count ?? 0,
    samplesRun: 0,
    maxAbsDiff: 0,
    loadMs: null,
    durationMs: 0,
    reason: '',
    failures: [],
  };
  const finish = (result: VersionReport['result'], reason: string): VersionReport => {
    report.result = result;
    report.reason = reason;
    report.durationMs = round(performance.now() - started);
    return report;
  };
  if (!record) return finish('ERROR', target.problem ?? 'no version record');

  onPhase('fetching');
  let artifactPath: string;
  let doc: SamplesDocument | null;
  try {
    [artifactPath, doc] = await Promise.all([deps.files.artifact(record), deps.files.samples(record)]);
  } catch (err) {
    return finish('ERROR', `could not fetch its files: ${messageOf(err)}`);
  }
  if (doc) {
    report.samples = doc.samples.length;
    try {
      checkSamplesAgainstSignature(doc, record.signature);
    } catch (err) {
      return finish('ERROR', `its samples document does not fit its signature: ${messageOf(err)}`);
    }
  }

  onPhase('loading');
  const runs = doc ? doc.samples : [zeroSample(record.signature)];
  let loadStarted: number | undefined;
  const run = deps.run ?? runInChild;
  const result = await run({
    artifactPath,
    signature: record.signature,
    samples: runs,
    timeoutMs: deps.timeoutMs,
    logger: deps.logger,
    onStage: (stage) => {
      if (stage.phase === 'loading') loadStarted = performance.now();
      else if (stage.phase === 'running' && stage.index === 0 && loadStarted !== undefined) {
        report.loadMs = round(performance.now() - loadStarted);
        onPhase('running');
      }
    },
  });
  const outputs = 'outputs' in result ? result.outputs : [];
  report.samplesRun = doc ? outputs.filter(Boolean).length : 0;
  if (result.kind !== 'finished') {
    const { error, failure } = childFailure(result, runs, deps.timeoutMs);
    if (!error) report.failures.push(failure);
    return finish(error ? 'ERROR' : 'FAIL', failure.reason);
  }

  onPhase('comparing');
  let golden = 0;
  for (const [index, sample] of (doc?.samples ?? []).entries()) {
    if (!hasGolden(sample)) continue;
    golden += 1;
    const tolerances = { default: doc!.tolerance, ...(sample.tolerance ? { outputs: sample.tolerance } : {}) };
    const { failures, maxAbsDiff } = sampleFailures(sample.name, sample.outputs!, outputs[index] ?? {}, tolerances);
    report.maxAbsDiff = Math.max(report.maxAbsDiff, maxAbsDiff);
    report.failures.push(...failures);
  }
  if (deps.against) {
    report.against = await compareWithNode(deps.against, record, runs, outputs, doc);
    report.failures.push(...report.against.differences);
  }

  if (report.failures.length > 0) {
    const more = report.failures.length > 1 ? ` (and ${report.failures.length - 1} more)` : '';
    return finish('FAIL', `${report.failures[0]!.reason}${more}`);
  }
  if (report.against?.state === 'ERROR') return finish('ERROR', report.against.reason);
  if (golden === 0) {
    const why = doc ? 'its samples have no golden outputs' : 'it has no samples';
    if (deps.requireSamples) return finish('FAIL', `${why}, and --require-samples is set: deploy it again with --samples giving golden outputs`);
    return finish('UNVERIFIED', `${why}: it loads and runs in this build, but nothing checks its answers`);
  }
  return finish('PASS', '');
}
