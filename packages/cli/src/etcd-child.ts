import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants as fsConstants, openSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { get as httpGet } from 'node:http';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { usageError } from './exit-codes.js';

const HOST = '127.0.0.1';

/** What to tell someone without etcd. */
export const INSTALL_HINT = "install it with './scripts/quickstart' (does everything) or 'apt-get install etcd-server', or set ETCD_BIN to its path";

/** `$ETCD_BIN`, else the first `etcd` on PATH; undefined when there is none. */
export function findEtcdBinary(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = env.ETCD_BIN ? [env.ETCD_BIN] : (env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'etcd'));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not this one
    }
  }
  return undefined;
}

/** Options for {@link EtcdChild.start}. */
export interface EtcdChildOptions {
  binary: string;
  dataDir: string;
  logFile: string;
  clientPort: number;
  peerPort: number;
  /** How long to wait for /health. @default 20000 */
  readyTimeoutMs?: number;
}

/**
 * A single-member etcd run as a child process for `switchyard up`.
 *
 * It gets its own process group, so a Ctrl-C in the terminal reaches only
 * `switchyard up`, which then stops the nodes (they revoke their leases in
 * etcd) before it stops etcd.
 */
export class EtcdChild {
  private readonly exited: Promise<void>;

  private constructor(
    private readonly child: ChildProcess,
    readonly pid: number,
    readonly endpoint: string,
    readonly logFile: string,
  ) {
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
    });
  }

  static async start(options: EtcdChildOptions): Promise<EtcdChild> {
    await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
    const endpoint = `http://${HOST}:${options.clientPort}`;
    const peer = `http://${HOST}:${options.peerPort}`;
    const args = [
      '--name', 'switchyard',
      '--data-dir', options.dataDir,
      '--listen-client-urls', endpoint,
      '--advertise-client-urls', endpoint,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `switchyard=${peer}`,
      '--initial-cluster-state', 'new',
      '--logger', 'zap',
      '--log-level', 'warn',
      '--log-outputs', 'stderr',
    ];
    // etcd writes into the file itself, so its log outlives this process and nothing here drains pipes.
    const logFd = openSync(options.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(options.binary, args, { stdio: ['ignore', logFd, logFd], detached: true });
    } finally {
      closeSync(logFd);
    }
    const spawnError = await new Promise<Error | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', resolve);
    });
    if (spawnError || child.pid === undefined) {
      throw usageError(`cannot run etcd (${options.binary}): ${spawnError?.message ?? 'no pid'}; ${INSTALL_HINT}`);
    }
    const etcd = new EtcdChild(child, child.pid, endpoint, options.logFile);
    // If this process dies without stopping the cluster, do not leave etcd behind.
    const killOnExit = (): void => etcd.killNow();
    process.once('exit', killOnExit);
    child.once('exit', () => process.removeListener('exit', killOnExit));
    try {
      await etcd.waitHealthy(options.clientPort, options.readyTimeoutMs ?? 20_000);
    } catch (err) {
      await etcd.stop();
      throw err;
    }
    return etcd;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM, SIGKILL after `graceMs`; resolves once the process is gone. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL without waiting; for exit hooks. */
  killNow(): void {
    if (this.running) this.signal('SIGKILL');
  }

  private signal(signal: NodeJS.Signals): void {
    try {
      process.kill(this.pid, signal);
    } catch {
      // already gone
    }
  }

  private async waitHealthy(clientPort: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) {
        throw usageError(
          `etcd exited during startup (exit code ${this.child.exitCode ?? this.child.signalCode}). Last lines of ${this.logFile}:\n` +
            `${logTail(this.logFile)}\nIf the port is taken, pick another with --etcd-port.`,
        );
      }
      if (await healthy(clientPort)) return;
      await sleep(100);
    }
    throw usageError(`etcd did not become healthy within ${timeoutMs} ms; see ${this.logFile}:\n${logTail(this.logFile)}`);
  }
}

function healthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const request = httpGet({ host: HOST, port, path: '/health', agent: false, timeout: 1000 }, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve(response.statusCode === 200 && body.includes('"health":"true"')));
      response.on('error', () => resolve(false));
    });
    request.on('timeout', () => request.destroy());
    request.on('error', () => resolve(false));
  });
}

function logTail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch (err) {
    return `(cannot read the log: ${(err as Error).message})`;
  }
}

/** Whether `pid` is a live etcd process (Linux checks the command line, elsewhere only liveness). */
export function isEtcdProcess(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('etcd');
  } catch {
    return true;
  }
}
