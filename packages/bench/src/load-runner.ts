/**
 * Runs load-client child processes for one phase: forks them, waits until
 * all are connected, starts them together and collects their results. Every
 * child is tracked by pid and SIGKILLed if it outlives its phase, the phase
 * fails, or this process exits.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { trackChild } from '@switchyard/testkit';
import type { ChildMessage, LoadClientConfig, ResultMessage } from './load-protocol.js';

const CLIENT_MODULE = fileURLToPath(new URL('./load-client.js', import.meta.url));

/** Children alive right now, so the bench can kill them on any exit path. */
const live = new Set<ChildProcess>();

/** SIGKILLs every load-client child still running, by pid. */
export function killLoadClients(): void {
  for (const child of live) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  live.clear();
}

class ClientProcess {
  readonly child: ChildProcess;
  readonly ready: Promise<void>;
  readonly result: Promise<ResultMessage>;

  constructor(config: Omit<LoadClientConfig, 'type'>) {
    // execArgv [] so a profiled bench (--cpu-prof) does not profile its clients.
    this.child = fork(CLIENT_MODULE, [], { execArgv: [], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    trackChild(this.child);
    live.add(this.child);
    this.child.once('exit', () => live.delete(this.child));
    const exited = new Promise<never>((_, reject) => {
      this.child.once('exit', (code, signal) => reject(new Error(`load client exited early (code ${code}, signal ${signal})`)));
      this.child.once('error', reject);
    });
    exited.catch(() => undefined);
    const message = (type: ChildMessage['type']): Promise<ChildMessage> =>
      Promise.race([
        new Promise<ChildMessage>((resolve, reject) => {
          const onMessage = (m: ChildMessage): void => {
            if (m.type === 'error') reject(new Error(`load client failed: ${m.message}`));
            else if (m.type === type) resolve(m);
            else return;
            this.child.off('message', onMessage);
          };
          this.child.on('message', onMessage);
        }),
        exited,
      ]);
    this.ready = message('ready').then(() => undefined);
    this.result = message('result') as Promise<ResultMessage>;
    this.ready.catch(() => undefined);
    this.result.catch(() => undefined);
    this.child.send({ type: 'config', ...config } satisfies LoadClientConfig);
  }

  go(): void {
    this.child.send({ type: 'go' });
  }

  kill(): void {
    if (this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null) {
      try {
        process.kill(this.child.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Runs the given clients together: all start once all are connected. The
 * phase is bounded: warm-up + duration + the largest call deadline + slack.
 */
export async function runClients(configs: Omit<LoadClientConfig, 'type'>[], onGo?: () => void): Promise<ResultMessage[]> {
  const clients = configs.map((c) => new ClientProcess(c));
  try {
    await withTimeout(Promise.all(clients.map((c) => c.ready)), 20_000, 'load clients connecting');
    for (const c of clients) c.go();
    onGo?.();
    const bound = Math.max(...configs.map((c) => c.warmupMs + c.durationMs + c.deadlineMs)) + 10_000;
    return await withTimeout(Promise.all(clients.map((c) => c.result)), bound, 'load phase');
  } finally {
    for (const c of clients) c.kill();
  }
}
