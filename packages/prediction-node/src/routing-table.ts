import { FALLBACK_HASH_SEED, TOTAL_WEIGHT, assignSlots, hash32, routingKeySlot, type SlotRange } from '@switchyard/core';
import type { LoadedVersion } from './loaded-version.js';

/** One READY version's share of a model's traffic. */
export interface RouteEntry {
  readonly loaded: LoadedVersion;
  readonly weight: number;
}

/** The version a request goes to, and the version its slot meant when that one is not READY here. */
export interface RoutePick {
  readonly loaded: LoadedVersion;
  /** The slot's version, which is not READY on this node; undefined when the slot's own version answers. */
  readonly fallbackFrom: string | undefined;
}

const TWO_TO_32 = 2 ** 32;

/**
 * An immutable picker for one model, replaced whole when anything changes,
 * so a request sees either the old split or the new one, never a mix.
 *
 * Each of the route's TOTAL_WEIGHT basis-point slots belongs to one version
 * (the route's `slots`, see core's route-slots.ts). A request with a routing
 * key goes to the slot its key hashes to, so the same key stays on the same
 * version while the slots do; one without a key goes to a random slot. A
 * slot whose version is not READY here falls back among the READY `entries`
 * by weight: by a second hash of the key (still sticky), or at random.
 */
export class ModelRoute {
  /** Version index (into `versions`) of each slot; empty when the route has no slots. */
  private readonly slotOwner: Uint16Array;
  /** Per version index: the pick when that version is READY, else undefined. */
  private readonly direct: (RoutePick | undefined)[];
  /** Per version index: the pick for each entry when that version is not READY. */
  private readonly fallback: RoutePick[][];
  private readonly cumulative: number[];
  private readonly total: number;
  private readonly entryPicks: RoutePick[];

  /**
   * @param entries the READY versions with weight > 0; at least one.
   * @param slots the route's slot ranges; @default contiguous ranges of `entries` in order
   */
  constructor(
    readonly model: string,
    readonly entries: readonly RouteEntry[],
    slots?: readonly SlotRange[],
  ) {
    if (entries.length === 0) throw new TypeError(`the route of model ${model} needs at least one READY version`);
    let sum = 0;
    this.cumulative = entries.map((e) => (sum += e.weight));
    this.total = sum;
    this.entryPicks = entries.map((e) => ({ loaded: e.loaded, fallbackFrom: undefined }));

    const ranges = slots ?? assignSlots(undefined, entries.map((e) => ({ version: e.loaded.version, weight: e.weight })));
    const versions: string[] = [];
    const index = new Map<string, number>();
    this.slotOwner = new Uint16Array(ranges.length > 0 ? TOTAL_WEIGHT : 0);
    for (const r of ranges) {
      let i = index.get(r.version);
      if (i === undefined) {
        i = versions.push(r.version) - 1;
        index.set(r.version, i);
      }
      this.slotOwner.fill(i, r.start, r.end);
    }
    this.direct = versions.map((v) => this.entryPicks.find((p) => p.loaded.version === v));
    this.fallback = versions.map((v) => entries.map((e) => ({ loaded: e.loaded, fallbackFrom: v })));
  }

  /**
   * The version for one request.
   * @param key the request's routing key; undefined for none.
   * @param random uniform in [0, 1), used only without a key.
   */
  pick(key?: string, random: number = Math.random()): RoutePick {
    if (this.direct.length === 1 && this.direct[0] !== undefined) return this.direct[0];
    if (this.slotOwner.length === 0) return this.entryPicks[this.draw(key === undefined ? random : hash32(key, FALLBACK_HASH_SEED) / TWO_TO_32)]!;
    let slot: number;
    let rest: number;
    if (key === undefined) {
      const scaled = random * TOTAL_WEIGHT;
      slot = Math.floor(scaled);
      // What is left of `random` below the slot is uniform again: it picks the fallback.
      rest = scaled - slot;
    } else {
      slot = routingKeySlot(key);
      rest = -1;
    }
    const owner = this.slotOwner[slot]!;
    const direct = this.direct[owner];
    if (direct) return direct;
    const r = rest >= 0 ? rest : hash32(key!, FALLBACK_HASH_SEED) / TWO_TO_32;
    return this.fallback[owner]![this.draw(r)]!;
  }

  /** Whether every version of this picker is still open. */
  usable(): boolean {
    return this.entries.every((e) => !e.loaded.closed);
  }

  /** Index of the entry `r` in [0, 1) falls on, by cumulative weight. */
  private draw(r: number): number {
    const target = r * this.total;
    for (let i = 0; i < this.cumulative.length; i++) {
      if (target < this.cumulative[i]!) return i;
    }
    return this.cumulative.length - 1;
  }
}

/** What a node serves at one instant. */
export interface RoutingTable {
  /** By model name: how unversioned requests are split. */
  readonly routes: ReadonlyMap<string, ModelRoute>;
  /** By `model/version`: every loaded version, for requests that name one. */
  readonly versions: ReadonlyMap<string, LoadedVersion>;
  /** Retired models (issue #6) and when, for the NOT_FOUND of a request to one. */
  readonly retired?: ReadonlyMap<string, string>;
}

export const EMPTY_TABLE: RoutingTable = { routes: new Map(), versions: new Map() };

/** Per snapshot, the models it routes or holds a version of (a snapshot never changes, so neither does its set). */
const modelNames = new WeakMap<RoutingTable, ReadonlySet<string>>();

/**
 * Whether `model` is routed, retired or has a version loaded in `table`: a
 * lookup in a set built once per snapshot, so refused requests (which may
 * come in floods) cost no walk over every loaded version.
 */
export function knownModel(table: RoutingTable, model: string): boolean {
  if (table.routes.has(model) || table.retired?.has(model) === true) return true;
  let names = modelNames.get(table);
  if (!names) {
    const set = new Set<string>();
    for (const v of table.versions.values()) set.add(v.model);
    modelNames.set(table, (names = set));
  }
  return names.has(model);
}
