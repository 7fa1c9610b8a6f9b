import ort from 'onnxruntime-node';
import { elementBytes, failedPrecondition, invalidArgument, toOrtType, type Signature, type VersionRecord } from '@switchyard/core';
import type { ArtifactCache } from './artifact-cache.js';
import { LoadedVersion } from './loaded-version.js';
import type { VersionStats } from './version-stats.js';

/** Options for {@link ModelLoader}. */
export interface ModelLoaderOptions {
  cache: ArtifactCache;
  /** Threads onnxruntime may use inside one run. @default 1 */
  intraOpThreads?: number;
  statsFor: (record: VersionRecord) => VersionStats;
}

/**
 * Turns a version record into a warmed, ready-to-serve session: fetch and
 * verify the artifact, create the session, check it matches the recorded
 * signature, and run it once so the first real request does not pay for
 * onnxruntime's lazy initialisation.
 */
export class ModelLoader {
  constructor(private readonly options: ModelLoaderOptions) {}

  async load(record: VersionRecord): Promise<LoadedVersion> {
    const started = performance.now();
    const path = await this.options.cache.ensure(record.artifact.sha256, record.artifact.size);
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(path, {
        intraOpNumThreads: this.options.intraOpThreads ?? 1,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      });
    } catch (err) {
      throw invalidArgument(`onnxruntime cannot load the artifact: ${(err as Error).message}`);
    }
    try {
      checkSignature(session, record.signature);
      await session.run(warmupFeeds(record.signature));
    } catch (err) {
      await session.release().catch(() => undefined);
      throw err;
    }
    return new LoadedVersion(record, session, this.options.statsFor(record), performance.now() - started);
  }
}

function checkSignature(session: ort.InferenceSession, signature: Signature): void {
  const inputs = new Set(session.inputNames);
  const outputs = new Set(session.outputNames);
  const missing = [
    ...signature.inputs.filter((t) => !inputs.has(t.name)).map((t) => `input ${t.name}`),
    ...signature.outputs.filter((t) => !outputs.has(t.name)).map((t) => `output ${t.name}`),
  ];
  if (missing.length > 0 || inputs.size !== signature.inputs.length) {
    throw failedPrecondition(
      `the artifact does not match the version's recorded signature (${missing.join(', ') || 'input count differs'}); create a new version from it`,
    );
  }
}

/** One all-zero input per tensor, variable dimensions set to 1. */
function warmupFeeds(signature: Signature): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const spec of signature.inputs) {
    const shape = spec.shape.map((d) => (d < 0 ? 1 : d));
    const count = shape.reduce((a, b) => a * b, 1);
    const type = toOrtType(spec.datatype);
    const bytes = new ArrayBuffer(count * elementBytes(spec.datatype));
    const data =
      type === 'int64' ? new BigInt64Array(bytes)
      : type === 'uint64' ? new BigUint64Array(bytes)
      : type === 'float32' ? new Float32Array(bytes)
      : type === 'float64' ? new Float64Array(bytes)
      : type === 'int32' ? new Int32Array(bytes)
      : type === 'uint32' ? new Uint32Array(bytes)
      : type === 'int16' ? new Int16Array(bytes)
      : type === 'uint16' ? new Uint16Array(bytes)
      : type === 'int8' ? new Int8Array(bytes)
      : new Uint8Array(bytes);
    feeds[spec.name] = new ort.Tensor(type, data as never, shape);
  }
  return feeds;
}
