import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, closeSync, constants as fsConstants, openSync, readFileSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

// One etcd member run as a child process on loopback: what `switchyard up`
// runs for a local cluster and what the test kit runs per test file, so both
// spawn, probe and stop etcd the same way.

const HOST = '127.0.0.1';

/** `$ETCD_BIN`, else the first executable `etcd` on PATH; undefined when there is none. */
export function findEtcdBinary(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = env.ETCD_BIN ? [env.ETCD_BIN] : (env.PATH ?? '').split(delimiter).filter(Boolean).map((dir) => join(dir, 'etcd'));
  for (const candidate of candidates) {
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // Not there or not executable: try the next one.
    }
  }
  return undefined;
}

/**
 * Auto-compaction of every etcd Switchyard runs: `switchyard up`'s and the
 * members of deploy/k8s/etcd.yaml (packages/cli/test/deploy-manifests.test.ts
 * keeps the two in step). Without it etcd keeps every revision of every key
 * until its quota is full, and then refuses all writes. Periodic, keeping an
 * hour: a watcher cut off for less than that resumes where it was, and the
 * window does not shrink as the write rate grows, as a revision count would
 * (nodes' usage records alone are tens of writes a second in a large
 * cluster).
 */
export const ETCD_COMPACTION_ARGS: readonly string[] = ['--auto-compaction-mode=periodic', '--auto-compaction-retention=1h'];

/** How to run one member. */
export interface EtcdMemberConfig {
  /** Path of the etcd binary (see {@link findEtcdBinary}). */
  binary: string;
  /** `--name` of the member. */
  name: string;
  dataDir: string;
  clientPort: number;
  peerPort: number;
  /** Receives etcd's stdout and stderr; appended to, so it survives restarts. */
  logFile: string;
  /** `--initial-cluster`. @default this member alone */
  initialCluster?: string;
  /** `--initial-cluster-token`. @default etcd's */
  clusterToken?: string;
  /** etcd's `--log-level`. @default 'warn' */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Raft heartbeat in ms. @default etcd's (100) */
  heartbeatMs?: number | undefined;
  /** Raft election timeout in ms. @default etcd's (1000) */
  electionTimeoutMs?: number | undefined;
  /** More flags, appended last. */
  extraArgs?: readonly string[];
  /**
   * Its own process group, so a terminal's Ctrl-C reaches only the parent,
   * which stops its servers before etcd. @default false
   */
  detached?: boolean;
}

/** `http://127.0.0.1:<port>`. */
export function loopbackUrl(port: number): string {
  return `http://${HOST}:${port}`;
}

/** etcd's command line for a member. */
export function etcdMemberArgs(config: EtcdMemberConfig): string[] {
  const client = loopbackUrl(config.clientPort);
  const peer = loopbackUrl(config.peerPort);
  return [
    '--name', config.name,
    '--data-dir', config.dataDir,
    '--listen-client-urls', client,
    '--advertise-client-urls', client,
    '--listen-peer-urls', peer,
    '--initial-advertise-peer-urls', peer,
    '--initial-cluster', config.initialCluster ?? `${config.name}=${peer}`,
    ...(config.clusterToken === undefined ? [] : ['--initial-cluster-token', config.clusterToken]),
    '--initial-cluster-state', 'new',
    // The log file is for post-mortems, not a transcript.
    '--logger', 'zap',
    '--log-level', config.logLevel ?? 'warn',
    '--log-outputs', 'stderr',
    ...(config.heartbeatMs === undefined ? [] : ['--heartbeat-interval', String(config.heartbeatMs)]),
    ...(config.electionTimeoutMs === undefined ? [] : ['--election-timeout', String(config.electionTimeoutMs)]),
    ...(config.extraArgs ?? []),
  ];
}

/** Status and body of one loopback HTTP request, or undefined when it failed. */
function request(port: number, method: 'GET' | 'POST', path: string, body?: string): Promise<{ status: number; body: string } | undefined> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: HOST, port, method, path, agent: false, timeout: 1_000 }, (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }));
      response.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
    req.end(body);
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

interface MemberListReply {
  header?: { member_id?: string };
  members?: { ID?: string; peerURLs?: string[] }[];
}

/**
 * True when the etcd answering on `clientPort` is the member advertising
 * `peerUrl` and reports `{"health":"true"}`. The identity check matters: if
 * the port was taken by another etcd, ours dies at once while the other one
 * would pass a bare /health probe.
 */
export async function isOurMemberHealthy(clientPort: number, peerUrl: string): Promise<boolean> {
  const list = await request(clientPort, 'POST', '/v3/cluster/member/list', '{}');
  if (list?.status !== 200) return false;
  const reply = parseJson(list.body) as MemberListReply | undefined;
  const self = reply?.members?.find((m) => m.ID !== undefined && m.ID === reply.header?.member_id);
  if (!self?.peerURLs?.includes(peerUrl)) return false;
  const health = await request(clientPort, 'GET', '/health');
  return health?.status === 200 && (parseJson(health.body) as { health?: unknown } | undefined)?.health === 'true';
}

/** The last `lines` lines of a log file, or why it could not be read. */
export async function logTail(logFile: string, lines = 30): Promise<string> {
  try {
    const tail = (await readFile(logFile, 'utf8')).trimEnd().split('\n').slice(-lines).join('\n');
    return tail === '' ? '(log is empty)' : tail;
  } catch (err) {
    return `(could not read the log: ${(err as Error).message})`;
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
    // Synchronous on purpose: a one-off check before anything starts.
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('etcd');
  } catch {
    return true;
  }
}

/** Why {@link EtcdMemberRun.waitHealthy} gave up. */
export class EtcdStartError extends Error {
  constructor(
    message: string,
    /** 'exited': the process died during start-up (a taken port, a bad flag); 'timeout': it never became healthy. */
    readonly reason: 'exited' | 'timeout' | 'spawn',
  ) {
    super(message);
    this.name = 'EtcdStartError';
  }
}

/**
 * One run of one member: from spawn to exit. A member restarted on the same
 * data dir is a new run. Signals go to the pid this run spawned, never to
 * anything else.
 */
export class EtcdMemberRun {
  /** Resolves once the process has exited (or failed to spawn). */
  readonly exited: Promise<void>;
  readonly endpoint: string;
  readonly peerUrl: string;

  private constructor(
    private readonly child: ChildProcess,
    readonly config: EtcdMemberConfig,
  ) {
    this.endpoint = loopbackUrl(config.clientPort);
    this.peerUrl = loopbackUrl(config.peerPort);
    this.exited = new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      // spawn failures (e.g. ENOENT) emit 'error' and never 'exit'.
      child.once('error', () => resolve());
    });
  }

  /**
   * Spawns the member, its output straight into the log file (nothing here
   * has to drain pipes, and the log survives this process).
   * @throws EtcdStartError ('spawn') when the binary cannot be run.
   */
  static async spawn(config: EtcdMemberConfig): Promise<EtcdMemberRun> {
    await mkdir(config.dataDir, { recursive: true, mode: 0o700 });
    const logFd = openSync(config.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(config.binary, etcdMemberArgs(config), { stdio: ['ignore', logFd, logFd], detached: config.detached ?? false });
    } finally {
      closeSync(logFd);
    }
    const spawnError = await new Promise<Error | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', resolve);
    });
    if (spawnError || child.pid === undefined) {
      throw new EtcdStartError(`cannot run etcd (${config.binary}): ${spawnError?.message ?? 'no pid'}`, 'spawn');
    }
    return new EtcdMemberRun(child, config);
  }

  /** The process this run spawned. */
  get process(): ChildProcess {
    return this.child;
  }

  get pid(): number {
    return this.child.pid!;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** How it ended, for messages: "exit code 1" or "signal SIGKILL". */
  describeExit(): string {
    return this.child.signalCode !== null ? `signal ${this.child.signalCode}` : `exit code ${this.child.exitCode ?? 'none'}`;
  }

  /**
   * Waits until this member answers as itself and is healthy (which needs a
   * raft leader); fails fast if the process exits meanwhile.
   * @throws EtcdStartError with the log's tail.
   */
  async waitHealthy(timeoutMs: number, intervalMs = 50): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    void this.exited.then(() => (exited = true));
    while (!exited && Date.now() < deadline) {
      if (await isOurMemberHealthy(this.config.clientPort, this.peerUrl)) return;
      await Promise.race([sleep(intervalMs), this.exited]);
    }
    const tail = await logTail(this.config.logFile);
    if (exited || !this.running) {
      throw new EtcdStartError(
        `etcd ${this.config.name} at ${this.endpoint} exited during startup (${this.describeExit()}); last lines of ${this.config.logFile}:\n${tail}`,
        'exited',
      );
    }
    throw new EtcdStartError(
      `etcd ${this.config.name} at ${this.endpoint} did not become healthy within ${timeoutMs} ms; last lines of ${this.config.logFile}:\n${tail}`,
      'timeout',
    );
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILL (a crash, as far as etcd can tell); resolves once it exited. */
  async kill(): Promise<void> {
    this.killNow();
    await this.exited;
  }

  /** SIGKILL without waiting; for exit hooks. */
  killNow(): void {
    if (this.running) this.signal('SIGKILL');
  }

  private signal(signal: NodeJS.Signals): void {
    try {
      this.child.kill(signal);
    } catch {
      // Already gone.
    }
  }
}
