import type { Campaign, Etcd3 } from 'etcd3';
import type { KeyLayout, Logger } from '@switchyard/core';

/**
 * Whether this control-plane replica may do leader-only work (the rollout
 * controller, the retirement sweeper). Leadership can end at any moment, so
 * leader-only work still makes every write a compare-and-swap: losing
 * leadership between a check and a write must never apply a stale decision.
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
  etcd: Etcd3;
  keys: KeyLayout;
  /** Election name; one per kind of leader-only work, or one shared. */
  name: string;
  /** This replica's id, stored as the candidate's value (etcdctl shows who leads). */
  candidateId: string;
  /** Candidate lease TTL: how long a dead leader blocks the others. @default 5 */
  ttlSeconds?: number;
  logger: Logger;
  /** Wait before campaigning again after the campaign failed (etcd down, lease lost). @default 1000 */
  retryMs?: number;
}

/**
 * Campaigns in an etcd3 Election (candidates are keys under one prefix bound
 * to their leases; the oldest wins) and campaigns again whenever the
 * campaign fails, so a replica that lost its lease in an outage rejoins the
 * queue when etcd returns. Losing the lease ends leadership at once, locally.
 */
export class EtcdLeaderElection implements Leadership {
  #leader = false;
  #campaign: Campaign | undefined;
  #stopped = false;
  #retryTimer: NodeJS.Timeout | undefined;
  readonly #listeners = new Set<(leader: boolean) => void>();
  readonly #ttl: number;
  readonly #retryMs: number;

  constructor(private readonly options: EtcdLeaderElectionOptions) {
    this.#ttl = options.ttlSeconds ?? 5;
    this.#retryMs = options.retryMs ?? 1000;
  }

  get isLeader(): boolean {
    return this.#leader;
  }

  onChange(listener: (leader: boolean) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  start(): void {
    if (this.#campaign || this.#stopped) return;
    const election = this.options.etcd.namespace(this.options.keys.electionNamespace()).election(this.options.name, this.#ttl);
    const campaign = election.campaign(this.options.candidateId);
    this.#campaign = campaign;
    campaign.on('elected', () => {
      if (this.#campaign !== campaign) return;
      this.options.logger.info('elected leader', { election: this.options.name });
      this.#set(true);
    });
    campaign.on('error', (err: Error) => {
      if (this.#campaign !== campaign) return;
      this.#campaign = undefined;
      campaign.removeAllListeners();
      campaign.on('error', () => undefined);
      void campaign.resign().catch(() => undefined);
      if (this.#stopped) return;
      this.options.logger.warn(this.#leader ? 'lost leadership; campaigning again' : 'campaign failed; campaigning again', {
        election: this.options.name,
        error: err.message,
        retryInMs: this.#retryMs,
      });
      this.#set(false);
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined;
        this.start();
      }, this.#retryMs);
    });
  }

  /** Resigns (bounded: etcd may be down) so another replica takes over without waiting for the TTL. */
  async stop(timeoutMs = 2000): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    const campaign = this.#campaign;
    this.#campaign = undefined;
    this.#set(false);
    if (!campaign) return;
    campaign.removeAllListeners();
    campaign.on('error', () => undefined);
    await Promise.race([campaign.resign().catch(() => undefined), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
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
