import { readFile } from 'node:fs/promises';
import ort from 'onnxruntime-node';
import {
  elementBytes,
  failedPrecondition,
  invalidArgument,
  toOrtType,
  type Logger,
  type Signature,
  type VersionRecord,
} from '@switchyard/core';
import { silentLogger } from '@switchyard/core/logging';
import { linearModel } from '@switchyard/core/onnx';
import type { ArtifactCache } from './artifact-cache.js';
import { shapeDeterminedCost } from './graph-cost.js';
import { LoadedVersion } from './loaded-version.js';
import { GuardedSession } from './session-guarded.js';
import { sessionOptions, type VersionSession } from './session-interface.js';
import { InlineSession } from './session-inline.js';
import { SessionProcess, type SessionProcessOptions } from './session-process.js';
import { WorkerSession } from './worker-session.js';
import type { VersionStats } from './version-stats.js';
import pLimit from 'p-limit';

/** The default of {@link ModelLoaderOptions.inlineRunLimitMs}. */
export const DEFAULT_INLINE_RUN_LIMIT_MS = 2;

/**
 * Where sessions run: `auto` decides per version from its warm-up run,
 * `inline` keeps every session on the main thread, `worker` gives every
 * version a worker thread.
 */
export type SessionHosting = 'auto' | 'inline' | 'worker';

/** The default of {@link ModelLoaderOptions.runTimeoutMs}. */
export const DEFAULT_RUN_TIMEOUT_MS = 30_000;
/** The default of {@link ModelLoaderOptions.loadTimeoutMs}. */
export const DEFAULT_LOAD_TIMEOUT_MS = 60_000;
/** The default of {@link ModelLoaderOptions.runMemoryLimitBytes}. */
export const DEFAULT_RUN_MEMORY_LIMIT_BYTES = 4 * 1024 * 1024 * 1024;
/** The default of {@link ModelLoaderOptions.inlineCreateLimitMs}. */
export const DEFAULT_INLINE_CREATE_LIMIT_MS = 100;

/** Options for {@link ModelLoader}. */
export interface ModelLoaderOptions {
  cache: ArtifactCache;
  /** Threads onnxruntime may use inside one run. @default 1 */
  intraOpThreads?: number;
  statsFor: (record: VersionRecord) => VersionStats;
  /**
   * With `sessionHosting: 'auto'`, a version whose warm-up run takes longer
   * than this is hosted in a worker thread of its own. A worker hop costs
   * ≈ 30–100 µs, and onnxruntime blocks the event loop for a whole run, so
   * this bounds how long one request can hold up health checks and other
   * requests. @default 2
   */
  inlineRunLimitMs?: number;
  /** @default 'auto' */
  sessionHosting?: SessionHosting;
  /**
   * Under `auto`, an artifact at least this large goes straight to a worker
   * thread without a timed run on the main thread first: timing it there
   * would load it twice, and memory freed on the main thread is not handed
   * back to the system (measured: +181 MB of RSS for a 52 MB model loaded
   * inline, released and loaded in a worker, +80 MB loaded in a worker
   * directly). @default 32 MiB
   */
  workerArtifactBytes?: number;
  /** Called when the worker thread of a version dies (it is restarted). */
  onWorkerCrash?: (record: VersionRecord) => void;
  /**
   * Longest run of a version, for runs that can be stopped (those in a
   * session process); a run past it fails with DEADLINE_EXCEEDED and its
   * process is replaced. The caller's deadline shortens it. @default 30000
   */
  runTimeoutMs?: number;
  /** Longest session creation in a process (a load past it fails, and is retried later). @default 60000 */
  loadTimeoutMs?: number;
  /** Address-space limit of each session process (RLIMIT_AS): bounds the memory of one run. @default 4 GiB */
  runMemoryLimitBytes?: number;
  /** Outputs of one run in a process above this fail with RESOURCE_EXHAUSTED. @default no limit */
  maxOutputBytes?: number;
  /**
   * A version whose session creation folds constants is created in a process
   * first; if that took longer than this, its session is created in a worker
   * thread rather than on the main thread. @default 100
   */
  inlineCreateLimitMs?: number;
  /** Called when a session process was killed (a run's time-out, memory) or died. */
  onRunProcessLost?: (record: VersionRecord) => void;
  logger?: Logger;
}

/** The default of {@link ModelLoaderOptions.workerArtifactBytes}. */
export const DEFAULT_WORKER_ARTIFACT_BYTES = 32 * 1024 * 1024;

/**
 * How many times the limit a first (cold) run may take and still be timed
 * again: a cold run pays onnxruntime's lazy set-up (≈ 1 ms measured) and a
 * busy machine slows any run, so a version near the limit is decided on the
 * fastest of up to {@link RETIMES} warm runs, while a clearly slow one does
 * not block the loop a second time.
 */
const RETIME_FACTOR = 10;
const RETIMES = 3;

/**
 * Session creation and the warm-up timing of main-thread loads, one at a
 * time per process (the main thread is per process, whatever the number of
 * nodes in it). Both are synchronous native work run from setImmediate, so
 * a timed run measured while another version's session was being created
 * counted that creation too: three versions deployed at once sometimes put
 * a 12 µs model into a worker thread (measured 1 load in 18 in the bench),
 * and every request to it then paid the thread hop. Downloads stay parallel.
 */
const mainThreadLoads = pLimit(1);

/** Session creation plus warm-up of every load, one at a time per process, so the resident-memory growth across it is that load's. */
const measuredLoads = pLimit(1);

let onnxruntimeWarmed: Promise<void> | undefined;

/**
 * onnxruntime's first session in a process costs ≈ 28 MB of resident memory
 * that no later one does (its code pages, thread pool, allocators; measured
 * with a 2-weight linear model). Paid once before the first measured load,
 * so that load is not charged for it.
 */
async function warmOnnxruntime(): Promise<void> {
  try {
    const session = await ort.InferenceSession.create(linearModel({ weights: [1, 1], bias: 0 }), sessionOptions(1));
    await session.run({ x: new ort.Tensor('float32', new Float32Array(2), [1, 2]) });
    await session.release();
  } catch {
    // Only a better measurement was at stake.
  }
}

/**
 * Turns a version record into a warmed, ready-to-serve session: fetch and
 * verify the artifact, create the session, check it matches the recorded
 * signature, and run it once so the first real request does not pay for
 * onnxruntime's lazy initialisation. A version whose run is slow moves to a
 * worker thread (see {@link ModelLoaderOptions.inlineRunLimitMs}).
 */
export class ModelLoader {
  constructor(private readonly options: ModelLoaderOptions) {}

  async load(record: VersionRecord): Promise<LoadedVersion> {
    const started = performance.now();
    const path = await this.options.cache.ensure(record.artifact.sha256, record.artifact.size);
    // Issue #16: a version's cost is the resident-memory growth across its
    // creation and warm-up; one measured load at a time keeps it attributable
    // (fetches stay parallel). Never below the artifact's size: memory freed
    // by an earlier unload and reused here would hide part of the growth.
    return measuredLoads(async () => {
      await (onnxruntimeWarmed ??= warmOnnxruntime());
      const before = process.memoryUsage.rss();
      const loaded = await this.create(record, path, started);
      loaded.memoryBytes = Math.max(record.artifact.size, process.memoryUsage.rss() - before);
      return loaded;
    });
  }

  private async create(record: VersionRecord, path: string, started: number): Promise<LoadedVersion> {
    const o = this.options;
    const processOptions: SessionProcessOptions = {
      path,
      options: sessionOptions(o.intraOpThreads ?? 1),
      label: `model '${record.model}' version '${record.version}'`,
      loadTimeoutMs: o.loadTimeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS,
      memoryLimitBytes: o.runMemoryLimitBytes ?? DEFAULT_RUN_MEMORY_LIMIT_BYTES,
      ...(o.maxOutputBytes !== undefined ? { maxOutputBytes: o.maxOutputBytes } : {}),
    };
    const runTimeoutMs = o.runTimeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
    const verdict = shapeDeterminedCost(await readFile(path));
    let fast: VersionSession | undefined;
    let first: SessionProcess | undefined;
    if (!verdict.shapeDetermined) {
      // Whatever the hosting option says: only a process can stop such a run.
      first = await this.inProcess(processOptions, record, runTimeoutMs);
      (o.logger ?? silentLogger()).info('model version runs in a session process: its cost can depend on the values of a request', {
        model: record.model,
        version: record.version,
        reason: verdict.reason,
      });
    } else {
      const createMs = verdict.foldsConstants ? await this.probe(processOptions) : 0;
      const hosting = o.sessionHosting ?? 'auto';
      const large = record.artifact.size >= (o.workerArtifactBytes ?? DEFAULT_WORKER_ARTIFACT_BYTES);
      const slowCreate = createMs > (o.inlineCreateLimitMs ?? DEFAULT_INLINE_CREATE_LIMIT_MS);
      fast =
        hosting === 'worker' || (hosting === 'auto' && (large || slowCreate)) ? await this.inWorker(path, record, undefined) : await this.inlineOrWorker(path, record, hosting);
      if (!fast) first = await this.inProcess(processOptions, record, runTimeoutMs);
    }
    const session = new GuardedSession({
      fast,
      measuredShapes: warmupShapes(record.signature),
      process: processOptions,
      ...(first ? { first } : {}),
      runTimeoutMs,
      logger: o.logger ?? silentLogger(),
      ...(o.onRunProcessLost ? { onProcessLost: () => o.onRunProcessLost!(record) } : {}),
    });
    return new LoadedVersion(record, session, this.options.statsFor(record), performance.now() - started);
  }

  /** A session in a process of its own, checked and warmed up, within the load and run limits. */
  private async inProcess(options: SessionProcessOptions, record: VersionRecord, runTimeoutMs: number): Promise<SessionProcess> {
    const proc = await SessionProcess.start(options);
    try {
      checkSignature(proc, record.signature);
      await proc.run(warmupFeeds(record.signature), undefined, { timeoutMs: runTimeoutMs });
    } catch (err) {
      await proc.release();
      throw err;
    }
    return proc;
  }

  /**
   * Creates the session once in a process, where a creation that does not
   * end can be stopped, and says how long creation took: the main thread
   * creates only what was seen to be quick.
   */
  private async probe(options: SessionProcessOptions): Promise<number> {
    const proc = await SessionProcess.start(options);
    await proc.release();
    return proc.createMs;
  }

  /** Loads on the main thread; under `auto`, moves to a worker if the warm-up run is over the limit. */
  private async inlineOrWorker(path: string, record: VersionRecord, hosting: SessionHosting): Promise<VersionSession | undefined> {
    const inline = await mainThreadLoads(() => this.inline(path, record, hosting));
    return inline instanceof InlineSession ? inline : this.inWorker(path, record, inline.slowRunMs);
  }

  /** The session on the main thread, or how slow its warm-up run was when it belongs in a worker. */
  private async inline(path: string, record: VersionRecord, hosting: SessionHosting): Promise<InlineSession | { slowRunMs: number }> {
    const limit = this.options.inlineRunLimitMs ?? DEFAULT_INLINE_RUN_LIMIT_MS;
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(path, sessionOptions(this.options.intraOpThreads ?? 1));
    } catch (err) {
      throw invalidArgument(`onnxruntime cannot load the artifact: ${(err as Error).message}`);
    }
    let runMs: number;
    try {
      checkSignature(session, record.signature);
      const feeds = warmupFeeds(record.signature);
      runMs = await timedRun(session, feeds);
      if (hosting === 'auto' && runMs <= limit * RETIME_FACTOR) {
        for (let i = 0; i < RETIMES && runMs > limit; i++) runMs = Math.min(runMs, await timedRun(session, feeds));
      }
    } catch (err) {
      await session.release().catch(() => undefined);
      throw err;
    }
    if (hosting !== 'auto' || runMs <= limit) return new InlineSession(session);
    await session.release();
    return { slowRunMs: runMs };
  }

  /** A worker-thread session, or undefined when its warm-up run took longer than the run time-out. */
  private async inWorker(path: string, record: VersionRecord, inlineRunMs: number | undefined): Promise<VersionSession | undefined> {
    const logger = this.options.logger ?? silentLogger();
    const session = await WorkerSession.create({
      path,
      options: sessionOptions(this.options.intraOpThreads ?? 1),
      label: `model '${record.model}' version '${record.version}'`,
      logger,
      warmup: () => warmupFeeds(record.signature),
      ...(this.options.onWorkerCrash ? { onCrash: () => this.options.onWorkerCrash!(record) } : {}),
    });
    let warmupMs: number;
    try {
      checkSignature(session, record.signature);
      const started = performance.now();
      await session.run(warmupFeeds(record.signature));
      warmupMs = performance.now() - started;
    } catch (err) {
      await session.release();
      throw err;
    }
    const runTimeoutMs = this.options.runTimeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
    if (warmupMs > runTimeoutMs) {
      // A thread cannot stop a run: one this slow would pass the run time-out every time.
      await session.release();
      logger.warn('model version warm-up ran past the run time-out in a worker thread; its runs go to a session process', {
        model: record.model,
        version: record.version,
        warmupRunMs: Math.round(warmupMs),
        runTimeoutMs,
      });
      return undefined;
    }
    logger.info('model version hosted in a worker thread', {
      model: record.model,
      version: record.version,
      artifactBytes: record.artifact.size,
      ...(inlineRunMs === undefined ? {} : { warmupRunMs: Math.round(inlineRunMs * 100) / 100, inlineRunLimitMs: this.options.inlineRunLimitMs ?? DEFAULT_INLINE_RUN_LIMIT_MS }),
    });
    return session;
  }
}

async function timedRun(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>): Promise<number> {
  const t = performance.now();
  await session.run(feeds);
  return performance.now() - t;
}

function checkSignature(session: { inputNames: readonly string[]; outputNames: readonly string[] }, signature: Signature): void {
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

/** The input shapes of {@link warmupFeeds}: variable dimensions set to 1. */
function warmupShapes(signature: Signature): Map<string, number[]> {
  return new Map(signature.inputs.map((spec) => [spec.name, spec.shape.map((d) => (d < 0 ? 1 : d))]));
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
