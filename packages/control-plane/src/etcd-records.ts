import {
  ControlPlaneRecordSchema,
  HistoryEntryRecordSchema,
  ModelRecordSchema,
  NodeMemoryRecordSchema,
  NodeRecordSchema,
  PlacementRecordSchema,
  RolloutStatsRecordSchema,
  RouteRecordSchema,
  ShadowStatsRecordSchema,
  UsageRecordSchema,
  VersionRecordSchema,
  VersionStatusRecordSchema,
  type ControlPlaneRecord,
  type HistoryEntryRecord,
  type KeyLayout,
  type ModelRecord,
  type NodeMemoryRecord,
  type NodeRecord,
  type PlacementRecord,
  type RolloutStatsRecord,
  type RouteRecord,
  type ShadowStatsRecord,
  type UsageRecord,
  type VersionRecord,
  type VersionStatusRecord,
} from '@switchyard/core';
import { historyEntryId } from './history-entries.js';
import type { RecordKind } from './etcd-read.js';

/**
 * Every record kind the control plane reads or writes, each with its schema
 * and the check that it belongs under its key. Reads (etcd-read.ts) and the
 * guarded write (etcd-guarded-write.ts) use the same kinds, so what is
 * written passes what will be read.
 */
export interface RecordKinds {
  model: RecordKind<ModelRecord>;
  version: RecordKind<VersionRecord>;
  route: RecordKind<RouteRecord>;
  placement: RecordKind<PlacementRecord>;
  history: RecordKind<HistoryEntryRecord>;
  node: RecordKind<NodeRecord>;
  status: RecordKind<VersionStatusRecord>;
  memory: RecordKind<NodeMemoryRecord>;
  controlPlane: RecordKind<ControlPlaneRecord>;
  rolloutStats: RecordKind<RolloutStatsRecord>;
  shadowStats: RecordKind<ShadowStatsRecord>;
  usage: RecordKind<UsageRecord>;
}

export function recordKinds(keys: KeyLayout): RecordKinds {
  return {
    model: {
      schema: ModelRecordSchema,
      what: 'model',
      check: (key, v) => (key === keys.model(v.name) ? undefined : `it names model ${v.name}, not its key`),
    },
    version: {
      schema: VersionRecordSchema,
      what: 'version',
      check: (key, v) => (key === keys.version(v.model, v.version) ? undefined : `it names ${v.model}/${v.version}, not its key`),
    },
    route: {
      schema: RouteRecordSchema,
      what: 'route',
      check: (key, v) => (key === keys.route(v.model) ? undefined : `it names model ${v.model}, not its key`),
    },
    placement: {
      schema: PlacementRecordSchema,
      what: 'placement',
      check: (key, v) => (key === keys.placement(v.model, v.version) ? undefined : `it names ${v.model}/${v.version}, not its key`),
    },
    history: {
      schema: HistoryEntryRecordSchema,
      what: 'history entry',
      check: (key, v) => (key.startsWith(keys.historyPrefix(v.model)) ? undefined : `it names model ${v.model}, not its key`),
    },
    node: {
      schema: NodeRecordSchema,
      what: 'node',
      check: (key, v) => (key === keys.node(v.id) ? undefined : `it names node ${v.id}, not its key`),
    },
    status: {
      schema: VersionStatusRecordSchema,
      what: 'version status',
      check: (key, v) =>
        key === keys.status(v.nodeId, v.model, v.version) ? undefined : `it names node ${v.nodeId}, ${v.model}/${v.version}, not its key`,
    },
    memory: {
      schema: NodeMemoryRecordSchema,
      what: 'node memory',
      check: (key, v) => (key === keys.nodeMemory(v.nodeId) ? undefined : `it names node ${v.nodeId}, not its key`),
    },
    controlPlane: {
      schema: ControlPlaneRecordSchema,
      what: 'control plane',
      check: (key, v) => (key === keys.controlPlane(v.id) ? undefined : `it names control plane ${v.id}, not its key`),
    },
    rolloutStats: {
      schema: RolloutStatsRecordSchema,
      what: 'rollout figures',
      check: (key, v) => (key.startsWith(keys.rolloutStatsPrefix(v.model, v.rolloutId, v.step)) ? undefined : 'it names another rollout or step than its key'),
    },
    shadowStats: {
      schema: ShadowStatsRecordSchema,
      what: 'shadow stats',
      check: (key, v) =>
        key.startsWith(keys.shadowStatsPrefix(v.model, v.primary, v.shadow)) ? undefined : 'it names another model, primary or shadow than its key',
    },
    usage: {
      schema: UsageRecordSchema,
      what: 'usage',
    },
  };
}

/** Where an audit entry is stored: its model's log, under an id that sorts by time. */
export function auditKey(keys: KeyLayout, entry: HistoryEntryRecord): string {
  return keys.history(entry.model, historyEntryId(Date.parse(entry.at)));
}
