import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { internal, type Logger, type Sample, type SampleTensor, type Signature } from '@switchyard/core';
import { signatureFromMetadata } from '../onnx-signature.js';
import { isChildMessage, type ValidationJob, type ValidationRun } from './validation-protocol.js';

/** Where the child was when the run ended: before it was ready, loading the model, or on a sample. */
export type ChildStage = { phase: 'starting' } | { phase: 'loading' } | { phase: 'running'; index: number };

/**
 * What happened in the child. Outputs are those of the samples that completed,
 * by index. `signature` is the model's as far as the child got to read it
 * (onnxruntime's once loaded, before that what the protobuf declares) when
 * the runs were planned from it; undefined otherwise or if never read.
 */
export type ChildRunResult = { signature?: Signature } & (
  | { kind: 'finished'; outputs: Record<string, SampleTensor>[] }
  | { kind: 'load-failed'; message: string }
  /** The model's signature, or the runs planned from it, were refused: the caller's error, not the model's behaviour. */
  | { kind: 'refused'; error: Error }
  | { kind: 'run-failed'; index: number; message: string; outputs: Record<string, SampleTensor>[] }
  | { kind: 'timed-out'; stage: ChildStage; outputs: Record<string, SampleTensor>[] }
  /** An allocation failed under `memoryLimitBytes`; `detail` is what failed and how. */
  | { kind: 'memory-exceeded'; stage: ChildStage; detail: string; outputs: Record<string, SampleTensor>[] }
  | { kind: 'crashed'; stage: ChildStage; exitCode: number | null; signal: string | null; stderr: string; outputs: Record<string, SampleTensor>[] }
);

/** Options for {@link runInChild}. */
export interface ChildRunOptions {
  artifactPath: string;
  /** The signature the samples are fed by; unused when `samples` is a function (the model's own is read). */
  signature?: Signature;
  /**
   * The runs, or how to plan them from the signature the child reads from
   * the model once it has opened it; a function that throws ends the run as
   * 'refused' with its error.
   */
  samples: Sample[] | ((signature: Signature) => Sample[]);
  /** Limit on loading the model plus running every sample, counted from when the child is ready. */
  timeoutMs: number;
  /**
   * Cap on the child's data size (RLIMIT_DATA: heap and private writable
   * mappings, Node's own ≈ 100 MB included), set with `ulimit -d` by /bin/sh
   * before it executes Node. Past it allocations fail, and the run ends as
   * 'memory-exceeded'. Linux; ignored on Windows.
   * @default no cap
   */
  memoryLimitBytes?: number;
  /**
   * Limit on starting the child (Node and its imports), kept apart from
   * `timeoutMs` so a slow start is not blamed on the model.
   * @default 20000
   */
  startupTimeoutMs?: number;
  logger: Logger;
  /** @default the compiled validation-child.js next to this file */
  childModule?: string;
  /** Called with the child's pid once it is spawned (tests use it to prove the child is gone). */
  onSpawn?: (pid: number) => void;
  /** Called on every change of stage, e.g. so `switchyard validate` can time the load alone. */
  onStage?: (stage: ChildStage) => void;
}

const DEFAULT_STARTUP_TIMEOUT_MS = 20_000;
/** Exit code of the /bin/sh wrapper when it cannot set the memory limit. */
const NO_LIMIT_EXIT = 97;
/** What onnxruntime, the C++ runtime and V8 say when an allocation fails. */
const ALLOCATION_FAILED = /bad_alloc|bad allocation|out of memory|failed to allocate|cannot allocate memory|allocation failed|ENOMEM/i;
const STDERR_KEEP_CHARS = 2000;
const REAP_WAIT_MS = 5000;

const defaultChildModule = (): string => fileURLToPath(new URL('./validation-child.js', import.meta.url));

// Children still running, so a control plane that exits (even on an uncaught
// error) takes them along instead of leaving orphans.
const live = new Set<number>();
let exitHookInstalled = false;

function killLive(): void {
  for (const pid of live) killQuietly(pid);
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

function track(pid: number): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', killLive);
  }
  live.add(pid);
}

/** SIGKILLs the child by pid unless it already exited, and waits for the exit so no zombie stays. */
export async function reap(child: ChildProcess, pid: number): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = once(child, 'exit');
    killQuietly(pid);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([exited, new Promise((resolve) => (timer = setTimeout(resolve, REAP_WAIT_MS)))]);
    clearTimeout(timer);
  }
  live.delete(pid);
}

/**
 * Runs samples through a model in a forked child process, so a model that
 * crashes onnxruntime, eats memory, or runs forever harms only the child.
 * The child is SIGKILLed at the time limit and always reaped before this
 * resolves. Never rejects for anything the model does.
 * @throws INTERNAL when the child module is missing (a broken build).
 */
export async function runInChild(options: ChildRunOptions): Promise<ChildRunResult> {
  const spawned = await spawnChild(options);
  if ('failed' in spawned) return spawned.failed;
  const { child, pid } = spawned;
  const logger = options.logger.child({ validationPid: pid });
  logger.debug('validation child started', { pid, artifactPath: options.artifactPath, samples: options.samples.length });
  let peakRssBytes: number | undefined;
  try {
    const result = await watchJob(child, options, { ready: false });
    peakRssBytes = peakRss(pid);
    return result;
  } finally {
    await reap(child, pid);
    logger.debug('validation child reaped', { pid, peakRssBytes });
  }
}

/** A forked validation child and its pid, tracked so this process's exit kills it. */
export interface SpawnedChild {
  child: ChildProcess;
  pid: number;
}

/**
 * Forks a validation child (through /bin/sh when its memory is capped).
 * @throws INTERNAL when the child module is missing (a broken build).
 */
export async function spawnChild(
  options: Pick<ChildRunOptions, 'childModule' | 'memoryLimitBytes' | 'onSpawn'> & { env?: NodeJS.ProcessEnv },
): Promise<SpawnedChild | { failed: ChildRunResult }> {
  const childModule = options.childModule ?? defaultChildModule();
  if (!existsSync(childModule)) throw internal(`the validation child ${childModule} is missing; rebuild the control plane (tsc -b)`);
  const child = fork(childModule, [], {
    ...launcher(options.memoryLimitBytes),
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    serialization: 'json',
    ...(options.env ? { env: options.env } : {}),
  });
  const pid = child.pid;
  if (pid === undefined) {
    const [err] = (await once(child, 'error')) as [Error];
    return { failed: { kind: 'crashed', stage: { phase: 'starting' }, exitCode: null, signal: null, stderr: err.message, outputs: [] } };
  }
  track(pid);
  options.onSpawn?.(pid);
  return { child, pid };
}

/**
 * How to start the child: Node directly, or through /bin/sh setting the data
 * size limit first. RLIMIT_DATA rather than RLIMIT_AS: V8 and glibc reserve
 * far more address space than they use (a Node process maps ≈ 1 GB before
 * doing anything), while the data limit counts what is actually made
 * writable, onnxruntime's buffers included. A --max-old-space-size would cap
 * only the JavaScript heap, not onnxruntime's native memory.
 */
function launcher(memoryLimitBytes: number | undefined): { execPath?: string; execArgv: string[] } {
  // Not the parent's flags: an --inspect port or a loader meant for the
  // control plane must not apply to the child.
  if (memoryLimitBytes === undefined || process.platform === 'win32') return { execArgv: [] };
  const kib = Math.max(1, Math.floor(memoryLimitBytes / 1024));
  const script =
    `ulimit -d ${kib} || { echo "could not cap the validation process's memory: ulimit -d failed in /bin/sh" >&2; exit ${NO_LIMIT_EXIT}; }; ` +
    'exec "$0" "$@"';
  // fork() runs `execPath ...execArgv module`: sh -c script node module.
  return { execPath: '/bin/sh', execArgv: ['-c', script, process.execPath] };
}

/** The child's peak resident memory, for the logs; undefined where /proc cannot tell. */
export function peakRss(pid: number): number | undefined {
  try {
    const match = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Runs one job on `child` and resolves with its result; the child's
 * listeners are removed again, so a pooled child can take the next job.
 * `ready`: the child already said 'ready' (a pooled child), so the job is
 * sent at once and the time limit starts now; otherwise it starts at 'ready'.
 */
export function watchJob(child: ChildProcess, options: ChildRunOptions, { ready }: { ready: boolean }): Promise<ChildRunResult> {
  return new Promise<ChildRunResult>((resolve) => {
    let stage: ChildStage = { phase: 'starting' };
    let stderr = '';
    let signature: Signature | undefined;
    const plan = typeof options.samples === 'function' ? options.samples : undefined;
    const outputs: Record<string, SampleTensor>[] = [];
    let timer = setTimeout(() => finish({ kind: 'timed-out', stage, outputs }), options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS);
    let done = false;
    const capped = options.memoryLimitBytes !== undefined;
    function finish(result: ChildRunResult): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      child.stderr?.off('data', onStderr);
      child.off('message', onMessage);
      child.off('error', onError);
      child.off('close', onClose);
      resolve(plan && signature ? { ...result, signature } : result);
    }
    /** A failure message that is a failed allocation under the cap ends the run as memory-exceeded. */
    function failed(message: string, otherwise: ChildRunResult): void {
      finish(capped && ALLOCATION_FAILED.test(message) ? { kind: 'memory-exceeded', stage, detail: message, outputs } : otherwise);
    }
    function sendJob(): void {
      clearTimeout(timer);
      timer = setTimeout(() => finish({ kind: 'timed-out', stage, outputs }), options.timeoutMs);
      stage = { phase: 'loading' };
      options.onStage?.(stage);
      const job: ValidationJob = plan
        ? { type: 'job', artifactPath: options.artifactPath }
        : { type: 'job', artifactPath: options.artifactPath, signature: options.signature, samples: options.samples as Sample[] };
      // A failed send means the child is gone; its 'close' reports that.
      child.send(job, () => undefined);
    }
    function onStderr(chunk: string): void {
      stderr = (stderr + chunk).slice(-STDERR_KEEP_CHARS);
    }
    function onMessage(message: unknown): void {
      if (!isChildMessage(message)) return;
      switch (message.type) {
        case 'ready':
          if (!ready) sendJob();
          return;
        case 'declared':
          try {
            signature ??= signatureFromMetadata(message.inputs, message.outputs);
          } catch {
            // Declared types Switchyard cannot serve: onnxruntime's own answer, once loaded, decides.
          }
          return;
        case 'loaded': {
          if (!plan) return;
          let run: ValidationRun;
          try {
            // onnxruntime's reading is the one nodes will see; it replaces the declared one.
            signature = signatureFromMetadata(message.inputs ?? [], message.outputs ?? []);
            run = { type: 'run', signature, samples: plan(signature) };
          } catch (err) {
            return finish({ kind: 'refused', error: err instanceof Error ? err : new Error(String(err)) });
          }
          child.send(run, () => undefined);
          return;
        }
        case 'load-failed':
          return failed(message.message, { kind: 'load-failed', message: message.message });
        case 'started':
          stage = { phase: 'running', index: message.index };
          options.onStage?.(stage);
          return;
        case 'ran':
          outputs[message.index] = message.outputs;
          return;
        case 'run-failed':
          return failed(message.message, { kind: 'run-failed', index: message.index, message: message.message, outputs });
        case 'finished':
          return finish({ kind: 'finished', outputs });
      }
    }
    function onError(err: Error): void {
      stderr = `${stderr}\n${err.message}`.slice(-STDERR_KEEP_CHARS);
    }
    // 'close' (not 'exit') so the last stderr lines and IPC messages are in.
    function onClose(exitCode: number | null, signal: NodeJS.Signals | null): void {
      const trimmed = stderr.trim();
      const crashed: ChildRunResult = { kind: 'crashed', stage, exitCode, signal, stderr: trimmed, outputs };
      // A fatal out-of-memory (V8's, or an abort on a failed allocation) leaves its reason on stderr.
      if (capped && (exitCode !== 0 || signal !== null) && exitCode !== NO_LIMIT_EXIT) return failed(trimmed, crashed);
      finish(crashed);
    }
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', onStderr);
    child.on('message', onMessage);
    child.on('error', onError);
    child.on('close', onClose);
    if (ready) sendJob();
  });
}
