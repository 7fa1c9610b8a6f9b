import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { internal, type Logger, type Sample, type SampleTensor, type Signature } from '@switchyard/core';
import { isChildMessage, type ValidationJob } from './validation-protocol.js';

/** Where the child was when the run ended: before it was ready, loading the model, or on a sample. */
export type ChildStage = { phase: 'starting' } | { phase: 'loading' } | { phase: 'running'; index: number };

/** What happened in the child. Outputs are those of the samples that completed, by index. */
export type ChildRunResult =
  | { kind: 'finished'; outputs: Record<string, SampleTensor>[] }
  | { kind: 'load-failed'; message: string }
  | { kind: 'run-failed'; index: number; message: string; outputs: Record<string, SampleTensor>[] }
  | { kind: 'timed-out'; stage: ChildStage; outputs: Record<string, SampleTensor>[] }
  | { kind: 'crashed'; stage: ChildStage; exitCode: number | null; signal: string | null; stderr: string; outputs: Record<string, SampleTensor>[] };

/** Options for {@link runInChild}. */
export interface ChildRunOptions {
  artifactPath: string;
  signature: Signature;
  samples: Sample[];
  /** Limit on loading the model plus running every sample, counted from when the child is ready. */
  timeoutMs: number;
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
async function reap(child: ChildProcess, pid: number): Promise<void> {
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
  const childModule = options.childModule ?? defaultChildModule();
  // Checked here so a broken install is an error of ours, not a crash blamed on the model.
  if (!existsSync(childModule)) throw internal(`the validation child ${childModule} is missing; rebuild the control plane (tsc -b)`);
  const child = fork(childModule, [], {
    // Not the parent's flags: an --inspect port or a loader meant for the
    // control plane must not apply to the child.
    execArgv: [],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    serialization: 'json',
  });
  const pid = child.pid;
  if (pid === undefined) {
    const [err] = (await once(child, 'error')) as [Error];
    return { kind: 'crashed', stage: { phase: 'starting' }, exitCode: null, signal: null, stderr: err.message, outputs: [] };
  }
  track(pid);
  options.onSpawn?.(pid);
  const logger = options.logger.child({ validationPid: pid });
  logger.debug('validation child started', { pid, artifactPath: options.artifactPath, samples: options.samples.length });
  try {
    return await watch(child, options);
  } finally {
    await reap(child, pid);
    logger.debug('validation child reaped', { pid });
  }
}

function watch(child: ChildProcess, options: ChildRunOptions): Promise<ChildRunResult> {
  return new Promise<ChildRunResult>((resolve) => {
    let stage: ChildStage = { phase: 'starting' };
    let stderr = '';
    const outputs: Record<string, SampleTensor>[] = [];
    let timer = setTimeout(() => finish({ kind: 'timed-out', stage, outputs }), options.startupTimeoutMs ?? DEFAULT_STARTUP_TIMEOUT_MS);
    let done = false;
    function finish(result: ChildRunResult): void {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(result);
    }
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEEP_CHARS);
    });
    child.on('message', (message: unknown) => {
      if (!isChildMessage(message)) return;
      switch (message.type) {
        case 'ready': {
          clearTimeout(timer);
          timer = setTimeout(() => finish({ kind: 'timed-out', stage, outputs }), options.timeoutMs);
          stage = { phase: 'loading' };
          options.onStage?.(stage);
          const job: ValidationJob = { type: 'job', artifactPath: options.artifactPath, signature: options.signature, samples: options.samples };
          // A failed send means the child is gone; its 'exit' reports that.
          child.send(job, () => undefined);
          return;
        }
        case 'loaded':
          return;
        case 'load-failed':
          return finish({ kind: 'load-failed', message: message.message });
        case 'started':
          stage = { phase: 'running', index: message.index };
          options.onStage?.(stage);
          return;
        case 'ran':
          outputs[message.index] = message.outputs;
          return;
        case 'run-failed':
          return finish({ kind: 'run-failed', index: message.index, message: message.message, outputs });
        case 'finished':
          return finish({ kind: 'finished', outputs });
      }
    });
    child.on('error', (err) => {
      stderr = `${stderr}\n${err.message}`.slice(-STDERR_KEEP_CHARS);
    });
    // 'close' (not 'exit') so the last stderr lines and IPC messages are in.
    child.on('close', (exitCode: number | null, signal: NodeJS.Signals | null) =>
      finish({ kind: 'crashed', stage, exitCode, signal, stderr: stderr.trim(), outputs }),
    );
  });
}
