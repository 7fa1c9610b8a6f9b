import { performance } from 'node:perf_hooks';
import {
  MAX_SAMPLES_DOCUMENT_BYTES,
  SwitchyardError,
  checkSamplesAgainstSignature,
  compareSample,
  invalidArgument,
  serializeSamplesDocument,
  type Logger,
  type Sample,
  type SamplesDocument,
  type SampleTensor,
  type Signature,
  type ValidationRecord,
} from '@switchyard/core';
import { silentLogger } from '@switchyard/core/logging';
import { runInChild, type ChildRunOptions, type ChildRunResult, type ChildStage } from './validation-runner.js';
import { zeroSample } from './zero-sample.js';
import { notLoadable } from '../onnx-signature.js';

/** Options for {@link validateVersion}. */
export interface ValidateVersionOptions {
  /** Local file of the model bytes. */
  artifactPath: string;
  /**
   * The version's signature; omit it to have the child read it from the
   * model (CreateVersion: the control plane never opens a model itself).
   */
  signature?: Signature;
  /**
   * Parsed samples document; null when the version has none. Or a function
   * of the signature read from the model, returning the document; what it
   * throws (a document that does not fit the model) is thrown from here.
   */
  samples: SamplesDocument | null | ((signature: Signature) => SamplesDocument | null);
  /**
   * Limit on loading the model and running every sample, after which the
   * child is SIGKILLed and the version REJECTED.
   * @default 30000
   */
  timeoutMs?: number;
  /** Cap on the child's memory (see ChildRunOptions.memoryLimitBytes); past it the version is REJECTED. @default no cap */
  memoryLimitBytes?: number;
  logger?: Logger;
  /**
   * Where the job runs: a fresh child per validation, or a warm pooled one
   * (ValidationPool.run, which applies its own memory cap). @default runInChild
   */
  run?: (options: ChildRunOptions) => Promise<ChildRunResult>;
}

/** The result of validating a version. */
export interface ValidationOutcome {
  record: ValidationRecord;
  /**
   * The document to store: on PASSED, samples that had no golden outputs now
   * carry the computed ones; otherwise the document as given.
   */
  samples: SamplesDocument | null;
  /** The signature the version is recorded with: the one given, or the one read from the model. */
  signature: Signature;
}

/** Default of {@link ValidateVersionOptions.timeoutMs}. */
export const DEFAULT_VALIDATION_TIMEOUT_MS = 30_000;

const seconds = (ms: number): string => `${Number((ms / 1000).toFixed(3))} s`;

const clip = (text: string, max: number): string => (text.length > max ? `${text.slice(0, max)}…` : text);

/** 1 GiB, 256 MiB, 1.5 GiB: how the limits are given. */
export function formatLimitBytes(bytes: number): string {
  const gib = bytes / 1024 ** 3;
  if (gib >= 1) return `${Number(gib.toFixed(2))} GiB`;
  return `${Number((bytes / 1024 ** 2).toFixed(1))} MiB`;
}

function stageText(stage: ChildStage, samples: Sample[], hasSamples: boolean): string {
  if (stage.phase === 'starting') return 'the validation process did not start; the control plane may be overloaded';
  if (stage.phase === 'loading') return 'onnxruntime was still loading the model';
  const name = samples[stage.index]?.name ?? `#${stage.index}`;
  return hasSamples ? `the model ran too long on sample '${name}'` : 'the model ran too long on its run on all-zero inputs';
}

function whileText(stage: ChildStage, samples: Sample[], hasSamples: boolean): string {
  if (stage.phase === 'starting') return 'while starting';
  if (stage.phase === 'loading') return 'while loading the model';
  if (!hasSamples) return 'while running all-zero inputs';
  return `while running sample '${samples[stage.index]?.name ?? `#${stage.index}`}'`;
}

/** Why a child run that did not finish rejects the version. */
function failureReason(
  result: Exclude<ChildRunResult, { kind: 'finished' | 'refused' }>,
  samples: Sample[],
  hasSamples: boolean,
  limits: { timeoutMs: number; memoryLimitBytes: number | undefined },
): string {
  const { timeoutMs } = limits;
  switch (result.kind) {
    case 'load-failed':
      return `onnxruntime cannot load the model: ${result.message}`;
    case 'run-failed':
      return hasSamples
        ? `sample '${samples[result.index]?.name ?? `#${result.index}`}' failed to run: ${result.message}`
        : `the model failed a run on all-zero inputs (variable dimensions set to 1): ${result.message}; ` +
            'if it cannot take zeros, deploy with --samples giving valid inputs';
    case 'timed-out':
      return `validation timed out after ${seconds(timeoutMs)} (${stageText(result.stage, samples, hasSamples)}; raise --validation-timeout or fix the model)`;
    case 'memory-exceeded':
      return (
        `validation used more than ${formatLimitBytes(limits.memoryLimitBytes ?? 0)} of memory ${whileText(result.stage, samples, hasSamples)} ` +
        `(${clip(result.detail.split('\n')[0] ?? '', 300)}; raise --validation-memory or fix the model)`
      );
    case 'crashed': {
      const how = result.signal ? `killed by ${result.signal}` : `exit code ${String(result.exitCode)}`;
      const stderr = result.stderr ? `; its last output: ${result.stderr.slice(-500)}` : '';
      return `the model crashed the validation process (${how}) ${whileText(result.stage, samples, hasSamples)}${stderr}`;
    }
  }
}

const hasGolden = (sample: Sample): boolean => sample.outputs !== undefined && Object.keys(sample.outputs).length > 0;

/** Compares golden outputs and records missing ones; returns the reason of the first mismatch, or ''. */
function judge(doc: SamplesDocument, outputs: Record<string, SampleTensor>[]): { reason: string; maxAbsDiff: number; filled: SamplesDocument; recorded: boolean } {
  let reason = '';
  let maxAbsDiff = 0;
  let recorded = false;
  const samples = doc.samples.map((sample, index): Sample => {
    const got = outputs[index] ?? {};
    if (!hasGolden(sample)) {
      recorded = true;
      return { ...sample, outputs: got };
    }
    const comparison = compareSample(sample.name, sample.outputs ?? {}, got, { default: doc.tolerance, outputs: sample.tolerance });
    maxAbsDiff = Math.max(maxAbsDiff, comparison.maxAbsDiff);
    reason ||= comparison.reason;
    return sample;
  });
  return { reason, maxAbsDiff, filled: { ...doc, samples }, recorded };
}

/**
 * Deploy-time validation: loads the version in a child process, runs its
 * samples (or, without samples, one run on all-zero inputs) and compares
 * the outputs with the golden ones. The version is PASSED only when it loads,
 * every sample runs, and every golden output matches within tolerance.
 * A bad model is a REJECTED outcome, never an exception.
 */
export async function validateVersion(options: ValidateVersionOptions): Promise<ValidationOutcome> {
  const started = performance.now();
  const timeoutMs = options.timeoutMs ?? DEFAULT_VALIDATION_TIMEOUT_MS;
  const logger = options.logger ?? silentLogger();
  const given = options.signature;
  const documentFor = (signature: Signature): SamplesDocument | null =>
    typeof options.samples === 'function' ? options.samples(signature) : options.samples;
  // Known up front with a given signature; otherwise once the child has read the model's.
  let doc = given ? documentFor(given) : null;
  let runs: Sample[] = [];
  let signature = given;
  const outcome = (state: ValidationRecord['state'], fields: Partial<ValidationRecord>, samples: SamplesDocument | null, recorded: Signature): ValidationOutcome => {
    const record: ValidationRecord = {
      state,
      reason: '',
      samples: 0,
      goldenRecorded: false,
      maxAbsDiff: 0,
      ...fields,
      durationMs: Math.round((performance.now() - started) * 1000) / 1000,
      validatedAt: new Date().toISOString(),
    };
    logger.info(`validation ${state}`, { artifactPath: options.artifactPath, ...record });
    return { record, samples, signature: recorded };
  };
  /** The document's runs, or one all-zero run without one; a document that does not fit is a reason to reject. */
  const plan = (read: Signature): { runs: Sample[]; misfit: string } => {
    if (doc) {
      try {
        checkSamplesAgainstSignature(doc, read);
      } catch (err) {
        if (!(err instanceof SwitchyardError)) throw err;
        return { runs: [], misfit: err.rawMessage };
      }
    }
    return { runs: doc ? doc.samples : [zeroSample(read)], misfit: '' };
  };

  if (given) {
    const planned = plan(given);
    if (planned.misfit) return outcome('REJECTED', { reason: planned.misfit }, doc, given);
    runs = planned.runs;
  }
  let misfit = '';
  let planned = false;
  const result = await (options.run ?? runInChild)({
    artifactPath: options.artifactPath,
    signature: given,
    samples: given
      ? runs
      : (read: Signature) => {
          planned = true;
          signature = read;
          doc = documentFor(read);
          ({ runs, misfit } = plan(read));
          // Nothing to run: the version is rejected for its samples below.
          return misfit ? [] : runs;
        },
    timeoutMs,
    memoryLimitBytes: options.memoryLimitBytes,
    logger,
  });
  if (result.kind === 'refused') throw result.error;
  // Bytes onnxruntime refuses are the caller's mistake, not a version to record (as when the control plane opened them itself).
  if (!given && result.kind === 'load-failed') throw notLoadable(result.message);
  signature = given ?? result.signature;
  if (!signature) {
    // Nothing readable came out of the model, so there is no version to record.
    const why = result.kind === 'finished' ? 'it reported no signature' : failureReason(result, runs, false, { timeoutMs, memoryLimitBytes: options.memoryLimitBytes });
    throw invalidArgument(`the model's signature could not be read: ${why}`);
  }
  if (misfit) return outcome('REJECTED', { reason: misfit }, doc, signature);
  if (!given && !planned) {
    // The opening never ended (a limit hit while loading): the declared signature decides what the samples must fit.
    doc = documentFor(signature);
    ({ runs, misfit } = plan(signature));
  }
  // Samples that ran to completion; the run on zeros is not a sample.
  const ran = doc && result.kind !== 'load-failed' ? result.outputs.filter(Boolean).length : 0;
  if (result.kind !== 'finished') {
    return outcome('REJECTED', { reason: failureReason(result, runs, doc !== null, { timeoutMs, memoryLimitBytes: options.memoryLimitBytes }), samples: ran }, doc, signature);
  }
  if (!doc) return outcome('PASSED', {}, null, signature);

  const { reason, maxAbsDiff, filled, recorded } = judge(doc, result.outputs);
  if (reason) return outcome('REJECTED', { reason, samples: ran, maxAbsDiff }, doc, signature);
  if (recorded) {
    const size = serializeSamplesDocument(filled).byteLength;
    if (size > MAX_SAMPLES_DOCUMENT_BYTES) {
      const mib = (n: number): string => `${(n / (1024 * 1024)).toFixed(1)} MiB`;
      return outcome(
        'REJECTED',
        {
          reason:
            `recording the computed golden outputs would make the samples document ${mib(size)}, over the ${mib(MAX_SAMPLES_DOCUMENT_BYTES)} limit; ` +
            'give golden outputs for fewer samples or use fewer samples',
          samples: ran,
          maxAbsDiff,
        },
        doc,
        signature,
      );
    }
  }
  return outcome('PASSED', { samples: ran, goldenRecorded: recorded, maxAbsDiff }, recorded ? filled : doc, signature);
}
