import type { InferenceSession, Tensor } from 'onnxruntime-node';

/** Where a version's onnxruntime session runs: the main thread, a worker thread, or (only) a child process. */
export type SessionHost = 'inline' | 'worker' | 'process';

/** Limits of one run (docs/design.md, "Run limits"). */
export interface RunLimits {
  /** The run must have answered this many ms after the call; past it, it fails with DEADLINE_EXCEEDED. */
  timeoutMs: number;
  /** Aborted when the caller has gone (a cancelled gRPC call): the run is answered CANCELLED and not waited for. */
  signal?: AbortSignal;
}

/**
 * A loaded version's session, wherever it runs: on the node's main thread
 * ({@link InlineSession}) or in a worker thread of its own
 * ({@link WorkerSession}). Callers see the same contract either way.
 */
export interface VersionSession {
  readonly host: SessionHost;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /**
   * Runs the model. The feeds are only read: their buffers are never
   * detached or modified, so the same feeds can be run again (shadows).
   * Rejects with onnxruntime's error when the model refuses an input at run
   * time, or with an UNAVAILABLE SwitchyardError when the thread hosting the
   * session died (retryable).
   * @param outputs names to fetch; all outputs when omitted.
   * @param limits honoured by hosts that can stop a run; others run only what was measured fast.
   */
  run(feeds: Record<string, Tensor>, outputs?: readonly string[], limits?: RunLimits): Promise<Record<string, Tensor>>;
  /**
   * Runs at once on the main thread when this run's cost was measured small
   * there; undefined (nothing started) when the run belongs elsewhere. Such a
   * run is over before anything else can start, so it needs no queue.
   */
  runInline?(feeds: Record<string, Tensor>, outputs?: readonly string[]): Promise<Record<string, Tensor>> | undefined;
  /** Resident bytes of a child process hosting runs of this session, 0 when none is alive (memory accounting, issue #16). */
  processRssBytes?(): number;
  /** Frees the native session (and its thread). Call once no run is in flight. */
  release(): Promise<void>;
}

/** onnxruntime session options the node uses, on any thread. */
export function sessionOptions(intraOpThreads: number): InferenceSession.SessionOptions {
  return { intraOpNumThreads: intraOpThreads, interOpNumThreads: 1, graphOptimizationLevel: 'all' };
}
