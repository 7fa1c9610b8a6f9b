import { TOTAL_WEIGHT, assignSlots, resolveSlots, type RouteRecord, type RouteSplit } from '@switchyard/core';

/** A route after a version was retired from it. */
export interface RouteWithout {
  route: RouteRecord;
  /** Whether anything changed (the version was in the splits or the shadows). */
  changed: boolean;
  /** The version was the only one with weight: the route is emptied and the model retired. */
  modelRetired: boolean;
}

/**
 * Weights scaled to add up to TOTAL_WEIGHT again, keeping their proportions:
 * each gets the floor of its share, and the basis points left go to the
 * largest remainders (ties to the earlier split), so the result is exact.
 */
export function rescale(splits: readonly RouteSplit[]): RouteSplit[] {
  const total = splits.reduce((sum, s) => sum + s.weight, 0);
  if (total === 0) return [];
  const scaled = splits.map((s, i) => {
    const exact = (s.weight * TOTAL_WEIGHT) / total;
    return { version: s.version, weight: Math.floor(exact), remainder: exact - Math.floor(exact), i };
  });
  let left = TOTAL_WEIGHT - scaled.reduce((sum, s) => sum + s.weight, 0);
  for (const s of [...scaled].sort((a, b) => b.remainder - a.remainder || a.i - b.i)) {
    if (left === 0) break;
    if (s.remainder === 0) continue;
    s.weight++;
    left--;
  }
  return scaled.map(({ version, weight }) => ({ version, weight }));
}

/**
 * The route without `version`: its share dropped and the other weights
 * rescaled in proportion, slots moved as little as possible (only the
 * retired version's slots change hands), and its shadow entries removed.
 * When no other version has weight, the route is emptied.
 */
export function routeWithout(route: RouteRecord, version: string, meta: { now: string; actor: string }): RouteWithout {
  const inSplits = route.splits.some((s) => s.version === version);
  const inShadows = route.shadows.some((s) => s.version === version);
  if (!inSplits && !inShadows) return { route, changed: false, modelRetired: false };
  const rest = route.splits.filter((s) => s.version !== version);
  const hadWeight = (route.splits.find((s) => s.version === version)?.weight ?? 0) > 0;
  const restWeight = rest.reduce((sum, s) => sum + s.weight, 0);
  const modelRetired = hadWeight && restWeight === 0;
  const splits = modelRetired ? [] : hadWeight ? rescale(rest) : rest;
  const previous = resolveSlots(route).slots;
  return {
    route: {
      ...route,
      splits,
      slots: assignSlots(previous, splits),
      shadows: modelRetired ? [] : route.shadows.filter((s) => s.version !== version),
      updatedAt: meta.now,
      updatedBy: meta.actor,
    },
    changed: true,
    modelRetired,
  };
}

/** The route with every split and shadow removed: a retired model serves nothing. */
export function emptiedRoute(route: RouteRecord, meta: { now: string; actor: string }): RouteRecord {
  return { ...route, splits: [], slots: [], shadows: [], updatedAt: meta.now, updatedBy: meta.actor };
}
