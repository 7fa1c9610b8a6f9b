import {
  MAX_SAMPLES_DOCUMENT_BYTES,
  checkSamplesAgainstSignature,
  parseSamplesDocument,
  resourceExhausted,
  serializeSamplesDocument,
  type Logger,
  type SamplesDocument,
  type Signature,
  type ValidationRecord,
  type VersionRecord,
} from '@switchyard/core';
import pLimit, { type LimitFunction } from 'p-limit';
import type { ArtifactStore } from './artifact-store.js';
import { DEFAULT_VALIDATION_TIMEOUT_MS, ValidationPool, validateVersion, type ValidateVersionOptions, type ValidationOutcome } from './validation/index.js';

/**
 * The samples document of a CreateVersion request, checked against the
 * model's signature; null when the request has none. Run before validation,
 * so a malformed document is the caller's error and not a rejected version.
 * @throws RESOURCE_EXHAUSTED over the size limit; INVALID_ARGUMENT for a
 *   document that is not valid or does not fit the model, naming the path.
 */
export function readRequestSamples(bytes: Uint8Array | undefined, signature: Signature): SamplesDocument | null {
  if (!bytes || bytes.byteLength === 0) return null;
  if (bytes.byteLength > MAX_SAMPLES_DOCUMENT_BYTES) {
    const mib = (n: number): string => `${(n / (1024 * 1024)).toFixed(1)} MiB`;
    throw resourceExhausted(
      `samples_json is ${mib(bytes.byteLength)}; the limit is ${mib(MAX_SAMPLES_DOCUMENT_BYTES)}: use fewer or smaller samples`,
    );
  }
  const doc = parseSamplesDocument(bytes);
  checkSamplesAgainstSignature(doc, signature);
  return doc;
}

/** What validation adds to a version record. */
export interface DeployValidationResult {
  /** The version's signature: the one given, or the one the validation child read from the model. */
  signature: Signature;
  validation: ValidationRecord;
  /** The stored samples document; null when the version has none. */
  samples: VersionRecord['samples'];
}

/** Options for {@link DeployValidation}. */
export interface DeployValidationOptions {
  /** Where the samples document is stored, next to the artifacts. */
  artifacts: ArtifactStore;
  /** The local file of an artifact, which the validation process loads. */
  artifactPath: (sha256: string) => string;
  /** @default DEFAULT_VALIDATION_TIMEOUT_MS (30 s) */
  timeoutMs?: number;
  /** Cap on each validation process's memory. @default no cap */
  memoryLimitBytes?: number;
  logger: Logger;
  /**
   * Validations running at once. Each is a process loading the whole model,
   * so a burst of deploys must queue instead of exhausting memory and cores.
   * @default 2
   */
  maxConcurrent?: number;
  /** @default validateVersion */
  validate?: (options: ValidateVersionOptions) => Promise<ValidationOutcome>;
}

/**
 * Deploy-time validation as CreateVersion needs it: runs the version's
 * samples in a child process and keeps the samples document (with the golden
 * outputs validation recorded) in the artifact store under its own sha256,
 * PASSED or REJECTED alike, so what was checked can be read later.
 */
export class DeployValidation {
  readonly #artifacts: ArtifactStore;
  readonly #artifactPath: (sha256: string) => string;
  readonly #timeoutMs: number;
  readonly #memoryLimitBytes: number | undefined;
  readonly #logger: Logger;
  readonly #validate: (options: ValidateVersionOptions) => Promise<ValidationOutcome>;
  readonly #limit: LimitFunction;
  readonly #pool: ValidationPool;

  constructor(options: DeployValidationOptions) {
    this.#artifacts = options.artifacts;
    this.#artifactPath = options.artifactPath;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_VALIDATION_TIMEOUT_MS;
    this.#memoryLimitBytes = options.memoryLimitBytes;
    this.#logger = options.logger;
    this.#validate = options.validate ?? validateVersion;
    this.#limit = pLimit(options.maxConcurrent ?? 2);
    // One warm child per validation that may run at once.
    this.#pool = new ValidationPool({
      size: options.maxConcurrent ?? 2,
      ...(options.memoryLimitBytes !== undefined ? { memoryLimitBytes: options.memoryLimitBytes } : {}),
      logger: options.logger,
    });
  }

  /** Kills the warm validation children. */
  close(): Promise<void> {
    return this.#pool.close();
  }

  /**
   * Validates the artifact against its samples (or one run on zeros when
   * null) and stores the samples. Without `signature` the validation child
   * reads it from the model, and `samples` may be a function of it.
   * @throws INVALID_ARGUMENT when the model cannot be loaded or served, or
   *   what `samples` throws.
   */
  async run(
    sha256: string,
    signature: Signature | undefined,
    samples: SamplesDocument | null | ((signature: Signature) => SamplesDocument | null),
  ): Promise<DeployValidationResult> {
    // The time limit starts inside validate, once the child runs: queueing here does not eat into it.
    const outcome = await this.#limit(() =>
      this.#validate({
        artifactPath: this.#artifactPath(sha256),
        signature,
        samples,
        timeoutMs: this.#timeoutMs,
        memoryLimitBytes: this.#memoryLimitBytes,
        logger: this.#logger,
        run: (job) => this.#pool.run(job),
      }),
    );
    if (!outcome.samples) return { signature: outcome.signature, validation: outcome.record, samples: null };
    const bytes = serializeSamplesDocument(outcome.samples);
    const stored = await this.#artifacts.put(oneChunk(bytes), { expectedSize: bytes.byteLength, maxBytes: bytes.byteLength });
    return {
      signature: outcome.signature,
      validation: outcome.record,
      samples: { sha256: stored.sha256, size: stored.size, count: outcome.samples.samples.length },
    };
  }
}

async function* oneChunk(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}
