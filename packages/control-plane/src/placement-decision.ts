import type { PlacementSettings } from '@switchyard/core';
import { formatBytes } from './format-bytes.js';

/** The knobs of placement (ControlPlaneOptions.placement); see docs/placement.md. */
export interface PlacementPolicy {
  /** Requests per second one copy is expected to take: above it per copy, a copy is added (up to maxCopies). */
  ratePerCopy: number;
  /**
   * A copy is removed for low load only once the rate would stay under this
   * share of `ratePerCopy` per remaining copy, so a rate near the line does
   * not add and remove the same copy in turn.
   */
  scaleDownShare: number;
  /** How long the load must stay low before a copy goes (milliseconds). */
  quietMs: number;
  /** A copy younger than this is never removed for low load (milliseconds). */
  minCopyAgeMs: number;
  /** Share of each node's budget placement fills; the rest is left for versions loaded on demand. */
  fillRatio: number;
  /**
   * After a node stops listing a copy as displaced (its placement no longer
   * names it), how long the version still goes on no copy there: else the
   * next pass could place it back at once, and the node displace it again.
   */
  displacedCooldownMs: number;
}

export const DEFAULT_PLACEMENT_POLICY: PlacementPolicy = {
  ratePerCopy: 50,
  scaleDownShare: 2 / 3,
  quietMs: 5 * 60_000,
  minCopyAgeMs: 2 * 60_000,
  fillRatio: 0.9,
  displacedCooldownMs: 5 * 60_000,
};

/** A live node as placement sees it. */
export interface PlacementNode {
  id: string;
  /** Bytes of model memory it may hold; 0: unknown (a node from before budgets), and it is given nothing. */
  budgetBytes: number;
  /** A node on its way out gets no new copies and loses the ones it has. */
  draining?: boolean;
  /**
   * Placed copies (`model/version`, {@link placementId}) this node unloaded
   * to make room for versions requests needed (NodeMemoryRecord.displaced):
   * such a copy no longer counts here, and the version is not placed here
   * again while it is listed.
   */
  displaced?: readonly string[];
}

/** One copy as stored: which node, since when (ISO time). */
export interface PlacedCopy {
  nodeId: string;
  since: string;
}

/** A version that should be loaded somewhere (named by a route, a shadow or an active rollout). */
export interface PlacementCandidate {
  model: string;
  version: string;
  settings: PlacementSettings;
  /** Bytes one copy takes: measured on a node, else estimated (placement-cost.ts). */
  costBytes: number;
  /** Requests per second over every node. */
  ratePerSecond: number;
  /** Last request (primary or shadow), or when it was deployed when never used; undefined: unknown, the least recent. */
  lastUsedMs: number | undefined;
  /** Versions of the same model whose requests this one mirrors: its copies go where theirs are. */
  shadowOf: readonly string[];
  /** The target of an active rollout: its copies come before any other's but always-resident ones. */
  rolloutTarget: boolean;
  /** Its copies in the current placement record; empty when it has none. */
  copies: readonly PlacedCopy[];
}

/** Everything one decision is made from. */
export interface PlacementInput {
  nowMs: number;
  nodes: readonly PlacementNode[];
  versions: readonly PlacementCandidate[];
  policy: PlacementPolicy;
  /**
   * When each version's load first dropped low enough to lose a copy, by
   * {@link placementId}, as the previous decision returned it (empty after a
   * leader change: the quiet period then starts again, never shorter).
   */
  quietSince: ReadonlyMap<string, number>;
}

/** Where one version's copies go, and why fewer than wanted when so. */
export interface VersionPlacement {
  model: string;
  version: string;
  copies: PlacedCopy[];
  /** Copies the settings and load asked for before memory limited them. */
  wantedCopies: number;
  estimatedBytes: number;
  /** '' when every wanted copy is placed. */
  reason: string;
}

/** What {@link decidePlacements} returns. */
export interface PlacementDecision {
  /** One per candidate, in the order given. */
  placements: VersionPlacement[];
  /** To pass to the next decision. */
  quietSince: Map<string, number>;
  /** Bytes planned per usable node, with what it may hold. */
  nodes: Map<string, { plannedBytes: number; capacityBytes: number }>;
}

export const placementId = (model: string, version: string): string => `${model}/${version}`;

/** Which group a copy is placed in; lower groups are placed first. */
const Group = { AlwaysResident: 0, RolloutTarget: 1, MinCopies: 2, Extra: 3 } as const;
type Group = (typeof Group)[keyof typeof Group];

/** One copy to place: the n-th of a version, in its group. */
interface Slot {
  v: number;
  group: Group;
}

/** Per candidate, what the decision works with. */
interface Plan {
  c: PlacementCandidate;
  id: string;
  cost: number;
  wanted: number;
  /** Existing copies it keeps if memory allows, oldest first. */
  keep: PlacedCopy[];
  placed: PlacedCopy[];
  /** Nodes of kept copies already tried. */
  tried: Set<string>;
  /** Usable nodes that displaced it: no copy goes there. */
  barred: Set<string>;
  /** Set when a copy could not be placed. */
  short?: string;
}

/**
 * Which nodes keep a loaded copy of which routed version, as a pure function
 * of the live nodes' budgets, each version's cost, load, last use and
 * settings, and the current placements (after ModelMesh's placement and
 * Seldon v2's memory filters; docs/placement.md):
 *
 * - Wanted copies: the model's `minCopies` (at least 1 when always
 *   resident), more while the rate per copy is above `ratePerCopy`, as many
 *   as its primaries' for a shadow; at most `maxCopies` (0: one per node).
 * - Fewer copies are wanted only after the load stayed low for `quietMs`
 *   (under `scaleDownShare` of the line that adds one), and not while any
 *   copy is younger than `minCopyAgeMs`; the newest copies go first.
 * - Memory: copies are placed in order (always-resident versions, the target
 *   of a rollout, every version's minimum copies from the most recently used
 *   down, then the extra copies load asked for, likewise); a node never gets
 *   more than `fillRatio` of its budget. What does not fit is not placed:
 *   the least recently used versions lose copies first, down to zero, and
 *   load on their next request.
 * - A copy stays on its node while it fits there (no needless move); new
 *   copies go to the node with the most free memory, a shadow's first to its
 *   primaries' nodes. Nodes that are gone, draining or without a known
 *   budget hold nothing, so their copies are placed again elsewhere.
 * - A copy its node displaced (unloaded for versions requests needed) no
 *   longer counts there, and the version goes on no node that lists it:
 *   elsewhere if another node has room, else it has fewer copies and the
 *   reason names the nodes that unloaded it.
 */
export function decidePlacements(input: PlacementInput): PlacementDecision {
  const { policy, nowMs } = input;
  const usable = input.nodes.filter((n) => !n.draining && n.budgetBytes > 0);
  const displacedOn = new Map<string, string[]>();
  for (const n of usable) for (const id of n.displaced ?? []) displacedOn.set(id, [...(displacedOn.get(id) ?? []), n.id]);
  const capacity = new Map(usable.map((n) => [n.id, Math.floor(n.budgetBytes * policy.fillRatio)]));
  const planned = new Map(usable.map((n) => [n.id, 0]));
  const quietSince = new Map<string, number>();
  const largest = Math.max(0, ...capacity.values());

  // The first decision of a version's copies is also what a shadow follows: its primaries' current nodes.
  const byId = new Map(input.versions.map((c) => [placementId(c.model, c.version), c]));
  const plans = input.versions.map((c): Plan => {
    const id = placementId(c.model, c.version);
    const primaryIds = c.shadowOf.map((p) => placementId(c.model, p));
    // A shadow runs where its primary runs: off a node that displaced the primary too, where its mirror would find no primary.
    const barred = new Set([id, ...primaryIds].flatMap((v) => displacedOn.get(v) ?? []));
    const live = c.copies.filter((copy) => capacity.has(copy.nodeId) && !barred.has(copy.nodeId)).sort((a, b) => Date.parse(a.since) - Date.parse(b.since));
    // As many copies as its primaries hold where they still count (not on a node that displaced them or is gone).
    const primaryCopies = new Set(
      primaryIds.flatMap((pid) => byId.get(pid)?.copies.map((copy) => copy.nodeId).filter((n) => capacity.has(n) && !(displacedOn.get(pid) ?? []).includes(n)) ?? []),
    );
    const { wanted, keep } = wantedCopies(c, live, primaryCopies.size, usable.length, input, quietSince, id);
    return { c, id, cost: Math.max(1, Math.round(c.costBytes)), wanted, keep, placed: [], tried: new Set(), barred };
  });

  const planById = new Map(plans.map((p) => [p.id, p]));
  const copiesOn = new Map<string, number>();
  // Existing copies are held for their version until its turn, so new copies do not land on them first.
  const reserved = new Map<string, number>();
  for (const p of plans) for (const copy of p.keep) reserved.set(copy.nodeId, (reserved.get(copy.nodeId) ?? 0) + p.cost);

  for (const slot of slots(plans)) {
    const p = plans[slot.v]!;
    if (p.short !== undefined) continue;
    if (usable.length === 0) {
      p.short = 'no live node has a known memory budget yet';
      continue;
    }
    if (p.cost > largest) {
      p.short = `one copy needs ${formatBytes(p.cost)}, more than any node may hold (the largest: ${formatBytes(largest)})`;
      continue;
    }
    if (p.placed.length >= usable.length - p.barred.size) {
      p.short = p.barred.size > 0 ? displacedReason(p, 'no other node is usable') : `one copy per node, and ${usable.length === 1 ? 'one node is' : `${usable.length} nodes are`} usable`;
      continue;
    }
    const nodeId = keepExisting(p, planned, capacity, reserved) ?? newNode(p, { planById, planned, capacity, reserved, copiesOn });
    if (nodeId === undefined) {
      p.short = p.barred.size > 0 ? displacedReason(p, 'no other node has room') : 'the nodes are full of versions used more recently';
      continue;
    }
    planned.set(nodeId, planned.get(nodeId)! + p.cost);
    copiesOn.set(nodeId, (copiesOn.get(nodeId) ?? 0) + 1);
    const kept = p.keep.find((copy) => copy.nodeId === nodeId);
    p.placed.push(kept ?? { nodeId, since: new Date(nowMs).toISOString() });
  }

  const placements = plans.map((p): VersionPlacement => {
    const copies = [...p.placed].sort((a, b) => (a.nodeId < b.nodeId ? -1 : a.nodeId > b.nodeId ? 1 : 0));
    return { model: p.c.model, version: p.c.version, copies, wantedCopies: p.wanted, estimatedBytes: p.cost, reason: reasonFor(p, usable.length) };
  });
  const nodes = new Map([...capacity].map(([id, capacityBytes]) => [id, { plannedBytes: planned.get(id)!, capacityBytes }]));
  return { placements, quietSince, nodes };
}

/** How many copies a version wants, and which of its current copies it keeps (before memory). */
function wantedCopies(
  c: PlacementCandidate,
  live: PlacedCopy[],
  primaryCopies: number,
  nodeCount: number,
  input: PlacementInput,
  quietSince: Map<string, number>,
  id: string,
): { wanted: number; keep: PlacedCopy[] } {
  const { policy, nowMs } = input;
  const limit = c.settings.maxCopies === 0 ? Infinity : c.settings.maxCopies;
  const floor = Math.min(limit, c.settings.alwaysResident ? Math.max(1, c.settings.minCopies) : c.settings.minCopies);
  const rate = Math.max(0, c.ratePerSecond);
  const up = Math.min(limit, Math.max(floor, Math.ceil(rate / policy.ratePerCopy), primaryCopies));
  const wanted = Math.min(up, Math.max(nodeCount, floor));
  if (up >= live.length) return { wanted, keep: live };
  // Fewer copies than it has: only after a quiet period, under the lower line, and never a young copy.
  const down = Math.min(limit, Math.max(floor, Math.ceil(rate / (policy.ratePerCopy * policy.scaleDownShare)), primaryCopies));
  if (down >= live.length) return { wanted: live.length, keep: live };
  const since = input.quietSince.get(id) ?? nowMs;
  quietSince.set(id, since);
  if (nowMs - since < policy.quietMs) return { wanted: live.length, keep: live };
  // As ModelMesh: a copy added lately means load was high lately, so none goes until every copy is old enough.
  if (live.some((copy) => nowMs - Date.parse(copy.since) < policy.minCopyAgeMs)) return { wanted: live.length, keep: live };
  // The newest copies go first; the oldest, proven ones stay.
  return { wanted: down, keep: live.slice(0, down) };
}

/** Every copy to place, in the order memory is given out. */
function slots(plans: readonly Plan[]): Slot[] {
  const out: (Slot & { lastUsed: number; n: number })[] = [];
  plans.forEach((p, v) => {
    const lastUsed = p.c.lastUsedMs ?? -Infinity;
    const floor = Math.min(p.wanted, p.c.settings.alwaysResident ? p.wanted : Math.max(p.c.settings.minCopies, p.c.rolloutTarget ? 1 : 0));
    for (let n = 0; n < p.wanted; n++) {
      const group = p.c.settings.alwaysResident ? Group.AlwaysResident : n >= floor ? Group.Extra : p.c.rolloutTarget ? Group.RolloutTarget : Group.MinCopies;
      out.push({ v, group, lastUsed, n });
    }
  });
  // Within a group: most recently used first, then first copies before second ones, then input order.
  return out.sort((a, b) => a.group - b.group || b.lastUsed - a.lastUsed || a.n - b.n || a.v - b.v);
}

/** Its next existing copy that still fits where it is, if any. */
function keepExisting(p: Plan, planned: Map<string, number>, capacity: Map<string, number>, reserved: Map<string, number>): string | undefined {
  for (const copy of p.keep) {
    if (p.tried.has(copy.nodeId)) continue;
    p.tried.add(copy.nodeId);
    reserved.set(copy.nodeId, reserved.get(copy.nodeId)! - p.cost);
    if (planned.get(copy.nodeId)! + p.cost <= capacity.get(copy.nodeId)!) return copy.nodeId;
  }
  return undefined;
}

/** What choosing a node for a new copy looks at; kept up to date by the caller as copies are placed. */
interface Room {
  planById: ReadonlyMap<string, Plan>;
  planned: ReadonlyMap<string, number>;
  capacity: ReadonlyMap<string, number>;
  reserved: ReadonlyMap<string, number>;
  copiesOn: ReadonlyMap<string, number>;
}

/** The best node for a new copy: free without others' held copies if possible, else any with room. */
function newNode(p: Plan, r: Room): string | undefined {
  // Copies it kept but could not fit are released already; it may still not take a second copy on one node.
  const holds = new Set(p.placed.map((copy) => copy.nodeId));
  const preferred = new Set(p.c.shadowOf.flatMap((primary) => r.planById.get(placementId(p.c.model, primary))?.placed.map((copy) => copy.nodeId) ?? []));
  const pick = (free: (id: string) => number): string | undefined => {
    let best: { id: string; free: number } | undefined;
    for (const id of r.capacity.keys()) {
      if (holds.has(id) || p.barred.has(id)) continue;
      const f = free(id);
      if (f < p.cost) continue;
      if (!best || better({ id, free: f }, best, preferred, r.copiesOn)) best = { id, free: f };
    }
    return best?.id;
  };
  const room = (id: string): number => r.capacity.get(id)! - r.planned.get(id)!;
  return pick((id) => room(id) - Math.max(0, r.reserved.get(id) ?? 0)) ?? pick(room);
}

/** Seldon's sorters and ModelMesh's placement order, in short: a shadow's primary's node, then most free memory, then fewest copies, then name. */
function better(a: { id: string; free: number }, b: { id: string; free: number }, preferred: Set<string>, copiesOn: ReadonlyMap<string, number>): boolean {
  const pa = preferred.has(a.id);
  if (pa !== preferred.has(b.id)) return pa;
  if (a.free !== b.free) return a.free > b.free;
  const ca = copiesOn.get(a.id) ?? 0;
  const cb = copiesOn.get(b.id) ?? 0;
  if (ca !== cb) return ca < cb;
  return a.id < b.id;
}

/** Why a version a node displaced has fewer copies: which nodes unloaded it, and what else was missing. */
function displacedReason(p: Plan, rest: string): string {
  const nodes = [...p.barred].sort().join(', ');
  const what = p.c.shadowOf.length > 0 ? 'it or the version it shadows' : 'it';
  return `${nodes} unloaded ${what} to make room for versions requests needed, and ${rest}`;
}

function reasonFor(p: Plan, nodeCount: number): string {
  if (p.placed.length >= p.wanted) return '';
  const placed = `${p.placed.length} of ${p.wanted} wanted ${p.wanted === 1 ? 'copy' : 'copies'} placed`;
  if (p.short !== undefined) return `${placed}: ${p.short}${p.placed.length === 0 ? '; it loads on its next request' : ''}`;
  return `${placed}: ${nodeCount} usable ${nodeCount === 1 ? 'node' : 'nodes'}`;
}
