/**
 * Load-client child processes: forked, connected once, then driven segment
 * by segment over IPC. Every child is tracked by pid and SIGKILLed when it
 * is closed, when a phase fails, or when this process exits.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { trackChild } from '@switchyard/testkit';
import type { ChildMessage, LoadClientConfig, ResultMessage } from './load-protocol.js';

const CLIENT_MODULE = fileURLToPath(new URL('./load-client.js', import.meta.url));

/** Children alive right now, so the bench can kill them on any exit path. */
const live = new Set<ChildProcess>();

function killChild(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** SIGKILLs every load-client child still running, by pid. */
export function killLoadClients(): void {
  for (const child of live) killChild(child);
  live.clear();
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

export type ClientConfig = Omit<LoadClientConfig, 'type'>;

/** One connected load-client process. */
export class LoadClient {
  private readonly exited: Promise<never>;

  private constructor(
    private readonly child: ChildProcess,
    private readonly config: ClientConfig,
  ) {
    this.exited = new Promise<never>((_, reject) => {
      child.once('exit', (code, signal) => reject(new Error(`load client for ${config.target} exited (code ${code}, signal ${signal})`)));
      child.once('error', reject);
    });
    this.exited.catch(() => undefined);
  }

  /** Forks a client and resolves once it is connected to its target. */
  static async start(config: ClientConfig): Promise<LoadClient> {
    // execArgv [] so a profiled bench (--cpu-prof) does not profile its clients.
    const child = fork(CLIENT_MODULE, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    trackChild(child);
    live.add(child);
    child.once('exit', () => live.delete(child));
    const client = new LoadClient(child, config);
    try {
      const ready = client.next('ready');
      child.send({ type: 'config', ...config } satisfies LoadClientConfig);
      await withTimeout(ready, 20_000, `load client connecting to ${config.target}`);
      return client;
    } catch (err) {
      killChild(child);
      throw err;
    }
  }

  /** Runs one segment; bounded by warm-up + duration + the call deadline + slack. */
  run(warmupMs: number, durationMs: number, labels?: string[]): Promise<ResultMessage> {
    const result = this.next('result') as Promise<ResultMessage>;
    this.child.send({ type: 'go', warmupMs, durationMs, ...(labels ? { labels } : {}) });
    return withTimeout(result, warmupMs + durationMs + this.config.deadlineMs + 10_000, `load segment against ${this.config.target}`);
  }

  /** Asks the child to exit, and kills it if it has not within a second. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = this.exited.catch(() => undefined);
    try {
      this.child.send({ type: 'stop' });
    } catch {
      // IPC already closed
    }
    await Promise.race([gone, new Promise((r) => setTimeout(r, 1000))]);
    killChild(this.child);
  }

  private next(type: ChildMessage['type']): Promise<ChildMessage> {
    return Promise.race([
      new Promise<ChildMessage>((resolve, reject) => {
        const onMessage = (m: ChildMessage): void => {
          if (m.type === 'error') reject(new Error(`load client failed: ${m.message}`));
          else if (m.type === type) resolve(m);
          else return;
          this.child.off('message', onMessage);
        };
        this.child.on('message', onMessage);
      }),
      this.exited,
    ]);
  }
}

/** Starts `configs` as clients, runs one segment on all of them at once, and closes them. */
export async function runClientsOnce(
  configs: ClientConfig[],
  warmupMs: number,
  durationMs: number,
  onGo?: () => void,
): Promise<ResultMessage[]> {
  const clients: LoadClient[] = [];
  try {
    for (const c of configs) clients.push(await LoadClient.start(c));
    const results = clients.map((c) => c.run(warmupMs, durationMs));
    onGo?.();
    return await Promise.all(results);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}
