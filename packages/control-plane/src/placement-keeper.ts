import type { Clock, Logger, PlacementRecord } from '@switchyard/core';
import type { PlacementChange } from './etcd-placements.js';
import type { EtcdTables } from './etcd-tables.js';
import type { Leadership } from './leader-election.js';
import { LeaderLoop } from './leader-loop.js';
import { DEFAULT_PLACEMENT_POLICY, decidePlacements, placementId, type PlacementPolicy, type VersionPlacement } from './placement-decision.js';
import { placementCandidates, placementNodes, readPlacementInputs, withRecentlyDisplaced, type PlacementReads } from './placement-inputs.js';
import { PlacementView } from './placement-view.js';

/** Options for {@link PlacementKeeper}. */
export interface PlacementKeeperOptions {
  tables: EtcdTables;
  leadership: Leadership;
  clock: Clock;
  logger: Logger;
  /** Time between passes when nothing wakes it (ControlPlaneOptions.placementIntervalMs). @default 10000 */
  intervalMs?: number;
  /** After a watched change (a node, a route, a model), how long to wait for more before a pass. @default 250 */
  debounceMs?: number;
  /** The decision's knobs (docs/placement.md). @default DEFAULT_PLACEMENT_POLICY */
  policy?: Partial<PlacementPolicy>;
  /** A node's usage record older than this adds nothing to a version's rate: nodes write it at most once a minute, and usage keys outlive their node. @default 180000 */
  rateWindowMs?: number;
}

/** What the keeper did since it was created (tests and diagnostics). */
export interface PlacementKeeperCounts {
  passes: number;
  /** Placement records written (created or changed). */
  written: number;
  deleted: number;
  /** Changes that lost their compare-and-swap; decided again next pass. */
  conflicts: number;
}

/**
 * Leader-only: decides where every routed version is kept loaded
 * (placement-decision.ts) and writes `target/placements/{model}/{version}`
 * when, and only when, a version's placement changes; deletes the
 * placement of a version no longer routed, retired or deleted. It decides
 * from a watch-fed view held while leading (placement-view.ts) and runs on
 * a LeaderLoop: a pass every `intervalMs`, and `debounceMs` after a node
 * joins, leaves, drains or displaces a copy, or a route or model changes,
 * so a dead node's copies are placed elsewhere within its lease TTL plus
 * about a second, a draining node's at once. Each write compares the key's
 * revision, so a replica that lost leadership mid-pass cannot undo a newer
 * leader's decision. Never in the inference path: nodes read the records.
 */
export class PlacementKeeper {
  readonly counts: PlacementKeeperCounts = { passes: 0, written: 0, deleted: 0, conflicts: 0 };
  readonly #o: PlacementKeeperOptions;
  readonly #policy: PlacementPolicy;
  readonly #log: Logger;
  /** When each version's load first dropped low enough to lose a copy; in memory, reset with leadership (the quiet period then starts again). */
  #quietSince = new Map<string, number>();
  /** When each node last listed each displaced copy (`{node}\0{model/version}`); in memory, reset with leadership. */
  #displaced = new Map<string, number>();
  readonly #loop: LeaderLoop;
  /** What a pass decides from, kept while leading. */
  readonly #view: PlacementView;

  constructor(options: PlacementKeeperOptions) {
    this.#o = options;
    this.#policy = { ...DEFAULT_PLACEMENT_POLICY, ...options.policy };
    this.#log = options.logger.child({ component: 'placement' });
    // Node, route and model changes each wake a pass (placement-view.ts says which); the periodic one covers usage and measured memory.
    this.#view = new PlacementView(options.tables, () => this.#loop.wakeSoon(options.debounceMs ?? 250));
    this.#loop = new LeaderLoop({
      leadership: options.leadership,
      pass: () => this.#decideAndWrite(),
      intervalMs: options.intervalMs ?? 10_000,
      held: [this.#view],
      logger: this.#log,
      failureMessage: 'placement pass failed; trying again',
      onLeadershipChange: () => {
        this.#quietSince = new Map();
        this.#displaced = new Map();
      },
    });
  }

  start(): void {
    this.#loop.start();
  }

  /** Stops acting; waits for a pass in progress at most `timeoutMs` (etcd may be down), and it writes nothing more. */
  async stop(timeoutMs = 2000): Promise<void> {
    await this.#loop.stop(timeoutMs);
    this.#view.close();
  }

  /**
   * One pass now, when leading (tests); concurrent calls share it. Its view
   * is read again first, so the pass sees every write made before the call
   * (the loop's passes use the view as the watches keep it); without the
   * loop running, the view is closed again afterwards.
   */
  async passOnce(): Promise<void> {
    if (!this.#o.leadership.isLeader) return this.#loop.runOnce();
    this.#view.reload();
    try {
      await this.#loop.runOnce();
    } finally {
      if (!this.#loop.running) this.#view.close();
    }
  }

  /** Changes the view's watches brought since it opened (tests and diagnostics). */
  get viewChanges(): number {
    return this.#view.changes;
  }

  async #decideAndWrite(): Promise<void> {
    if (!this.#o.leadership.isLeader || this.#loop.stopped) return;
    this.counts.passes++;
    const reads = await readPlacementInputs(this.#view, this.#o.tables);
    const nowMs = this.#o.clock.now();
    const candidates = placementCandidates(reads, nowMs, this.#o.rateWindowMs ?? 180_000);
    const { nodes, remembered } = withRecentlyDisplaced(placementNodes(reads), this.#displaced, nowMs, this.#policy.displacedCooldownMs);
    this.#displaced = remembered;
    const decision = decidePlacements({ nowMs, nodes, versions: candidates, policy: this.#policy, quietSince: this.#quietSince });
    this.#quietSince = decision.quietSince;
    for (const change of placementChanges(reads, decision.placements, new Date(nowMs).toISOString())) {
      if (!this.#o.leadership.isLeader || this.#loop.stopped) return;
      await this.#apply(change);
    }
  }

  async #apply(change: PlacementChange): Promise<void> {
    const { model, version, record } = change;
    if (!(await this.#o.tables.placements.apply(change))) {
      this.counts.conflicts++;
      this.#log.debug('a placement changed before it could be written; deciding again next pass', { model, version });
      return;
    }
    if (!record) {
      this.counts.deleted++;
      this.#log.info('placement removed: the version is no longer routed', { model, version });
      return;
    }
    this.counts.written++;
    const fields = { model, version, nodes: record.copies.map((c) => c.nodeId).join(',') || '(none)', wanted: record.wantedCopies, bytes: record.estimatedBytes };
    if (record.reason) this.#log.info(`placement changed: ${record.reason}`, fields);
    else this.#log.info('placement changed', fields);
  }
}

/**
 * The writes a decision needs: each placement that differs from the stored
 * one in copies, wanted count, cost or reason (never for its time alone, so
 * a pass that changes nothing writes nothing), and a delete of every stored
 * placement no longer decided (its version is not routed, retired or gone).
 */
export function placementChanges(reads: Pick<PlacementReads, 'placements' | 'placementRevisions'>, placements: readonly VersionPlacement[], at: string): PlacementChange[] {
  const stored = new Map(reads.placements.map((p) => [placementId(p.model, p.version), p]));
  const changes: PlacementChange[] = [];
  const decided = new Set<string>();
  for (const p of placements) {
    const id = placementId(p.model, p.version);
    decided.add(id);
    const before = stored.get(id);
    if (before && samePlacement(before, p)) continue;
    const record: PlacementRecord = { ...p, updatedAt: at };
    changes.push({ model: p.model, version: p.version, record, expectedRevision: reads.placementRevisions.get(id) ?? '0' });
  }
  for (const [id, revision] of reads.placementRevisions) {
    if (decided.has(id)) continue;
    const slash = id.indexOf('/');
    changes.push({ model: id.slice(0, slash), version: id.slice(slash + 1), record: undefined, expectedRevision: revision });
  }
  return changes;
}

function samePlacement(a: PlacementRecord, b: VersionPlacement): boolean {
  return (
    a.wantedCopies === b.wantedCopies &&
    a.estimatedBytes === b.estimatedBytes &&
    a.reason === b.reason &&
    a.copies.length === b.copies.length &&
    a.copies.every((c, i) => c.nodeId === b.copies[i]!.nodeId && c.since === b.copies[i]!.since)
  );
}
