import type { KeyLayout, Logger } from '@switchyard/core';
import { EtcdAccess, type EtcdClient, type EtcdLease } from './etcd-client.js';

/**
 * Whether this control-plane replica may do leader-only work (the rollout
 * controller, the retirement sweeper, the shadow keeper). Leadership can end
 * at any moment, so leader-only work still makes every write a
 * compare-and-swap: losing leadership between a check and a write must never
 * apply a stale decision.
 */
export interface Leadership {
  readonly isLeader: boolean;
  /** Calls `listener` on every change; returns a function that unsubscribes. */
  onChange(listener: (leader: boolean) => void): () => void;
}

/** A fixed answer, for tests and single-replica tools. */
export class StaticLeadership implements Leadership {
  constructor(readonly isLeader: boolean) {}
  onChange(): () => void {
    return () => undefined;
  }
}

/** Options for {@link EtcdLeaderElection}. */
export interface EtcdLeaderElectionOptions {
  etcd: EtcdClient;
  keys: KeyLayout;
  /** Election name; the leader key is `{prefix}runtime/election/{name}`. */
  name: string;
  /** This replica's id, stored as the leader key's value (etcdctl shows who leads). */
  candidateId: string;
  /** Lease TTL: how long a leader that died without resigning blocks the others. @default 5 */
  ttlSeconds?: number;
  logger: Logger;
  /** How often a follower tries to take the key, and a leader checks it still holds it. @default 1000 */
  retryMs?: number;
}

/**
 * One leader key bound to the leader's lease, taken with a create-if-absent
 * transaction. Followers try again every `retryMs`; the leader re-reads the
 * key as often, and losing its lease (etcd unreachable past the TTL) or the
 * key ends leadership at once, locally. Resigning revokes the lease, which
 * deletes the key, so a follower takes over within `retryMs`.
 *
 * etcd3's own Election was used first: its candidates wait for their
 * predecessor's deletion on a watch that cannot be cancelled while etcd is
 * unreachable, so a replica stopped during an outage kept reconnecting it
 * forever and its process never exited. Polling one key has no such state.
 */
export class EtcdLeaderElection implements Leadership {
  #leader = false;
  #lease: EtcdLease | undefined;
  #leaseId: string | undefined;
  #stopped = false;
  #started = false;
  #timer: NodeJS.Timeout | undefined;
  readonly #listeners = new Set<(leader: boolean) => void>();
  readonly #ttl: number;
  readonly #retryMs: number;
  readonly #key: string;
  readonly #access: EtcdAccess;

  constructor(private readonly options: EtcdLeaderElectionOptions) {
    this.#access = new EtcdAccess(options.etcd);
    this.#ttl = options.ttlSeconds ?? 5;
    this.#retryMs = options.retryMs ?? 1000;
    this.#key = options.keys.election(options.name);
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  /** The leader key, for diagnostics and etcdctl. */
  get key(): string {
    return this.#key;
  }

  onChange(listener: (leader: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    void this.#attempt();
  }

  /** Resigns (bounded: etcd may be down) so another replica takes over without waiting for the TTL. */
  async stop(timeoutMs = 2000): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#set(false);
    const lease = this.#lease;
    this.#lease = undefined;
    if (!lease) return;
    lease.removeAllListeners();
    lease.on('lost', () => undefined);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.#access.revoke(lease).catch(() => undefined),
      new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]).finally(() => clearTimeout(timer));
  }

  async #attempt(): Promise<void> {
    if (this.#stopped) return;
    try {
      const leaseId = await this.#ensureLease();
      // Create-if-absent; when it is there, read who holds it.
      const result = await this.#access.txn(
        [{ key: this.#key, createRevision: '0' }],
        [{ put: this.#key, value: this.options.candidateId, lease: leaseId }],
        [{ get: this.#key }],
      );
      if (this.#stopped) return;
      // After a reconnect the key may already be ours: same lease.
      const holder = result.succeeded ? leaseId : result.reads[0]?.lease;
      const mine = holder !== undefined && String(holder) === leaseId;
      if (mine && !this.#leader) this.options.logger.info('elected leader', { election: this.options.name, key: this.#key });
      if (!mine && this.#leader) this.options.logger.warn('the leader key is no longer ours; stepping down', { election: this.options.name });
      this.#set(mine);
    } catch (err) {
      if (this.#stopped) return;
      if (this.#leader) this.options.logger.warn('cannot confirm leadership; stepping down', { election: this.options.name, error: String(err) });
      this.#set(false);
    }
    this.#schedule();
  }

  async #ensureLease(): Promise<string> {
    if (this.#lease && this.#leaseId) return this.#leaseId;
    const lease = this.#access.lease(this.#ttl, { autoKeepAlive: true });
    this.#lease = lease;
    lease.on('lost', (err: Error) => {
      if (this.#lease !== lease) return;
      this.#lease = undefined;
      this.#leaseId = undefined;
      if (this.#leader) this.options.logger.warn('lost the election lease; stepping down', { election: this.options.name, error: err.message });
      this.#set(false);
    });
    try {
      this.#leaseId = await this.#access.grant(lease);
    } catch (err) {
      if (this.#lease === lease) this.#lease = undefined;
      void this.#access.revoke(lease).catch(() => undefined);
      throw err;
    }
    return this.#leaseId;
  }

  #schedule(): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#attempt(), this.#retryMs);
    this.#timer.unref();
  }

  #set(leader: boolean): void {
    if (this.#leader === leader) return;
    this.#leader = leader;
    for (const listener of this.#listeners) {
      try {
        listener(leader);
      } catch (err) {
        this.options.logger.error('leadership listener failed', { error: String(err) });
      }
    }
  }
}
