import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import type { Logger } from '@switchyard/core';
import { peakRss, reap, spawnChild, watchJob, type ChildRunOptions, type ChildRunResult } from './validation-runner.js';

/** Options for {@link ValidationPool}. */
export interface ValidationPoolOptions {
  /** Children kept warm between validations: as many as run at once. @default 2 */
  size?: number;
  /** Cap on each child's data size, as {@link ChildRunOptions.memoryLimitBytes}. @default no cap */
  memoryLimitBytes?: number;
  /**
   * Validations one child runs before it is replaced, so whatever a model
   * leaves behind in a process (native memory, a poisoned allocator) lives
   * only so long. @default 100
   */
  maxJobsPerChild?: number;
  /**
   * A child whose resident memory after a validation is above this is
   * replaced rather than reused. @default half of memoryLimitBytes, else 1 GiB
   */
  recycleRssBytes?: number;
  logger: Logger;
  /** @default the compiled validation-child.js */
  childModule?: string;
}

interface PooledChild {
  child: ChildProcess;
  pid: number;
  jobs: number;
}

/** Outcomes after which the child answered for the whole job and waits for the next one. */
const REUSABLE = new Set<ChildRunResult['kind']>(['finished', 'load-failed', 'run-failed']);

/**
 * Warm validation processes. A fresh Node process with onnxruntime costs
 * ≈ 200 ms of CPU to start, which capped deploy-time validation at ≈ 4
 * versions/s; a pooled child validates the next version as soon as it has
 * answered for the last. Isolation stays: every model is still opened only
 * in a child, under the same time limit and memory cap; a child that times
 * out, crashes, hits the cap, or leaves the protocol mid-job is killed by
 * pid and replaced, and children are recycled after a number of jobs or when
 * their memory grew.
 */
export class ValidationPool {
  readonly #idle: PooledChild[] = [];
  readonly #size: number;
  readonly #maxJobs: number;
  readonly #recycleRss: number;
  readonly #options: ValidationPoolOptions;
  #closed = false;

  constructor(options: ValidationPoolOptions) {
    this.#options = options;
    this.#size = options.size ?? 2;
    this.#maxJobs = options.maxJobsPerChild ?? 100;
    this.#recycleRss = options.recycleRssBytes ?? (options.memoryLimitBytes !== undefined ? options.memoryLimitBytes / 2 : 1024 ** 3);
    if (!Number.isInteger(this.#size) || this.#size < 1) throw new TypeError(`size must be a whole number ≥ 1, got ${options.size}`);
    if (!Number.isInteger(this.#maxJobs) || this.#maxJobs < 1) throw new TypeError(`maxJobsPerChild must be a whole number ≥ 1, got ${options.maxJobsPerChild}`);
  }

  /**
   * Runs one validation job on a warm child (or a new one), with the pool's
   * memory cap. Resolves like {@link runInChild}; never rejects for anything
   * the model does.
   */
  async run(options: Omit<ChildRunOptions, 'memoryLimitBytes' | 'childModule'>): Promise<ChildRunResult> {
    if (this.#closed) throw new Error('the validation pool is closed');
    const job: ChildRunOptions = { ...options, memoryLimitBytes: this.#options.memoryLimitBytes };
    const warm = this.#idle.pop();
    let pooled: PooledChild;
    if (warm) {
      pooled = warm;
      holdOpen(pooled.child, true);
    } else {
      const spawned = await spawnChild({
        childModule: this.#options.childModule,
        memoryLimitBytes: this.#options.memoryLimitBytes,
        ...(options.onSpawn ? { onSpawn: options.onSpawn } : {}),
        // Freed session memory goes back to the system between jobs.
        env: { ...process.env, MALLOC_TRIM_THRESHOLD_: process.env.MALLOC_TRIM_THRESHOLD_ ?? '131072' },
      });
      if ('failed' in spawned) return spawned.failed;
      pooled = { ...spawned, jobs: 0 };
      // An idle child that dies (killed from outside, its parent's IPC gone) leaves the pool.
      pooled.child.once('exit', () => this.#forget(pooled));
    }
    pooled.jobs += 1;
    const logger = options.logger.child({ validationPid: pooled.pid });
    logger.debug(warm ? 'validation child reused' : 'validation child started', {
      pid: pooled.pid,
      job: pooled.jobs,
      artifactPath: options.artifactPath,
      samples: options.samples.length,
    });
    const result = await watchJob(pooled.child, job, { ready: warm !== undefined });
    await this.#release(pooled, result);
    return result;
  }

  /** Kills the idle children; a validation running now ends with its own child. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all(this.#idle.splice(0).map((p) => reap(p.child, p.pid)));
  }

  /** Children waiting for a job now. */
  get idle(): number {
    return this.#idle.length;
  }

  async #release(pooled: PooledChild, result: ChildRunResult): Promise<void> {
    const alive = pooled.child.exitCode === null && pooled.child.signalCode === null;
    const rss = alive ? currentRss(pooled.pid) : undefined;
    const reusable =
      alive &&
      !this.#closed &&
      REUSABLE.has(result.kind) &&
      pooled.jobs < this.#maxJobs &&
      this.#idle.length < this.#size &&
      (rss === undefined || rss <= this.#recycleRss);
    if (reusable) {
      // Waiting children must not keep the control plane's process alive.
      holdOpen(pooled.child, false);
      this.#idle.push(pooled);
      return;
    }
    this.#options.logger.debug('validation child retired', { pid: pooled.pid, jobs: pooled.jobs, outcome: result.kind, rssBytes: rss, peakRssBytes: peakRss(pooled.pid) });
    await reap(pooled.child, pooled.pid);
  }

  #forget(pooled: PooledChild): void {
    const i = this.#idle.indexOf(pooled);
    if (i >= 0) this.#idle.splice(i, 1);
  }
}

/** Whether the child, its IPC channel and its stderr pipe keep this process's event loop alive. */
function holdOpen(child: ChildProcess, hold: boolean): void {
  const stderr = child.stderr as Socket | null;
  if (hold) {
    child.ref();
    child.channel?.ref();
    stderr?.ref();
  } else {
    child.unref();
    child.channel?.unref();
    stderr?.unref();
  }
}

/** The child's resident memory now; undefined where /proc cannot tell. */
function currentRss(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
