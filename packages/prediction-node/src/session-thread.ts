import { Worker } from 'node:worker_threads';
import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { invalidArgument, unavailable } from '@switchyard/core';
import { ownedByRun } from './batch-tensors.js';
import { fromWire, toWire, type FromWorker, type SessionWorkerData, type ToWorker } from './session-wire.js';

/** The worker script, next to this file in dist. */
const WORKER_SCRIPT = new URL('./session-worker.js', import.meta.url);

let liveThreads = 0;

/** Session worker threads alive in this process (tests check nothing leaks). */
export function liveSessionThreads(): number {
  return liveThreads;
}

/** How a thread ended, for its owner. */
export interface ThreadExit {
  code: number;
  /** True when the owner asked for it (release); false for a crash. */
  expected: boolean;
  /** An uncaught error inside the thread, if that is what ended it. */
  error?: Error;
}

/** Options for {@link SessionThread.start}. */
export interface SessionThreadOptions {
  path: string;
  options: InferenceSession.SessionOptions;
  /** Names the session in error messages, e.g. "model m version v1". */
  label: string;
  /** Called once when the thread has ended, expectedly or not. */
  onExit?: (exit: ThreadExit) => void;
}

interface Pending {
  resolve: (value: FromWorker) => void;
  reject: (err: Error) => void;
}

/**
 * One worker thread holding one onnxruntime session: requests are matched
 * to answers by id, and when the thread dies every request still waiting is
 * rejected with UNAVAILABLE, so callers can retry elsewhere.
 */
export class SessionThread {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private exited = false;
  private releasing = false;
  private crashError: Error | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly label: string,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
  ) {}

  /** Starts the thread and creates the session in it. */
  static start(o: SessionThreadOptions): Promise<SessionThread> {
    const data: SessionWorkerData = { path: o.path, options: o.options };
    const worker = new Worker(WORKER_SCRIPT, { workerData: data });
    liveThreads++;
    return new Promise<SessionThread>((resolve, reject) => {
      let thread: SessionThread | undefined;
      let loadError: Error | undefined;
      worker.on('message', (message: FromWorker) => {
        if (thread) return thread.receive(message);
        if (message.kind === 'ready') {
          thread = new SessionThread(worker, o.label, message.inputNames, message.outputNames);
          resolve(thread);
        } else if (message.kind === 'failed') {
          loadError = invalidArgument(`onnxruntime cannot load the artifact: ${message.message}`);
          void worker.terminate();
        }
      });
      worker.on('error', (err) => {
        if (thread) thread.crashError = err;
        else loadError ??= unavailable(`the worker thread loading ${o.label} failed: ${err.message}; the node retries the load`, err);
      });
      worker.once('exit', (code) => {
        liveThreads--;
        if (!thread) {
          reject(loadError ?? unavailable(`the worker thread loading ${o.label} exited with code ${code}; the node retries the load`));
          o.onExit?.({ code, expected: loadError !== undefined });
          return;
        }
        const exit: ThreadExit = { code, expected: thread.releasing, ...(thread.crashError ? { error: thread.crashError } : {}) };
        thread.exited = true;
        const err = unavailable(
          `the worker thread running ${o.label} stopped (exit code ${code}${exit.error ? `: ${exit.error.message}` : ''}); retry, the node restarts it`,
          exit.error,
        );
        for (const p of thread.pending.values()) p.reject(err);
        thread.pending.clear();
        o.onExit?.(exit);
      });
    });
  }

  get alive(): boolean {
    return !this.exited;
  }

  /** Requests sent to the thread and not answered yet. */
  get pendingRequests(): number {
    return this.pending.size;
  }

  /**
   * Runs the session in the thread; the caller's tensors are copied, never
   * detached, except a batch's concatenated feeds, which nobody else reads:
   * their buffers move to the thread.
   */
  async run(feeds: Record<string, Tensor>, outputs?: readonly string[]): Promise<Record<string, Tensor>> {
    const { wire, transfer } = toWire(feeds, !ownedByRun(feeds));
    const answer = await this.request((id) => ({ kind: 'run', id, feeds: wire, outputs }), transfer);
    if (answer.kind === 'result') return fromWire(answer.outputs, Tensor);
    // onnxruntime's own rejection, as an inline run would give it.
    throw new Error(answer.kind === 'error' ? answer.message : `unexpected answer ${answer.kind}`);
  }

  /**
   * Releases the session inside the thread, then ends the thread (which is
   * what gives the native memory back). Call with no run in flight: ending a
   * thread while onnxruntime computes in it aborts the whole process
   * (onnxruntime-node 1.30 throws a C++ exception nothing catches), so this
   * waits for the thread's answer, however long a run ahead of it takes.
   * Never throws.
   */
  release(): Promise<void> {
    this.releaseDone ??= this.releaseOnce();
    return this.releaseDone;
  }

  private releaseDone: Promise<void> | undefined;

  private async releaseOnce(): Promise<void> {
    if (this.exited) return;
    this.releasing = true;
    await this.request((id) => ({ kind: 'release', id })).catch(() => undefined);
    await this.worker.terminate();
  }

  /**
   * Makes the thread die of an uncaught error when the next run reaches it,
   * with that run in flight (tests of crash handling; `worker.terminate()`
   * during a run would abort the process instead, see {@link release}).
   */
  crashForTests(): void {
    if (!this.exited) this.worker.postMessage({ kind: 'crash' } satisfies ToWorker);
  }

  private request(build: (id: number) => ToWorker, transfer: ArrayBuffer[] = []): Promise<FromWorker> {
    if (this.exited) {
      return Promise.reject(unavailable(`the worker thread running ${this.label} has stopped; retry, the node restarts it`));
    }
    const id = this.nextId++;
    return new Promise<FromWorker>((resolve, reject) => {
      // Posted first: a message that cannot be cloned throws here and leaves nothing pending.
      this.worker.postMessage(build(id), transfer);
      this.pending.set(id, { resolve, reject });
    });
  }

  private receive(message: FromWorker): void {
    if (!('id' in message)) return;
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    pending.resolve(message);
  }
}
