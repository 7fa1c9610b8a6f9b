import { fork, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { Tensor, type InferenceSession } from 'onnxruntime-node';
import { GrpcStatus, invalidArgument, resourceExhausted, SwitchyardError, unavailable } from '@switchyard/core';
import type { RunLimits } from './session-interface.js';
import { fromWire, toWire, type FromWorker, type SessionWorkerData, type ToWorker } from './session-wire.js';

/** The same script a worker thread runs; it detects that it was forked. */
const CHILD_SCRIPT = new URL('./session-worker.js', import.meta.url);
const PRLIMIT = '/usr/bin/prlimit';

let liveProcesses = 0;

/** Session processes alive in this process (tests check nothing leaks). */
export function liveSessionProcesses(): number {
  return liveProcesses;
}

/** Options for {@link SessionProcess.start}. */
export interface SessionProcessOptions {
  path: string;
  options: InferenceSession.SessionOptions;
  /** Names the session in error messages, e.g. "model 'm' version 'v1'". */
  label: string;
  /** Session creation longer than this kills the process: a load must not hang forever. */
  loadTimeoutMs: number;
  /** Address-space limit of the process (RLIMIT_AS, via prlimit when installed). @default none */
  memoryLimitBytes?: number;
  /** Outputs of one run above this fail with RESOURCE_EXHAUSTED. @default none */
  maxOutputBytes?: number;
}

interface Job {
  feeds: Record<string, Tensor>;
  outputs: readonly string[] | undefined;
  resolve: (results: Record<string, Tensor>) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  onAbort: () => void;
  settled: boolean;
}

export const deadlineExceeded = (message: string): SwitchyardError => new SwitchyardError(GrpcStatus.DEADLINE_EXCEEDED, message);
export const cancelled = (message: string): SwitchyardError => new SwitchyardError(GrpcStatus.CANCELLED, message);

/**
 * One child process holding one onnxruntime session, for runs whose cost
 * the request can choose (docs/design.md, "Run limits"). Unlike a thread, a
 * process can be ended in the middle of a native run, so every run has a
 * time limit: the process runs one request at a time, and a run still going
 * at its limit gets the process killed (SIGKILL) — that run fails with
 * DEADLINE_EXCEEDED, the ones queued behind it with UNAVAILABLE (retryable),
 * and the owner starts a new process for the next request. A caller that
 * goes away is answered CANCELLED at once: its queued run is dropped, and a
 * started one is not waited for (it still stops at its limit).
 */
export class SessionProcess {
  private readonly queue: Job[] = [];
  private running: { id: number; job: Job } | undefined;
  private nextId = 1;
  private exited = false;
  /** Why the process is being killed, given to the run that caused it. */
  private killedFor: { job: Job; error: Error } | undefined;
  private releasing = false;
  /** Called once the process has ended; `expected` when {@link release} ended it. */
  onEnded: ((expected: boolean) => void) | undefined;

  private constructor(
    private readonly child: ChildProcess,
    private readonly label: string,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
    /** How long onnxruntime took to create the session, measured inside the process. */
    readonly createMs: number,
  ) {}

  /**
   * Forks the process and creates the session in it.
   * @throws INVALID_ARGUMENT when onnxruntime refuses the artifact; DEADLINE_EXCEEDED when
   *   creation passes `loadTimeoutMs`; UNAVAILABLE when the process died.
   */
  static start(o: SessionProcessOptions): Promise<SessionProcess> {
    const data: SessionWorkerData = { path: o.path, options: o.options, ...(o.maxOutputBytes !== undefined ? { maxOutputBytes: o.maxOutputBytes } : {}) };
    const limited = o.memoryLimitBytes !== undefined && existsSync(PRLIMIT);
    const child = fork(CHILD_SCRIPT, [JSON.stringify(data)], {
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      // prlimit sets the limit and execs node, keeping the IPC descriptor.
      ...(limited ? { execPath: PRLIMIT, execArgv: [`--as=${o.memoryLimitBytes}`, '--', process.execPath] } : {}),
    });
    liveProcesses++;
    return new Promise<SessionProcess>((resolve, reject) => {
      let session: SessionProcess | undefined;
      let loadError: Error | undefined;
      const loadTimer = setTimeout(() => {
        loadError = deadlineExceeded(`creating the session of ${o.label} took longer than ${o.loadTimeoutMs} ms; the process creating it was ended`);
        child.kill('SIGKILL');
      }, o.loadTimeoutMs);
      child.on('message', (message: FromWorker) => {
        if (session) return session.receive(message);
        if (message.kind === 'ready') {
          clearTimeout(loadTimer);
          session = new SessionProcess(child, o.label, message.inputNames, message.outputNames, message.createMs ?? 0);
          resolve(session);
        } else if (message.kind === 'failed') {
          loadError = invalidArgument(`onnxruntime cannot load the artifact: ${message.message}`);
          child.kill('SIGKILL');
        }
      });
      child.on('error', (err) => {
        loadError ??= unavailable(`the process for ${o.label} could not be started: ${err.message}`, err);
      });
      child.once('exit', (code, signal) => {
        liveProcesses--;
        clearTimeout(loadTimer);
        if (!session) {
          reject(loadError ?? unavailable(`the process loading ${o.label} exited (${signal ?? `code ${code}`}); the node retries the load`));
          return;
        }
        session.ended(code, signal);
      });
    });
  }

  get alive(): boolean {
    return !this.exited;
  }

  /**
   * The process's resident set now (VmRSS of /proc/<pid>/status; 0 when it
   * has ended or the file cannot be read): memory the node's own resident
   * set does not show, counted as its version's (issue #16).
   */
  rssBytes(): number {
    const pid = this.child.pid;
    if (this.exited || pid === undefined) return 0;
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const kib = /^VmRSS:\s+(\d+)/m.exec(status)?.[1];
      return kib === undefined ? 0 : Number(kib) * 1024;
    } catch {
      return 0;
    }
  }

  /** Runs queued or running (tests, and the owner's choice of process). */
  get pendingRequests(): number {
    return this.queue.length + (this.running ? 1 : 0);
  }

  /** Runs the session in the process, after the runs queued before it; see the class for limits. */
  run(feeds: Record<string, Tensor>, outputs: readonly string[] | undefined, limits: RunLimits): Promise<Record<string, Tensor>> {
    if (this.exited) return Promise.reject(unavailable(`the process running ${this.label} has stopped; retry`));
    if (limits.signal?.aborted) return Promise.reject(cancelled('the caller cancelled the call'));
    return new Promise((resolve, reject) => {
      const job: Job = {
        feeds,
        outputs,
        resolve,
        reject,
        timeoutMs: limits.timeoutMs,
        signal: limits.signal,
        settled: false,
        onAbort: () => this.abandon(job),
        timer: setTimeout(() => this.overran(job), limits.timeoutMs),
      };
      job.signal?.addEventListener('abort', job.onAbort, { once: true });
      this.queue.push(job);
      this.next();
    });
  }

  /** Kills the process; every run still waiting fails with UNAVAILABLE. Never throws. */
  release(): Promise<void> {
    if (this.exited) return Promise.resolve();
    this.releasing = true;
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.kill('SIGKILL');
    });
  }

  private next(): void {
    if (this.running || this.exited) return;
    const job = this.queue.shift();
    if (!job) return;
    const id = this.nextId++;
    this.running = { id, job };
    try {
      const { wire } = toWire(job.feeds, false);
      this.child.send({ kind: 'run', id, feeds: wire, outputs: job.outputs } satisfies ToWorker);
    } catch (err) {
      this.running = undefined;
      this.settle(job, unavailable(`the request could not be sent to the process running ${this.label}: ${(err as Error).message}; retry`));
      this.next();
    }
  }

  private receive(message: FromWorker): void {
    if (!('id' in message) || message.id !== this.running?.id) return;
    const { job } = this.running;
    this.running = undefined;
    if (message.kind === 'result') this.settle(job, undefined, fromWire(message.outputs, Tensor));
    else if (message.kind === 'error' && message.code === 'RESOURCE_EXHAUSTED') this.settle(job, resourceExhausted(`${this.label}: ${message.message}`));
    // onnxruntime's own rejection, as an inline run would give it.
    else this.settle(job, new Error(message.kind === 'error' ? message.message : `unexpected answer ${message.kind}`));
    this.next();
  }

  /** The run's time is up: drop it from the queue, or end the process that is running it. */
  private overran(job: Job): void {
    const error = deadlineExceeded(`the run of ${this.label} did not finish within ${Math.round(job.timeoutMs)} ms (the run time-out or the caller's deadline); it was stopped`);
    if (this.running?.job === job) {
      this.killedFor = { job, error };
      this.child.kill('SIGKILL');
      return;
    }
    this.dequeue(job);
    this.settle(job, error);
  }

  /**
   * The caller has gone: answer at once. A queued run is dropped; a started
   * one keeps its timer, so it still ends at its limit (killing the process
   * for every cancelled call would let a client restart it at will).
   */
  private abandon(job: Job): void {
    const started = this.running?.job === job;
    if (!started) this.dequeue(job);
    this.settle(job, cancelled('the caller cancelled the call'), undefined, started);
  }

  private dequeue(job: Job): void {
    const i = this.queue.indexOf(job);
    if (i >= 0) this.queue.splice(i, 1);
  }

  /** Answers the caller once; `keepTimer` for a run still going, which must still end at its limit. */
  private settle(job: Job, error: Error | undefined, results?: Record<string, Tensor>, keepTimer = false): void {
    if (!keepTimer) clearTimeout(job.timer);
    job.signal?.removeEventListener('abort', job.onAbort);
    if (job.settled) return;
    job.settled = true;
    if (error) job.reject(error);
    else job.resolve(results!);
  }

  private ended(code: number | null, signal: NodeJS.Signals | null): void {
    this.exited = true;
    const lost = unavailable(`the process running ${this.label} stopped (${signal ?? `code ${code}`}) while this request waited for it; retry`);
    if (this.running) {
      const { job } = this.running;
      this.running = undefined;
      const how = signal === 'SIGKILL' || code === 137 ? 'was killed (out of memory, or its address-space limit)' : `stopped (${signal ?? `code ${code}`})`;
      this.settle(job, this.killedFor?.job === job ? this.killedFor.error : unavailable(`the process running ${this.label} ${how} during this run; retry`));
    }
    for (const job of this.queue.splice(0)) this.settle(job, lost);
    this.onEnded?.(this.releasing);
  }
}
