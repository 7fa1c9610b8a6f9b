import { readFile } from 'node:fs/promises';
import ort from 'onnxruntime-node';
import {
  isFixedSize,
  failedPrecondition,
  invalidArgument,
  parseSamplesDocument,
  resolveRuntime,
  toOrtType,
  zeroArray,
  type Logger,
  type ResolvedRuntime,
  type Signature,
  type VersionRecord,
} from '@switchyard/core';
import { sampleFeeds } from '@switchyard/core/ort';
import { silentLogger } from '@switchyard/core/logging';
import { linearModel } from '@switchyard/core/onnx';
import type { ArtifactCache } from './artifact-cache.js';
import { shapeDeterminedCost, type CostVerdict } from './graph-cost.js';
import { trimHeapSoon } from './heap-trim.js';
import { LoadedVersion } from './loaded-version.js';
import { concatFeeds } from './batch-tensors.js';
import { QueueStats } from './queue-metrics.js';
import { VersionQueue } from './version-queue.js';
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

/** A version ready for session creation: {@link ModelLoader.prepare}'s result. */
export interface PreparedVersion {
  record: VersionRecord;
  /** The verified artifact in the node's cache. */
  path: string;
  verdict: CostVerdict;
  /** performance.now() when its load started. */
  started: number;
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
 * Pays onnxruntime's first-session cost once per process (see
 * warmOnnxruntime); the node does it before taking its idle memory baseline
 * (memory-ledger.ts), so the baseline includes it.
 */
export function onnxruntimeReady(): Promise<void> {
  return (onnxruntimeWarmed ??= warmOnnxruntime());
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

  /**
   * @param runtime the settings in force (the version's over its model's);
   *   @default the version's own over the built-in defaults
   */
  async load(record: VersionRecord, runtime: ResolvedRuntime = resolveRuntime(undefined, record.runtime)): Promise<LoadedVersion> {
    return this.create(await this.prepare(record), runtime);
  }

  /**
   * The part of a load that needs no session: the artifact fetched (or found
   * on disk) and verified, read, and its graph judged. Loads run it ahead of
   * {@link create}, several at once (load-pipeline.ts).
   */
  async prepare(record: VersionRecord): Promise<PreparedVersion> {
    const started = performance.now();
    const path = await this.options.cache.ensure(record.artifact.sha256, record.artifact.size);
    return { record, path, verdict: shapeDeterminedCost(await readFile(path)), started };
  }

  /** Creates, checks and warms the session(s) of a prepared version, hosted as its verdict, its settings and the options say. */
  async create(prepared: PreparedVersion, runtime: ResolvedRuntime = resolveRuntime(undefined, prepared.record.runtime)): Promise<LoadedVersion> {
    // Issue #16: a version's cost is the resident-memory growth across its
    // creation and warm-up; one measured creation at a time keeps it
    // attributable (prepares stay parallel). Never below the artifact's size:
    // memory freed by an earlier unload and reused here would hide part of the growth.
    return measuredLoads(async () => {
      await onnxruntimeReady();
      const before = process.memoryUsage.rss();
      const loaded = await this.createSessions(prepared, runtime);
      // A session process holds its memory outside this process's resident set: its own, read after its load and warm-up, is the version's too.
      loaded.memoryBytes = Math.max(prepared.record.artifact.size, process.memoryUsage.rss() - before + loaded.processRssBytes());
      return loaded;
    });
  }

  private async createSessions(prepared: PreparedVersion, runtime: ResolvedRuntime): Promise<LoadedVersion> {
    const { record, path, verdict, started } = prepared;
    const sessionStarted = performance.now();
    const o = this.options;
    const warm = await this.warmup(record, runtime);
    const plan: LoadPlan = { record, runtime, warm, threads: runtime.intraOpThreads || (o.intraOpThreads ?? 1), batchRowsMs: undefined };
    const processOptions: SessionProcessOptions = {
      path,
      options: sessionOptions(plan.threads),
      label: `model '${record.model}' version '${record.version}'`,
      loadTimeoutMs: o.loadTimeoutMs ?? DEFAULT_LOAD_TIMEOUT_MS,
      memoryLimitBytes: o.runMemoryLimitBytes ?? DEFAULT_RUN_MEMORY_LIMIT_BYTES,
      ...(o.maxOutputBytes !== undefined ? { maxOutputBytes: o.maxOutputBytes } : {}),
    };
    // The version's own limit, else the node's (issue #17); the caller's deadline shortens either.
    const runTimeoutMs = runtime.runTimeoutMs || (o.runTimeoutMs ?? DEFAULT_RUN_TIMEOUT_MS);
    let fast: VersionSession[] | undefined;
    let processes: SessionProcess[] | undefined;
    if (!verdict.shapeDetermined) {
      // Whatever the hosting option says: only a process can stop such a run.
      processes = await this.inProcesses(processOptions, plan, runTimeoutMs);
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
      const threaded = hosting === 'worker' || runtime.instances > 1 || (hosting === 'auto' && (large || slowCreate));
      fast = threaded ? await this.inWorker(path, plan, undefined, runTimeoutMs) : await this.inlineOrWorker(path, plan, hosting, runTimeoutMs);
      if (!fast) processes = await this.inProcesses(processOptions, plan, runTimeoutMs);
    }
    const measuredRows = measuredRowsOf(plan, this.options.inlineRunLimitMs ?? DEFAULT_INLINE_RUN_LIMIT_MS, runTimeoutMs, fast?.[0]?.host);
    // One guarded session per instance: over a fast session each, or over a process each when every run goes to one.
    const sessions = Array.from(
      { length: (fast ?? processes!).length },
      (_, i) =>
        new GuardedSession({
          fast: fast?.[i],
          measuredShapes: shapesOf(warm.feeds()),
          ...(measuredRows > 0 ? { measuredRows } : {}),
          process: processOptions,
          ...(processes ? { first: processes[i] } : {}),
          runTimeoutMs,
          logger: o.logger ?? silentLogger(),
          ...(o.onRunProcessLost ? { onProcessLost: () => o.onRunProcessLost!(record) } : {}),
        }),
    );
    const label = `model '${record.model}' version '${record.version}'`;
    const queue = new VersionQueue({
      sessions,
      settings: runtime,
      batchable: measuredRows >= runtime.maxBatchSize && batchableInputs(record.signature),
      pipelined: true,
      stats: new QueueStats(record.model, record.version),
      label,
      logger: o.logger ?? silentLogger(),
    });
    // Loading leaves garbage in native heap (the artifact read for its graph, creation buffers): give it back (heap-trim.ts).
    trimHeapSoon();
    const ended = performance.now();
    return new LoadedVersion(record, sessions[0]!, this.options.statsFor(record), ended - started, { sessions, queue, runtime, warmupSource: warm.source }, ended - sessionStarted);
  }

  /**
   * The warm-up feeds: the version's first sample when it has samples (a
   * model may not run on zeros, e.g. one that pads by reflection), zeros
   * with variable dimensions 1 otherwise, or when its settings ask for zeros.
   */
  private async warmup(record: VersionRecord, runtime: ResolvedRuntime): Promise<Warmup> {
    if (record.samples && record.samples.count > 0 && runtime.warmup === 'samples') {
      const path = await this.options.cache.ensure(record.samples.sha256, record.samples.size);
      const doc = parseSamplesDocument(await readFile(path));
      const sample = doc.samples[0]!;
      return { source: 'samples', feeds: () => sampleFeeds(sample, record.signature) as Record<string, ort.Tensor> };
    }
    return { source: 'zeros', feeds: () => warmupFeeds(record.signature) };
  }

  /**
   * One session process per instance (runtime `instances`, sharing the
   * version's queue), each checked and warmed up within the load and run
   * limits; if any fails, all are ended.
   */
  private async inProcesses(options: SessionProcessOptions, plan: LoadPlan, runTimeoutMs: number): Promise<SessionProcess[]> {
    const started = await Promise.allSettled(
      Array.from({ length: plan.runtime.instances }, async () => {
        const proc = await SessionProcess.start(options);
        try {
          checkSignature(proc, plan.record.signature);
          await proc.run(plan.warm.feeds(), undefined, { timeoutMs: runTimeoutMs });
        } catch (err) {
          await proc.release();
          throw err;
        }
        return proc;
      }),
    );
    const procs = started.flatMap((p) => (p.status === 'fulfilled' ? [p.value] : []));
    const failed = started.find((p): p is PromiseRejectedResult => p.status === 'rejected');
    if (failed) {
      await Promise.all(procs.map((p) => p.release()));
      throw failed.reason;
    }
    return procs;
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
  private async inlineOrWorker(path: string, plan: LoadPlan, hosting: SessionHosting, runTimeoutMs: number): Promise<VersionSession[] | undefined> {
    const inline = await mainThreadLoads(() => this.inline(path, plan, hosting));
    return inline instanceof InlineSession ? [inline] : this.inWorker(path, plan, inline.slowRunMs, runTimeoutMs);
  }

  /** The session on the main thread, or how slow its warm-up run was when it belongs in a worker. */
  private async inline(path: string, plan: LoadPlan, hosting: SessionHosting): Promise<InlineSession | { slowRunMs: number }> {
    const record = plan.record;
    const limit = this.options.inlineRunLimitMs ?? DEFAULT_INLINE_RUN_LIMIT_MS;
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(path, sessionOptions(plan.threads));
    } catch (err) {
      throw invalidArgument(`onnxruntime cannot load the artifact: ${(err as Error).message}`);
    }
    let runMs: number;
    try {
      checkSignature(session, record.signature);
      const feeds = plan.warm.feeds();
      runMs = await timedRun(session, feeds);
      if (hosting === 'auto' && runMs <= limit * RETIME_FACTOR) {
        for (let i = 0; i < RETIMES && runMs > limit; i++) runMs = Math.min(runMs, await timedRun(session, feeds));
      }
      if (batchingWanted(plan)) {
        // The fastest of a few runs: one slow run on a busy machine must not cost a small model the thread hop on every request.
        for (let i = 0; i < RETIMES && hosting === 'auto' && runMs > BATCH_ON_MAIN_THREAD_MS; i++) runMs = Math.min(runMs, await timedRun(session, feeds));
        if (hosting === 'auto' && runMs > BATCH_ON_MAIN_THREAD_MS) {
          // Batching pays only while the main thread serves gRPC: a model worth batching computes elsewhere.
          await session.release();
          return { slowRunMs: runMs };
        }
        const batch = batchFeeds(plan);
        plan.batchRowsMs = await timedRun(session, batch);
        for (let i = 0; i < RETIMES && plan.batchRowsMs > limit; i++) plan.batchRowsMs = Math.min(plan.batchRowsMs, await timedRun(session, batch));
      }
    } catch (err) {
      await session.release().catch(() => undefined);
      throw err;
    }
    if (hosting !== 'auto' || (runMs <= limit && (plan.batchRowsMs ?? 0) <= limit)) return new InlineSession(session);
    await session.release();
    return { slowRunMs: runMs };
  }

  /** A worker-thread session, or undefined when its warm-up run took longer than the run time-out. */
  private async inWorker(path: string, plan: LoadPlan, inlineRunMs: number | undefined, runTimeoutMs: number): Promise<VersionSession[] | undefined> {
    const record = plan.record;
    const logger = this.options.logger ?? silentLogger();
    const created = await Promise.allSettled(
      Array.from({ length: plan.runtime.instances }, () =>
        WorkerSession.create({
          path,
          options: sessionOptions(plan.threads),
          label: `model '${record.model}' version '${record.version}'`,
          logger,
          warmup: plan.warm.feeds,
          ...(this.options.onWorkerCrash ? { onCrash: () => this.options.onWorkerCrash!(record) } : {}),
        }),
      ),
    );
    const sessions = created.flatMap((c) => (c.status === 'fulfilled' ? [c.value] : []));
    const failed = created.find((c): c is PromiseRejectedResult => c.status === 'rejected');
    let warmupMs: number;
    try {
      if (failed) throw failed.reason;
      const session = sessions[0]!;
      checkSignature(session, record.signature);
      const started = performance.now();
      await session.run(plan.warm.feeds());
      warmupMs = performance.now() - started;
      await Promise.all(sessions.slice(1).map((s) => s.run(plan.warm.feeds())));
      if (batchingWanted(plan)) {
        const batchStarted = performance.now();
        await session.run(batchFeeds(plan));
        plan.batchRowsMs = performance.now() - batchStarted;
      }
    } catch (err) {
      await Promise.all(sessions.map((s) => s.release()));
      throw err;
    }
    const session = sessions[0]!;
    if (warmupMs > runTimeoutMs) {
      // A thread cannot stop a run: one this slow would pass the run time-out every time.
      await Promise.all(sessions.map((s) => s.release()));
      logger.warn('model version warm-up ran past the run time-out in a worker thread; its runs go to a session process', {
        model: record.model,
        version: record.version,
        warmupRunMs: Math.round(warmupMs),
        runTimeoutMs,
      });
      return undefined;
    }
    logger.info('model version hosted in worker threads', {
      model: record.model,
      version: record.version,
      instances: sessions.length,
      artifactBytes: record.artifact.size,
      ...(inlineRunMs === undefined ? {} : { warmupRunMs: Math.round(inlineRunMs * 100) / 100, inlineRunLimitMs: this.options.inlineRunLimitMs ?? DEFAULT_INLINE_RUN_LIMIT_MS }),
    });
    return sessions;
  }
}

/** How a version's warm-up runs are fed. */
interface Warmup {
  source: 'samples' | 'zeros';
  /** Fresh feeds on every call (a run may transfer their buffers). */
  feeds: () => Record<string, ort.Tensor>;
}

/** One load's inputs and what it measured on the way. */
interface LoadPlan {
  record: VersionRecord;
  runtime: ResolvedRuntime;
  warm: Warmup;
  threads: number;
  /** How long a warm-up run of `maxBatchSize` rows took on the fast session, when batching. */
  batchRowsMs: number | undefined;
}

/**
 * A version with batching whose single run takes longer than this is hosted
 * in worker threads: on the main thread a run blocks it, no request can
 * arrive meanwhile, so nothing would ever be batched. A run below it costs
 * less than the thread hop (≈ 30–100 µs) it would save nothing against: a
 * linear model (≈ 12 µs) stays inline. It was 0.25 ms, within reach of the
 * 256→1024×4 MLP's own run (0.30 ms median, fastest of four at times below
 * 0.25): with `maxBatchSize` 16, whose 16-row run also fits the inline
 * limit, that MLP stayed on the main thread in some loads and was never
 * batched (bench: 1.08× the bare server instead of 2.7×).
 */
const BATCH_ON_MAIN_THREAD_MS = 0.1;

function batchingWanted(plan: LoadPlan): boolean {
  return plan.runtime.maxBatchSize > 1 && batchableInputs(plan.record.signature);
}

/** Whether every input has a variable first dimension (the rows of a batch). */
function batchableInputs(signature: Signature): boolean {
  return signature.inputs.every((t) => t.shape.length > 0 && t.shape[0] === -1);
}

/** The warm-up feeds repeated to `maxBatchSize` rows: the largest batch the version will run. */
function batchFeeds(plan: LoadPlan): Record<string, ort.Tensor> {
  const one = plan.warm.feeds();
  const rows = Object.values(one)[0]!.dims[0]!;
  const max = plan.runtime.maxBatchSize;
  const tiled = concatFeeds(Array.from({ length: Math.ceil(max / rows) }, () => one), Math.ceil(max / rows) * rows);
  const out: Record<string, ort.Tensor> = {};
  for (const [name, t] of Object.entries(tiled)) {
    const per = (t.data as Float32Array).length / t.dims[0]!;
    out[name] = new ort.Tensor(t.type as never, (t.data as Float32Array).slice(0, per * max) as never, [max, ...t.dims.slice(1)]);
  }
  return out;
}

/**
 * Rows up to which a run counts as measured (session-guarded.ts): the
 * warm-up's rows, or the full batch when that was timed within the limit of
 * the host it runs on; 0 when the model's inputs have no batch dimension.
 */
function measuredRowsOf(plan: LoadPlan, inlineLimitMs: number, runTimeoutMs: number, host: string | undefined): number {
  if (!batchableInputs(plan.record.signature)) return 0;
  const warmRows = Object.values(plan.warm.feeds())[0]?.dims[0] ?? 0;
  const limit = host === 'inline' ? inlineLimitMs : runTimeoutMs;
  const batchOk = plan.batchRowsMs !== undefined && plan.batchRowsMs <= limit;
  return Math.max(warmRows, batchOk ? plan.runtime.maxBatchSize : 0);
}

/** The input shapes of a warm-up run. */
function shapesOf(feeds: Record<string, ort.Tensor>): Map<string, number[]> {
  return new Map(Object.entries(feeds).map(([name, t]) => [name, [...t.dims]]));
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

/** One all-zero input per tensor (empty strings for BYTES), variable dimensions set to 1. */
function warmupFeeds(signature: Signature): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const spec of signature.inputs) {
    const shape = spec.shape.map((d) => (d < 0 ? 1 : d));
    const count = shape.reduce((a, b) => a * b, 1);
    const data = isFixedSize(spec.datatype) ? zeroArray(spec.datatype, count) : new Array<string>(count).fill('');
    feeds[spec.name] = new ort.Tensor(toOrtType(spec.datatype), data as never, shape);
  }
  return feeds;
}
