import { ETCD_COMPACTION_ARGS, EtcdMemberRun, EtcdStartError } from '@switchyard/core/etcd-server';
import { usageError } from './exit-codes.js';

export { findEtcdBinary, isEtcdProcess } from '@switchyard/core/etcd-server';

/** What to tell someone without etcd. */
export const INSTALL_HINT = "install it with './scripts/quickstart' (does everything) or 'apt-get install etcd-server', or set ETCD_BIN to its path";

/**
 * Backend quota of the etcd `up` starts: 1 GiB, half etcd's default. A
 * local cluster's live data is a few MB (record limits, a bounded audit
 * log, hourly compaction), so reaching it means something writes far too
 * much; a smaller database also defragments faster. Past it etcd refuses
 * writes until compacted, defragmented and disarmed (docs/operations.md).
 */
export const LOCAL_ETCD_QUOTA_BYTES = 1024 * 1024 * 1024;

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
 * A single-member etcd run as a child process for `switchyard up`: core's
 * etcd launcher (the test kit's too), with start-up failures turned into
 * usage errors that say what to do.
 *
 * It gets its own process group, so a Ctrl-C in the terminal reaches only
 * `switchyard up`, which then stops the nodes (they revoke their leases in
 * etcd) before it stops etcd.
 */
export class EtcdChild {
  private constructor(private readonly run: EtcdMemberRun) {}

  static async start(options: EtcdChildOptions): Promise<EtcdChild> {
    let run: EtcdMemberRun;
    try {
      run = await EtcdMemberRun.spawn({
        binary: options.binary,
        name: 'switchyard',
        dataDir: options.dataDir,
        logFile: options.logFile,
        clientPort: options.clientPort,
        peerPort: options.peerPort,
        detached: true,
        extraArgs: [...ETCD_COMPACTION_ARGS, `--quota-backend-bytes=${LOCAL_ETCD_QUOTA_BYTES}`],
      });
    } catch (err) {
      throw usageError(`${(err as Error).message}; ${INSTALL_HINT}`);
    }
    const etcd = new EtcdChild(run);
    // An etcd left behind would hold the port and the data dir's lock.
    const killOnExit = (): void => run.killNow();
    process.once('exit', killOnExit);
    void run.exited.then(() => process.removeListener('exit', killOnExit));
    try {
      await run.waitHealthy(options.readyTimeoutMs ?? 20_000, 100);
    } catch (err) {
      await run.stop();
      const exited = err instanceof EtcdStartError && err.reason === 'exited';
      throw usageError(`${(err as Error).message}${exited ? '\nIf the port is taken, pick another with --etcd-port.' : ''}`);
    }
    return etcd;
  }

  get pid(): number {
    return this.run.pid;
  }

  get endpoint(): string {
    return this.run.endpoint;
  }

  get logFile(): string {
    return this.run.config.logFile;
  }

  get running(): boolean {
    return this.run.running;
  }

  /** SIGTERM, SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs = 5000): Promise<void> {
    return this.run.stop(graceMs);
  }

  /** SIGKILL without waiting; for exit hooks. */
  killNow(): void {
    this.run.killNow();
  }
}
