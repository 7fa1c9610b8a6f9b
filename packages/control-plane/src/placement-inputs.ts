import {
  DEFAULT_PLACEMENT_SETTINGS,
  type ModelRecord,
  type NodeMemoryRecord,
  type NodeRecord,
  type PlacementRecord,
  type RouteRecord,
  type UsageRecord,
  type VersionRecord,
  type VersionStatusRecord,
} from '@switchyard/core';
import type { EtcdTables } from './etcd-tables.js';
import type { PlacementView } from './placement-view.js';
import { costEstimate, versionCost, type CostSample } from './placement-cost.js';
import { placementId, type PlacementCandidate, type PlacementNode } from './placement-decision.js';
import { isActive } from './rollout-decision.js';

/** What placement needs of a version record (what the placer's view keeps of each: a registry may hold 100,000). */
export type PlacementVersion = Pick<VersionRecord, 'model' | 'version' | 'createdAt'> & {
  artifact: Pick<VersionRecord['artifact'], 'size'>;
  retirement?: Pick<NonNullable<VersionRecord['retirement']>, 'state'> | undefined;
};

/** The part of a version record placement keeps. */
export function placementVersion(v: VersionRecord): PlacementVersion {
  return { model: v.model, version: v.version, createdAt: v.createdAt, artifact: { size: v.artifact.size }, ...(v.retirement ? { retirement: { state: v.retirement.state } } : {}) };
}

/** What placement needs of a status: a measured cost (the view keeps only statuses that carry one). */
export type PlacementStatus = Pick<VersionStatusRecord, 'nodeId' | 'model' | 'version' | 'memoryBytes'>;

/** The part of a status record placement keeps; undefined when it measured nothing. */
export function placementStatus(s: VersionStatusRecord): PlacementStatus | undefined {
  return s.memoryBytes === undefined ? undefined : { nodeId: s.nodeId, model: s.model, version: s.version, memoryBytes: s.memoryBytes };
}

/** What one placement pass decides from, as plain records. */
export interface PlacementReads {
  nodes: readonly NodeRecord[];
  memory: readonly NodeMemoryRecord[];
  statuses: readonly PlacementStatus[];
  models: readonly ModelRecord[];
  versions: readonly PlacementVersion[];
  routes: readonly RouteRecord[];
  usage: readonly UsageRecord[];
  placements: readonly PlacementRecord[];
  /** Mod revision of every placement key, by `model/version`. */
  placementRevisions: Map<string, string>;
}

/**
 * What one placement pass decides from: the placer's watch-fed view, and the
 * placements themselves, read in pages (each write compares its key's
 * revision, so they are read fresh; the view may trail etcd by a watch
 * event, which is safe: the next pass sees what moved).
 */
export async function readPlacementInputs(view: PlacementView, tables: EtcdTables): Promise<PlacementReads> {
  const [seen, placements] = await Promise.all([view.read(), tables.placements.read()]);
  return { ...seen, placements: placements.records, placementRevisions: placements.revisions };
}

/**
 * Each node's displaced copies as placement should see them: what its memory
 * record lists now, and what it listed within `cooldownMs` (`remembered`, by
 * node and `model/version`, when it was last listed; the leader's memory,
 * empty after a change of leadership). A node stops listing a copy once its
 * placement no longer names the node; without the cool-down the next pass
 * could place it there again at once, and the node displace it again.
 * Returns the nodes to decide with and what to remember for the next pass.
 */
export function withRecentlyDisplaced(
  nodes: readonly PlacementNode[],
  remembered: ReadonlyMap<string, number>,
  nowMs: number,
  cooldownMs: number,
): { nodes: PlacementNode[]; remembered: Map<string, number> } {
  const next = new Map<string, number>();
  for (const [key, at] of remembered) if (nowMs - at < cooldownMs) next.set(key, at);
  for (const n of nodes) for (const id of n.displaced ?? []) next.set(`${n.id}\0${id}`, nowMs);
  const byNode = new Map<string, Set<string>>();
  for (const key of next.keys()) {
    const cut = key.indexOf('\0');
    const node = key.slice(0, cut);
    byNode.set(node, (byNode.get(node) ?? new Set()).add(key.slice(cut + 1)));
  }
  const out = nodes.map((n) => {
    const ids = byNode.get(n.id);
    return ids ? { ...n, displaced: [...ids] } : n;
  });
  return { nodes: out, remembered: next };
}

/** How a never-used version ranks: as if last used this long before it was created (ModelMesh does the same with an hour). */
export const NEW_VERSION_AGE_MS = 3_600_000;

/**
 * The live nodes placement may use: the node record's budget, or its memory
 * record's when the node record has none (0); whether it drains (it then
 * holds nothing, so its copies are placed elsewhere while its lease still
 * lives); and the copies its memory record says it displaced.
 */
export function placementNodes(reads: Pick<PlacementReads, 'nodes' | 'memory'>): PlacementNode[] {
  const memory = new Map(reads.memory.map((m) => [m.nodeId, m]));
  return reads.nodes.map((n) => {
    const m = memory.get(n.id);
    return {
      id: n.id,
      budgetBytes: n.memoryBudgetBytes > 0 ? n.memoryBudgetBytes : (m?.budgetBytes ?? 0),
      ...(n.draining ? { draining: true } : {}),
      ...(m && m.displaced.length > 0 ? { displaced: m.displaced } : {}),
    };
  });
}

/**
 * The versions to place: every version a valid route names (its splits,
 * whatever their weight, its shadows, and an active rollout's two versions)
 * whose record exists and is not retired, with its model's settings, its
 * cost (placement-cost.ts), its request rate (usage records written within
 * `rateWindowMs`; usage keys outlive their node) and last use, and its
 * current copies.
 */
export function placementCandidates(reads: PlacementReads, nowMs: number, rateWindowMs: number): PlacementCandidate[] {
  const models = new Map(reads.models.map((m) => [m.name, m]));
  const versions = new Map(reads.versions.map((v) => [placementId(v.model, v.version), v]));
  const placements = new Map(reads.placements.map((p) => [placementId(p.model, p.version), p]));
  const live = new Set(reads.nodes.map((n) => n.id));

  const measured = new Map<string, number[]>();
  for (const s of reads.statuses) {
    if (s.memoryBytes === undefined || !live.has(s.nodeId)) continue;
    const id = placementId(s.model, s.version);
    const list = measured.get(id);
    if (list) list.push(s.memoryBytes);
    else measured.set(id, [s.memoryBytes]);
  }
  const sample = (v: PlacementVersion): CostSample => ({ artifactBytes: v.artifact.size, measuredBytes: measured.get(placementId(v.model, v.version)) ?? [] });
  const estimate = costEstimate(reads.versions.map(sample));

  const rate = new Map<string, number>();
  const lastUsed = new Map<string, number>();
  for (const u of reads.usage) {
    const id = placementId(u.model, u.version);
    if (nowMs - Date.parse(u.updatedAt) <= rateWindowMs) rate.set(id, (rate.get(id) ?? 0) + u.ratePerSecond);
    for (const at of [u.lastPrimaryAt, u.lastShadowAt]) {
      const ms = at === null ? NaN : Date.parse(at);
      if (Number.isFinite(ms)) lastUsed.set(id, Math.max(lastUsed.get(id) ?? -Infinity, ms));
    }
  }

  const out: PlacementCandidate[] = [];
  for (const route of reads.routes) {
    const model = models.get(route.model);
    if (!model) continue;
    // A shadow mirrors the requests of every weighted version of its model.
    const primaries = route.splits.filter((x) => x.weight > 0).map((x) => x.version);
    const shadowOf = new Map(route.shadows.map((s) => [s.version, primaries]));
    const rollout = isActive(route.rollout) ? route.rollout : null;
    const names = new Set([...route.splits.map((s) => s.version), ...shadowOf.keys(), ...(rollout ? [rollout.from, rollout.to] : [])]);
    for (const name of names) {
      const id = placementId(route.model, name);
      const version = versions.get(id);
      if (!version || version.retirement?.state === 'RETIRED') continue;
      const cost = versionCost(sample(version), estimate);
      out.push({
        model: route.model,
        version: name,
        settings: model.placement ?? DEFAULT_PLACEMENT_SETTINGS,
        costBytes: cost.bytes,
        ratePerSecond: rate.get(id) ?? 0,
        lastUsedMs: lastUsed.get(id) ?? Date.parse(version.createdAt) - NEW_VERSION_AGE_MS,
        shadowOf: (shadowOf.get(name) ?? []).filter((p) => p !== name),
        rolloutTarget: rollout?.to === name,
        copies: placements.get(id)?.copies ?? [],
      });
    }
  }
  return out;
}
