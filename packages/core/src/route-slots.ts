import { TOTAL_WEIGHT, type RouteSplit, type SlotRange } from './schemas.js';

/**
 * Which version owns each of a route's TOTAL_WEIGHT basis-point slots.
 *
 * A routing key hashes to one slot (see `routing-key-hash.ts`), so a key
 * stays on its version for as long as the slot does. The assignment is kept
 * with the route and changed with minimal movement: when weight moves from A
 * to B, exactly that many of A's slots become B's and no other slot moves.
 * Stickiness computed from the current weights alone cannot promise that for
 * versions that are not next to each other, hence the stored history.
 */

/**
 * The slot ranges for `splits`, moved as little as possible from `previous`.
 * Versions that lose weight give up slots from the end of their ranges;
 * versions that gain take exactly those slots, in split order; every other
 * slot stays. Without a valid `previous` the ranges are contiguous in split
 * order. Adjacent ranges of one version are merged; weight-0 versions own
 * nothing; no splits (or a zero total) gives no ranges.
 */
export function assignSlots(previous: readonly SlotRange[] | undefined, splits: readonly RouteSplit[]): SlotRange[] {
  const total = splits.reduce((sum, s) => sum + s.weight, 0);
  if (total !== TOTAL_WEIGHT) return [];
  if (previous === undefined || coverageProblem(previous) !== undefined) return contiguous(splits);

  const owner = ownerArray(previous);
  const held = new Map<string, number>();
  for (const r of previous) held.set(r.version, (held.get(r.version) ?? 0) + (r.end - r.start));
  const wanted = new Map<string, number>(splits.map((s) => [s.version, s.weight]));

  // Free the surplus of every shrinking version from the end of its ranges.
  const freed: number[] = [];
  for (const [version, count] of held) {
    let surplus = count - (wanted.get(version) ?? 0);
    for (let slot = TOTAL_WEIGHT - 1; surplus > 0 && slot >= 0; slot--) {
      if (owner[slot] !== version) continue;
      owner[slot] = undefined;
      freed.push(slot);
      surplus--;
    }
  }
  freed.sort((a, b) => a - b);

  // Growing versions take the freed slots in split order, each a run of them.
  let next = 0;
  for (const split of splits) {
    let deficit = split.weight - (held.get(split.version) ?? 0);
    for (; deficit > 0; deficit--) owner[freed[next++]!] = split.version;
  }
  return toRanges(owner);
}

/**
 * Why `slots` is not a valid assignment for `splits`, or undefined when it
 * is: ranges sorted, covering 0..TOTAL_WEIGHT without gap or overlap, and
 * each version's ranges adding up to its weight (no slots for weight 0 or
 * unknown versions). No splits need no slots.
 */
export function validateSlots(slots: readonly SlotRange[], splits: readonly RouteSplit[]): string | undefined {
  if (splits.length === 0) return slots.length === 0 ? undefined : 'a route without splits has no slots';
  const coverage = coverageProblem(slots);
  if (coverage !== undefined) return coverage;
  const held = new Map<string, number>();
  for (const r of slots) held.set(r.version, (held.get(r.version) ?? 0) + (r.end - r.start));
  for (const [version, count] of held) {
    const weight = splits.find((s) => s.version === version)?.weight;
    if (weight === undefined) return `slots name version ${version}, which is not in the splits`;
    if (count !== weight) return `version ${version} holds ${count} slots but has weight ${weight}`;
  }
  for (const s of splits) {
    if (s.weight > 0 && !held.has(s.version)) return `version ${s.version} has weight ${s.weight} but no slots`;
  }
  return undefined;
}

/**
 * The slots a route is served with: its stored `slots` when they match its
 * weights, else ones derived from the splits (contiguous in split order).
 * `problem` says why stored slots were not used; absent slots are no problem
 * (routes written before slots existed).
 */
export function resolveSlots(route: { splits: readonly RouteSplit[]; slots?: readonly SlotRange[] | undefined }): {
  slots: SlotRange[];
  problem?: string;
} {
  if (route.slots === undefined) return { slots: assignSlots(undefined, route.splits) };
  const problem = validateSlots(route.slots, route.splits);
  if (problem === undefined) return { slots: route.slots.map((r) => ({ ...r })) };
  return { slots: assignSlots(undefined, route.splits), problem };
}

/** The owner of each slot, TOTAL_WEIGHT entries; `previous` must cover every slot. */
function ownerArray(ranges: readonly SlotRange[]): (string | undefined)[] {
  const owner = new Array<string | undefined>(TOTAL_WEIGHT).fill(undefined);
  for (const r of ranges) owner.fill(r.version, r.start, r.end);
  return owner;
}

function toRanges(owner: readonly (string | undefined)[]): SlotRange[] {
  const out: SlotRange[] = [];
  for (let slot = 0; slot < owner.length; slot++) {
    const version = owner[slot]!;
    const last = out[out.length - 1];
    if (last && last.version === version && last.end === slot) last.end = slot + 1;
    else out.push({ start: slot, end: slot + 1, version });
  }
  return out;
}

function contiguous(splits: readonly RouteSplit[]): SlotRange[] {
  const out: SlotRange[] = [];
  let start = 0;
  for (const s of splits) {
    if (s.weight === 0) continue;
    out.push({ start, end: start + s.weight, version: s.version });
    start += s.weight;
  }
  return out;
}

/** Whether ranges are sorted, non-empty and tile 0..TOTAL_WEIGHT exactly. */
function coverageProblem(slots: readonly SlotRange[]): string | undefined {
  let expected = 0;
  for (const r of slots) {
    if (!Number.isInteger(r.start) || !Number.isInteger(r.end)) return `slot range ${r.start}..${r.end} is not integer`;
    if (r.start !== expected) return `slot ranges must be sorted and contiguous: expected one starting at ${expected}, found ${r.start}`;
    if (r.end <= r.start) return `slot range ${r.start}..${r.end} is empty`;
    expected = r.end;
  }
  if (expected !== TOTAL_WEIGHT) return `slot ranges end at ${expected}, not ${TOTAL_WEIGHT}`;
  return undefined;
}
