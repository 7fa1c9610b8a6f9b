import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { EtcdMemberRun, findEtcdBinary, loopbackUrl } from '@switchyard/core/etcd-server';
import { trackChild } from './child-processes.js';
import { freePort } from './free-port.js';
import { makeTempDir, removeDir } from './temp-dir.js';

const HOST = '127.0.0.1';
const READY_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 5_000;

/** Options for {@link startEtcd}. */
export interface EtcdOptions {
  /** Data directory; a fresh temp dir (removed by `destroy()`) when omitted. */
  dataDir?: string;
  /** Client port; a free one when omitted. */
  clientPort?: number;
  /** Peer (raft) port; a free one when omitted. */
  peerPort?: number;
  /** Member name (default `testkit`). */
  name?: string;
  /** Where etcd's stdout and stderr go (default `<dataDir>/etcd.log`). */
  logFile?: string;
  /** Raft heartbeat in ms (50 for {@link startEtcd}; etcd's 100 in clusters). */
  heartbeatMs?: number;
  /** Raft election timeout in ms (250 for {@link startEtcd}; etcd's 1000 in clusters). */
  electionTimeoutMs?: number;
  /** More command-line flags, appended last. */
  extraArgs?: string[];
}

/** Everything needed to (re)spawn one member; fixed for the member's life. */
interface MemberConfig {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  ownsDataDir: boolean;
  logFile: string;
  initialCluster: string;
  clusterToken: string;
  heartbeatMs: number | undefined;
  electionTimeoutMs: number | undefined;
  extraArgs: string[];
}

/** Options for {@link EtcdProcess.start}. */
export interface EtcdStartOptions {
  /**
   * Wait until `/health` reports healthy (default true). A member of a
   * cluster that lost quorum never gets healthy on its own, so tests that
   * restart members one by one can pass false and wait later.
   */
  waitReady?: boolean;
}

/**
 * Path of the etcd binary: `$ETCD_BIN`, else the first `etcd` on PATH, else
 * Debian's /usr/bin/etcd. Resolved up front so a missing binary gives a clear
 * error instead of a bare ENOENT from spawn.
 */
export function etcdBinary(): string {
  return findEtcdBinary() ?? '/usr/bin/etcd';
}

/**
 * One etcd member running as a child process on loopback: core's launcher
 * (the one `switchyard up` runs) plus what tests need around it.
 *
 * The object outlives its process: `stop()`/`kill()` end the process and
 * `start()` brings it back on the same ports and data dir, so stored keys
 * survive restarts.
 */
export class EtcdProcess {
  /** Client URL, `http://127.0.0.1:<clientPort>`. */
  readonly endpoint: string;
  /** Port etcd serves clients on. */
  readonly clientPort: number;
  /** Port etcd talks raft to its peers on. */
  readonly peerPort: number;
  /** etcd `--data-dir`. */
  readonly dataDir: string;
  /** Member name. */
  readonly name: string;
  /** File that receives etcd's stdout and stderr. */
  readonly logFile: string;

  readonly #config: MemberConfig;
  #run: EtcdMemberRun | undefined;
  #destroyed = false;

  /** @internal use {@link startEtcd} or {@link startEtcdCluster}. */
  constructor(config: MemberConfig) {
    this.#config = config;
    this.name = config.name;
    this.clientPort = config.clientPort;
    this.peerPort = config.peerPort;
    this.dataDir = config.dataDir;
    this.logFile = config.logFile;
    this.endpoint = loopbackUrl(config.clientPort);
  }

  /** Pid of the running etcd, or undefined while stopped. */
  get pid(): number | undefined {
    return this.#run?.pid;
  }

  /** Whether the etcd process is currently running. */
  get running(): boolean {
    return this.#run !== undefined;
  }

  /**
   * Spawns etcd (again) with the same ports and data dir and, unless told
   * otherwise, waits until it is healthy.
   * @throws if it is already running, or does not get healthy within 15 s
   *   (the error carries the tail of the log).
   */
  async start({ waitReady = true }: EtcdStartOptions = {}): Promise<void> {
    if (this.#destroyed) throw new Error(`etcd ${this.name}: start() after destroy()`);
    if (this.#run) throw new Error(`etcd ${this.name} is already running (pid ${this.pid})`);
    const c = this.#config;
    const run = await EtcdMemberRun.spawn({
      binary: etcdBinary(),
      name: c.name,
      dataDir: c.dataDir,
      clientPort: c.clientPort,
      peerPort: c.peerPort,
      logFile: c.logFile,
      initialCluster: c.initialCluster,
      clusterToken: c.clusterToken,
      // Only errors: the log file is for post-mortems, not a transcript.
      logLevel: 'error',
      heartbeatMs: c.heartbeatMs,
      electionTimeoutMs: c.electionTimeoutMs,
      extraArgs: c.extraArgs,
    });
    trackChild(run.process);
    this.#run = run;
    void run.exited.then(() => {
      if (this.#run === run) this.#run = undefined;
    });
    if (waitReady) await this.waitReady();
  }

  /**
   * Waits until `/health` says healthy (which needs a raft leader).
   * Fails fast if the process exits meanwhile.
   */
  async waitReady(timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    const run = this.#run;
    if (!run) throw new Error(`etcd ${this.name}: waitReady() while stopped`);
    await run.waitHealthy(timeoutMs);
  }

  /** SIGTERM, then SIGKILL if still alive after 5 s; resolves once it exited. */
  async stop(): Promise<void> {
    await this.#run?.stop(STOP_GRACE_MS);
  }

  /** SIGKILL (a crash, as far as etcd can tell); resolves once it exited. */
  async kill(): Promise<void> {
    await this.#run?.kill();
  }

  /** Kills etcd and removes the data dir if testkit created it. Idempotent. */
  async destroy(): Promise<void> {
    this.#destroyed = true;
    await this.kill();
    if (this.#config.ownsDataDir) await removeDir(this.dataDir);
  }

  /** Peer URL, `http://127.0.0.1:<peerPort>`. */
  get peerUrl(): string {
    return loopbackUrl(this.peerPort);
  }
}

/** Distinct free loopback ports; freePort alone may hand out one port twice. */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort(HOST));
  return [...ports];
}

async function memberConfig(
  options: EtcdOptions,
  clientPort: number,
  peerPort: number,
  initialCluster: string | undefined,
  clusterToken: string,
): Promise<MemberConfig> {
  const name = options.name ?? 'testkit';
  const dataDir = options.dataDir ?? (await makeTempDir(`switchyard-etcd-${name}-`));
  return {
    name,
    clientPort,
    peerPort,
    dataDir,
    ownsDataDir: options.dataDir === undefined,
    logFile: options.logFile ?? join(dataDir, 'etcd.log'),
    initialCluster: initialCluster ?? `${name}=http://${HOST}:${peerPort}`,
    clusterToken,
    heartbeatMs: options.heartbeatMs,
    electionTimeoutMs: options.electionTimeoutMs,
    extraArgs: options.extraArgs ?? [],
  };
}

function newClusterToken(): string {
  return `switchyard-testkit-${randomBytes(4).toString('hex')}`;
}

const PORT_ATTEMPTS = 3;

/**
 * Runs `attempt` again (up to 3 times) when etcd lost a race for a port that
 * freePort() had just found free, e.g. to another test worker.
 */
async function retryOnPortClash<T>(canRetry: boolean, attempt: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      const clash = error instanceof Error && error.message.includes('address already in use');
      if (!canRetry || !clash || i >= PORT_ATTEMPTS) throw error;
    }
  }
}

/**
 * Starts a single-member etcd on 127.0.0.1 and waits until it is healthy.
 * Call `destroy()` when done (typically in `test.after.always`).
 */
export function startEtcd(options: EtcdOptions = {}): Promise<EtcdProcess> {
  const portsChosenHere = options.clientPort === undefined && options.peerPort === undefined;
  return retryOnPortClash(portsChosenHere, async () => {
    const [autoClient, autoPeer] = await freePorts(2);
    const config = await memberConfig(
      // A lone member has no peer to lose touch with, so short raft timers are
      // safe; they cut a restart (which waits one election timeout) from ~1.2 s.
      { heartbeatMs: 50, electionTimeoutMs: 250, ...options },
      options.clientPort ?? autoClient!,
      options.peerPort ?? autoPeer!,
      undefined,
      newClusterToken(),
    );
    const member = new EtcdProcess(config);
    try {
      await member.start();
    } catch (error) {
      await member.destroy();
      throw error;
    }
    return member;
  });
}

/** A static etcd cluster started by {@link startEtcdCluster}. */
export interface EtcdCluster {
  /** The members, in initial-cluster order (names `etcd-0`, `etcd-1`, ...). */
  members: EtcdProcess[];
  /** Client URLs of all members, for `new Etcd3({ hosts: endpoints })`. */
  endpoints: string[];
  /** Kills every member and removes their data dirs. */
  destroy(): Promise<void>;
}

/** Options for {@link startEtcdCluster}. */
export type EtcdClusterOptions = Pick<EtcdOptions, 'heartbeatMs' | 'electionTimeoutMs' | 'extraArgs'>;

/**
 * Starts `size` etcd members on loopback ports as one statically configured
 * cluster and waits until every member is healthy.
 */
export function startEtcdCluster(size = 3, options: EtcdClusterOptions = {}): Promise<EtcdCluster> {
  if (!Number.isInteger(size) || size < 1) throw new Error(`startEtcdCluster: bad size ${size}`);
  return retryOnPortClash(true, () => startClusterOnce(size, options));
}

async function startClusterOnce(size: number, options: EtcdClusterOptions): Promise<EtcdCluster> {
  const ports = await freePorts(2 * size);
  const names = Array.from({ length: size }, (_, i) => `etcd-${i}`);
  const peerPort = (i: number): number => ports[2 * i + 1]!;
  const initialCluster = names.map((name, i) => `${name}=http://${HOST}:${peerPort(i)}`).join(',');
  const token = newClusterToken();
  const members: EtcdProcess[] = [];
  const destroy = async (): Promise<void> => {
    await Promise.all(members.map((m) => m.destroy()));
  };
  try {
    for (const [i, name] of names.entries()) {
      const config = await memberConfig({ ...options, name }, ports[2 * i]!, peerPort(i), initialCluster, token);
      members.push(new EtcdProcess(config));
    }
    // No member gets healthy before a quorum is up, so spawn all, then wait.
    await Promise.all(members.map((m) => m.start({ waitReady: false })));
    await Promise.all(members.map((m) => m.waitReady()));
  } catch (error) {
    await destroy();
    throw error;
  }
  return { members, endpoints: members.map((m) => m.endpoint), destroy };
}
