import type { LoadedVersion } from './loaded-version.js';

/** One version's share of a model's traffic. */
export interface RouteEntry {
  readonly loaded: LoadedVersion;
  readonly weight: number;
}

/**
 * An immutable picker for one model: the READY versions that carry weight,
 * with cumulative weights for drawing. Replaced whole when anything changes,
 * so a request sees either the old split or the new one, never a mix.
 */
export class ModelRoute {
  private readonly cumulative: number[];
  private readonly total: number;

  constructor(
    readonly model: string,
    readonly entries: readonly RouteEntry[],
  ) {
    let sum = 0;
    this.cumulative = entries.map((e) => (sum += e.weight));
    this.total = sum;
  }

  /** Draws a version by weight; `random` in [0, 1). */
  pick(random: number = Math.random()): LoadedVersion {
    if (this.entries.length === 1) return this.entries[0]!.loaded;
    const target = random * this.total;
    for (let i = 0; i < this.cumulative.length; i++) {
      if (target < this.cumulative[i]!) return this.entries[i]!.loaded;
    }
    return this.entries[this.entries.length - 1]!.loaded;
  }

  /** Whether every version of this picker is still open. */
  usable(): boolean {
    return this.entries.every((e) => !e.loaded.closed);
  }
}

/** What a node serves at one instant. */
export interface RoutingTable {
  /** By model name: how unversioned requests are split. */
  readonly routes: ReadonlyMap<string, ModelRoute>;
  /** By `model/version`: every loaded version, for requests that name one. */
  readonly versions: ReadonlyMap<string, LoadedVersion>;
}

export const EMPTY_TABLE: RoutingTable = { routes: new Map(), versions: new Map() };
