import type { Clock, KeyLayout, Logger, RouteRecord, ShadowEntry } from '@switchyard/core';
import type { EtcdClient } from './etcd-client.js';
import type { Leadership } from './leader-election.js';
import { writeShadows } from './shadow-route-write.js';
import type { TargetStateStore } from './target-state-store.js';

/** The audit log's actor for the keeper's removals. */
export const SHADOW_KEEPER_ACTOR = 'shadow-keeper';

/** Options for {@link ShadowKeeper}. */
export interface ShadowKeeperOptions {
  /** Routes and figures are read, and routes written, through its tables. */
  state: TargetStateStore;
  /** Not read: `state` holds the client and key layout. Accepted for callers that still pass them. */
  etcd?: EtcdClient;
  /** Not read, as `etcd`. */
  keys?: KeyLayout;
  leadership: Leadership;
  logger: Logger;
  clock: Clock;
  /** Time between passes (ControlPlaneOptions.shadowKeeperIntervalMs, --shadow-keeper-interval). @default 5000 */
  intervalMs?: number;
}

/**
 * Leader-only: removes shadows whose `until` has passed or whose mirrored
 * requests, summed over every node's figures, reached their `budget`. Nodes
 * already stop mirroring past `until` by themselves; the budget can only be
 * enforced here, so it overshoots by up to one pass plus one publish
 * interval of traffic. Each removal is a compare-and-swap of the route with
 * an audit entry, so a replica that lost leadership mid-pass cannot undo a
 * newer change.
 */
export class ShadowKeeper {
  readonly #o: ShadowKeeperOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(options: ShadowKeeperOptions) {
    this.#o = options;
  }

  start(): void {
    if (this.#timer) return;
    const intervalMs = this.#o.intervalMs ?? 5000;
    this.#timer = setInterval(() => void this.tick(), intervalMs);
    this.#timer.unref();
    this.#o.logger.debug('shadow keeper started; it acts while this replica leads', { intervalMs });
  }

  /** Stops ticking; waits for a running pass at most `timeoutMs` (etcd may be down), and it writes nothing more. */
  async stop(timeoutMs = 2000): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#stopped = true;
    await Promise.race([this.#running, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
  }

  /** One pass, when leading; resolves when done. Failures are logged and retried next pass. */
  tick(): Promise<void> {
    const running = (this.#running ??= this.#pass()
      .catch((err: unknown) => void this.#o.logger.warn('shadow keeper pass failed; retrying next pass', { error: String(err) }))
      .finally(() => (this.#running = undefined)));
    return running;
  }

  async #pass(): Promise<void> {
    if (this.#stopped || !this.#o.leadership.isLeader) return;
    for (const { value: route } of await this.#o.state.tables.routes.listValid({ quiet: true })) {
      if (route.shadows.length === 0) continue;
      for (const { entry, reason } of await this.#finished(route)) {
        if (this.#stopped || !this.#o.leadership.isLeader) return;
        await this.#remove(route.model, entry, reason);
      }
    }
  }

  /** The route's shadows that should end now, and why. */
  async #finished(route: RouteRecord): Promise<{ entry: ShadowEntry; reason: string }[]> {
    const now = this.#o.clock.now();
    const out: { entry: ShadowEntry; reason: string }[] = [];
    let mirrored: Map<string, number> | undefined;
    for (const entry of route.shadows) {
      if (entry.until !== null && !(Date.parse(entry.until) > now)) {
        out.push({ entry, reason: `its end time ${entry.until} passed` });
        continue;
      }
      if (entry.budget === null) continue;
      mirrored ??= await this.#mirrored(route.model);
      const count = mirrored.get(entry.version) ?? 0;
      if (count >= entry.budget) out.push({ entry, reason: `it mirrored ${count} requests, its budget is ${entry.budget}` });
    }
    return out;
  }

  /** Mirrored requests per shadow version, over every primary and node. */
  async #mirrored(model: string): Promise<Map<string, number>> {
    const sums = new Map<string, number>();
    for (const r of await this.#o.state.tables.figures.shadow(model)) {
      sums.set(r.shadow, (sums.get(r.shadow) ?? 0) + r.mirrored);
    }
    return sums;
  }

  async #remove(model: string, entry: ShadowEntry, reason: string): Promise<void> {
    await writeShadows({
      state: this.#o.state,
      model,
      actor: SHADOW_KEEPER_ACTOR,
      action: 'RemoveShadow',
      version: entry.version,
      now: () => new Date(this.#o.clock.now()).toISOString(),
      // Only the entry judged finished: one re-added or changed meanwhile is left alone.
      change: (current) => {
        const still = current.shadows.find((s) => s.version === entry.version);
        if (!still || still.addedAt !== entry.addedAt || still.until !== entry.until || still.budget !== entry.budget) return undefined;
        return { shadows: current.shadows.filter((s) => s.version !== entry.version) };
      },
    });
    this.#o.logger.info('shadow ended', { model, version: entry.version, reason });
  }
}
