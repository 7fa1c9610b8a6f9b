import type { Logger } from '@switchyard/core';
import { EtcdAccess, type EtcdClient, type EtcdLease } from './etcd-client.js';

const MIN_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 10_000;

/** Options for {@link LeaseRegistration}. */
export interface LeaseRegistrationOptions {
  etcd: EtcdClient;
  /** The key to keep alive. */
  key: string;
  /** The value to write; called on every (re-)registration. */
  value: () => string;
  /** Lease TTL: how long the key outlives this process after a crash. */
  ttlSeconds: number;
  logger: Logger;
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Keeps one key in etcd for as long as this process lives, bound to a lease
 * so that it disappears on its own when the process dies. When the lease is
 * lost (etcd was unreachable for longer than the TTL, or revoked it), a new
 * lease is granted and the key written again, with backoff. An etcd outage
 * is logged, never thrown: the process keeps serving and re-registers once
 * etcd is back.
 */
export class LeaseRegistration {
  readonly #options: LeaseRegistrationOptions;
  readonly #access: EtcdAccess;
  #lease: EtcdLease | undefined;
  #registered = false;
  #stopped = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #backoffMs = MIN_BACKOFF_MS;

  constructor(options: LeaseRegistrationOptions) {
    this.#options = options;
    this.#access = new EtcdAccess(options.etcd);
  }

  /** Whether the key is currently written under a live lease, as far as this process knows. */
  get registered(): boolean {
    return this.#registered;
  }

  /**
   * Makes the first attempt and resolves when it is done, successful or not;
   * failures are retried in the background.
   */
  async start(): Promise<void> {
    await this.#register();
  }

  /**
   * Stops re-registering and revokes the lease, which deletes the key. Gives
   * up after `timeoutMs` (etcd may be down); the key then expires with its TTL.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    const lease = this.#lease;
    this.#lease = undefined;
    this.#registered = false;
    if (!lease) return;
    try {
      await withTimeout(this.#access.revoke(lease, timeoutMs), timeoutMs, 'revoking the etcd lease');
    } catch (err) {
      this.#options.logger.warn('could not revoke the etcd lease; the registration expires with its TTL', {
        key: this.#options.key,
        error: String(err),
      });
    }
  }

  async #register(): Promise<void> {
    if (this.#stopped) return;
    const { key, ttlSeconds, logger } = this.#options;
    const lease = this.#access.lease(ttlSeconds);
    this.#lease = lease;
    lease.on('lost', (err: Error) => this.#onLost(lease, err));
    try {
      await this.#access.putWithLease(lease, key, this.#options.value());
    } catch (err) {
      if (this.#stopped || lease !== this.#lease) return;
      this.#lease = undefined;
      // It may have been granted before the put failed; do not leave it ticking.
      void this.#access.revoke(lease).catch(() => undefined);
      logger.warn('could not register in etcd; retrying', { key, error: String(err), retryInMs: this.#backoffMs });
      this.#scheduleRetry();
      return;
    }
    if (this.#stopped || lease !== this.#lease) return;
    this.#registered = true;
    this.#backoffMs = MIN_BACKOFF_MS;
    logger.info('registered in etcd', { key, ttlSeconds });
  }

  #onLost(lease: EtcdLease, err: Error): void {
    if (this.#stopped || lease !== this.#lease) return;
    this.#lease = undefined;
    this.#registered = false;
    this.#options.logger.warn('lost the etcd lease of the registration; registering again', {
      key: this.#options.key,
      error: err.message,
      retryInMs: this.#backoffMs,
    });
    this.#scheduleRetry();
  }

  #scheduleRetry(): void {
    if (this.#stopped) return;
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(MAX_BACKOFF_MS, delay * 2);
    clearTimeout(this.#retryTimer);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      void this.#register();
    }, delay);
  }
}
