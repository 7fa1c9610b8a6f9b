import { performance } from 'node:perf_hooks';
import {
  MAX_SAMPLES_DOCUMENT_BYTES,
  SwitchyardError,
  checkSamplesAgainstSignature,
  compareSample,
  serializeSamplesDocument,
  type Logger,
  type Sample,
  type SamplesDocument,
  type SampleTensor,
  type Signature,
  type ValidationRecord,
} from '@switchyard/core';
import { silentLogger } from '@switchyard/core/logging';
import { runInChild, type ChildRunResult, type ChildStage } from './validation-runner.js';
import { zeroSample } from './zero-sample.js';

/** Options for {@link validateVersion}. */
export interface ValidateVersionOptions {
  /** Local file of the model bytes. */
  artifactPath: string;
  /** The version's signature, as read from the model. */
  signature: Signature;
  /** Parsed samples document; null when the version has none. */
  samples: SamplesDocument | null;
  /**
   * Limit on loading the model and running every sample, after which the
   * child is SIGKILLed and the version REJECTED.
   * @default 30000
   */
  timeoutMs?: number;
  logger?: Logger;
}

/** The result of validating a version. */
export interface ValidationOutcome {
  record: ValidationRecord;
  /**
   * The document to store: on PASSED, samples that had no golden outputs now
   * carry the computed ones; otherwise the document as given.
   */
  samples: SamplesDocument | null;
}

/** Default of {@link ValidateVersionOptions.timeoutMs}. */
export const DEFAULT_VALIDATION_TIMEOUT_MS = 30_000;

const seconds = (ms: number): string => `${Number((ms / 1000).toFixed(3))} s`;

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
function failureReason(result: Exclude<ChildRunResult, { kind: 'finished' }>, samples: Sample[], hasSamples: boolean, timeoutMs: number): string {
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
  const doc = options.samples;
  const outcome = (state: ValidationRecord['state'], fields: Partial<ValidationRecord>, samples: SamplesDocument | null): ValidationOutcome => {
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
    return { record, samples };
  };

  if (doc) {
    try {
      checkSamplesAgainstSignature(doc, options.signature);
    } catch (err) {
      if (!(err instanceof SwitchyardError)) throw err;
      return outcome('REJECTED', { reason: err.rawMessage }, doc);
    }
  }
  const runs = doc ? doc.samples : [zeroSample(options.signature)];
  const result = await runInChild({ artifactPath: options.artifactPath, signature: options.signature, samples: runs, timeoutMs, logger });
  // Samples that ran to completion; the run on zeros is not a sample.
  const ran = doc && result.kind !== 'load-failed' ? result.outputs.filter(Boolean).length : 0;
  if (result.kind !== 'finished') {
    return outcome('REJECTED', { reason: failureReason(result, runs, doc !== null, timeoutMs), samples: ran }, doc);
  }
  if (!doc) return outcome('PASSED', {}, null);

  const { reason, maxAbsDiff, filled, recorded } = judge(doc, result.outputs);
  if (reason) return outcome('REJECTED', { reason, samples: ran, maxAbsDiff }, doc);
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
      );
    }
  }
  return outcome('PASSED', { samples: ran, goldenRecorded: recorded, maxAbsDiff }, recorded ? filled : doc);
}
