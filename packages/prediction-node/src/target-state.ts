import {
  ModelRecordSchema,
  parseStored,
  PlacementRecordSchema,
  resolveSlots,
  RouteRecordSchema,
  type KeyLayout,
  type Logger,
  type PlacementRecord,
  type RouteRecord,
  type RuntimeSettings,
  type VersionRecord,
} from '@switchyard/core';
import { VersionMapBuilder } from './version-map.js';

/** What the control plane wants served, as a node last read it from etcd. */
export interface TargetState {
  /** etcd revision this state reflects. */
  readonly revision: number;
  /** Keyed by `model/version`. */
  readonly versions: ReadonlyMap<string, VersionRecord>;
  /** Keyed by model name; `slots` always set, matching `splits`. */
  readonly routes: ReadonlyMap<string, RouteRecord>;
  /** Retired models (issue #6) and when they were retired, so requests for them can say so. */
  readonly retiredModels?: ReadonlyMap<string, string>;
  /**
   * Where versions are kept loaded (issue #16), keyed by `model/version`. A
   * routed version without a record has no copies: it loads where its first
   * request lands (docs/placement.md).
   */
  readonly placements?: ReadonlyMap<string, PlacementRecord>;
  /**
   * False while only the versions a route names have been read (a fresh
   * node's first state, target-state-read.ts); what no route names may be
   * missing, so nothing may be judged unwanted from it. @default true
   */
  readonly complete?: boolean;
  /** Models' default runtime settings (issue #17), for the models that set any. */
  readonly modelRuntimes?: ReadonlyMap<string, RuntimeSettings>;
  /** Models kept always resident (`placement.alwaysResident`): their placed copies are never displaced (issue #16). */
  readonly alwaysResidentModels?: ReadonlySet<string>;
}

/**
 * Read access to the node's current target state. It has one owner (the
 * {@link TargetStateMirror}, which replaces the snapshot whole on every
 * change); every other part reads it through this.
 */
export interface TargetStateView {
  /** The last snapshot read from etcd; undefined before the first read. */
  current(): TargetState | undefined;
}

export const versionKey = (model: string, version: string): string => `${model}/${version}`;

/** Mutable builder of {@link TargetState}, fed with etcd key/values. */
export class TargetStateBuilder {
  /** Parsed when read, and shared between snapshots (version-map.ts): a node reads few of them. */
  private readonly versions: VersionMapBuilder;
  private readonly routes = new Map<string, RouteRecord>();
  private readonly retiredModels = new Map<string, string>();
  private readonly placements = new Map<string, PlacementRecord>();
  private readonly modelRuntimes = new Map<string, RuntimeSettings>();
  private readonly alwaysResident = new Set<string>();

  constructor(
    private readonly keys: KeyLayout,
    private readonly logger: Logger,
  ) {
    this.versions = new VersionMapBuilder(logger);
  }

  /**
   * Applies one put (value set) or delete (value undefined). A value that
   * fails its schema is logged and treated as absent: the last good value is
   * not kept, because the key's owner meant to replace it; the node keeps
   * serving what it has loaded through the route fallback instead.
   */
  apply(key: string, value: string | undefined): void {
    const parsed = this.keys.parse(key);
    if (!parsed) return;
    if (parsed.kind === 'models') {
      // Only the retired mark, the default runtime settings and always-resident matter to a node; anything else about models is the control plane's.
      // A record that holds none is not parsed: 10,000 models took a fresh node 0.3 s.
      const relevant = value !== undefined && (value.includes('"retiredAt"') || value.includes('"runtime"') || /"alwaysResident"\s*:\s*true/.test(value));
      const result = relevant ? parseStored(ModelRecordSchema, value) : undefined;
      if (result?.ok && result.value.placement?.alwaysResident === true) this.alwaysResident.add(parsed.model);
      else this.alwaysResident.delete(parsed.model);
      if (result?.ok && result.value.retiredAt !== undefined) this.retiredModels.set(parsed.model, result.value.retiredAt);
      else this.retiredModels.delete(parsed.model);
      if (result?.ok && result.value.runtime !== undefined) this.modelRuntimes.set(parsed.model, result.value.runtime);
      else this.modelRuntimes.delete(parsed.model);
    } else if (parsed.kind === 'versions') {
      // An invalid record is logged when first read, and reads as absent.
      if (value === undefined) this.versions.delete(parsed.model, parsed.version);
      else this.versions.set(parsed.model, parsed.version, value, key);
    } else if (parsed.kind === 'placements') {
      const id = versionKey(parsed.model, parsed.version);
      if (value === undefined) return void this.placements.delete(id);
      const result = parseStored(PlacementRecordSchema, value);
      if (result.ok && result.value.model === parsed.model && result.value.version === parsed.version) {
        this.placements.set(id, result.value);
      } else {
        // Keep the last good placement: a bad record must not unload copies that serve.
        this.logger.error('ignoring invalid placement record; keeping the last valid one', { key, error: result.ok ? 'model/version differ from the key' : result.error });
      }
    } else if (parsed.kind === 'routes') {
      if (value === undefined) return void this.routes.delete(parsed.model);
      const result = parseStored(RouteRecordSchema, value);
      if (result.ok && result.value.model === parsed.model) {
        // Absent slots (a route older than them) or ones that do not fit the weights: derive them.
        const { slots, problem } = resolveSlots(result.value);
        if (problem !== undefined) {
          this.logger.warn('route slots do not match its weights; using slots derived from the splits', { key, error: problem });
        }
        this.routes.set(parsed.model, { ...result.value, slots });
      } else {
        // Keep the last good route: a hand-edited typo must not take a model offline.
        this.logger.error('ignoring invalid route record; keeping the last valid one', {
          key,
          error: result.ok ? 'model differs from the key' : result.error,
        });
      }
    }
  }

  snapshot(revision: number, complete = true): TargetState {
    return {
      revision,
      complete,
      versions: this.versions.snapshot(),
      routes: new Map(this.routes),
      retiredModels: new Map(this.retiredModels),
      placements: new Map(this.placements),
      modelRuntimes: new Map(this.modelRuntimes),
      alwaysResidentModels: new Set(this.alwaysResident),
    };
  }
}
