import { z } from 'zod';
import { DATATYPES } from './datatypes.js';
import { RuntimeSettingsSchema } from './runtime-settings.js';

/**
 * Schemas of every JSON value stored in etcd. Values are checked on read:
 * one written by hand with etcdctl that does not fit is logged and ignored,
 * never trusted.
 */

const isoTime = z.string().min(1);

export const TensorSpecSchema = z.object({
  name: z.string().min(1),
  datatype: z.enum(DATATYPES),
  /** -1 marks a variable-size dimension. */
  shape: z.array(z.number().int().min(-1)),
});
export type TensorSpec = z.infer<typeof TensorSpecSchema>;

export const SignatureSchema = z.object({
  inputs: z.array(TensorSpecSchema).min(1),
  outputs: z.array(TensorSpecSchema).min(1),
});
export type Signature = z.infer<typeof SignatureSchema>;

export const VALIDATION_STATES = ['PASSED', 'REJECTED'] as const;
export type ValidationState = (typeof VALIDATION_STATES)[number];

export const ModelRecordSchema = z.object({
  name: z.string().min(1),
  owner: z.string().default(''),
  description: z.string().default(''),
  /** 0: the cluster default applies. */
  defaultExpiresAfterSeconds: z.number().int().nonnegative().default(0),
  createdAt: isoTime,
  updatedAt: isoTime,
  /** Set when the model's last weighted version was retired (issue #6): nodes answer NOT_FOUND saying so. */
  retiredAt: isoTime.optional(),
  /** How many loaded copies its versions get (issue #16, docs/placement.md); absent: {@link DEFAULT_PLACEMENT_SETTINGS}. */
  placement: z
    .object({
      /** Copies kept loaded while the cluster has memory for them; 0: loaded only on request. */
      minCopies: z.number().int().nonnegative().default(1),
      /** Most copies load may add; 0: as many as there are nodes. */
      maxCopies: z.number().int().nonnegative().default(0),
      /** Never loses copies to memory pressure (but a version bigger than every node is still refused). */
      alwaysResident: z.boolean().default(false),
    })
    .optional(),
  /** Default runtime settings of its versions (issue #17, runtime-settings.ts); absent: the built-in defaults. */
  runtime: RuntimeSettingsSchema.optional(),
});
export type ModelRecord = z.infer<typeof ModelRecordSchema>;
export type PlacementSettings = NonNullable<ModelRecord['placement']>;
export const DEFAULT_PLACEMENT_SETTINGS: PlacementSettings = { minCopies: 1, maxCopies: 0, alwaysResident: false };

export const RETIREMENT_STATES = ['ACTIVE', 'WARNED', 'RETIRED'] as const;
export type RetirementState = (typeof RETIREMENT_STATES)[number];

export const VersionRecordSchema = z.object({
  model: z.string().min(1),
  version: z.string().min(1),
  artifact: z.object({
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    size: z.number().int().nonnegative(),
  }),
  signature: SignatureSchema,
  createdAt: isoTime,
  createdBy: z.string().default(''),
  description: z.string().default(''),
  labels: z.record(z.string(), z.string()).default({}),
  /** 0: the model's default applies. */
  expiresAfterSeconds: z.number().int().nonnegative().default(0),
  /** The samples document in the artifact store (docs/samples.md), golden outputs included. */
  samples: z
    .object({ sha256: z.string().regex(/^[0-9a-f]{64}$/), size: z.number().int().nonnegative(), count: z.number().int().nonnegative() })
    .nullable()
    .default(null),
  /**
   * Deploy-time validation. Absent on records written before validation
   * existed; nodes load a version whatever this says (the control plane
   * refuses to route a version that is not PASSED).
   */
  validation: z
    .object({
      state: z.enum(VALIDATION_STATES),
      reason: z.string().default(''),
      samples: z.number().int().nonnegative().default(0),
      goldenRecorded: z.boolean().default(false),
      maxAbsDiff: z.number().nonnegative().default(0),
      durationMs: z.number().nonnegative().default(0),
      validatedAt: isoTime,
    })
    .optional(),
  /** Never expires while true (issue #6); absent means false. */
  pinned: z.boolean().optional(),
  /** Where the version is in auto-retirement (issue #6, docs/retirement.md); absent means ACTIVE. */
  retirement: z
    .object({
      state: z.enum(RETIREMENT_STATES),
      /** When the version last became ACTIVE again (unretired); the expiration clock starts no earlier. */
      activeSince: isoTime.nullable().default(null),
      warnedAt: isoTime.nullable().default(null),
      retiredAt: isoTime.nullable().default(null),
      /** Why it was retired: expired, or by whom by hand. */
      reason: z.string().default(''),
      /** The artifact is collected after this time unless a version that is not retired shares it. */
      artifactDeleteAfter: isoTime.nullable().default(null),
      artifactDeletedAt: isoTime.nullable().default(null),
    })
    .optional(),
  /** Runtime settings of this version, over its model's (issue #17, runtime-settings.ts); absent: the model's. */
  runtime: RuntimeSettingsSchema.optional(),
});
export type VersionRecord = z.infer<typeof VersionRecordSchema>;
export type RetirementRecord = NonNullable<VersionRecord['retirement']>;
export type ValidationRecord = NonNullable<VersionRecord['validation']>;

/** Weights are basis points; a route's weights add up to this. */
export const TOTAL_WEIGHT = 10_000;

export const RouteSplitSchema = z.object({
  version: z.string().min(1),
  weight: z.number().int().min(0).max(TOTAL_WEIGHT),
});
export type RouteSplit = z.infer<typeof RouteSplitSchema>;

/** Slots `start` (inclusive) to `end` (exclusive) of the TOTAL_WEIGHT basis-point slots belong to `version`. */
export const SlotRangeSchema = z.object({
  start: z.number().int().min(0).max(TOTAL_WEIGHT),
  end: z.number().int().min(0).max(TOTAL_WEIGHT),
  version: z.string().min(1),
});
export type SlotRange = z.infer<typeof SlotRangeSchema>;

/**
 * A shadow of a route: after the primary has answered, a sampled share of the
 * model's unversioned requests is replayed against `version` on the same node
 * and the outputs compared. Loose, so fields added later survive older readers.
 */
export const ShadowEntrySchema = z.looseObject({
  version: z.string().min(1),
  /** Share of requests mirrored, 0–1. */
  fraction: z.number().min(0).max(1),
  /** Stop mirroring after this time (RFC 3339); null: no end. */
  until: isoTime.nullable().default(null),
  /** Stop after this many mirrored requests over all nodes (enforced by the control plane); null: no budget. */
  budget: z.number().int().positive().nullable().default(null),
  /** Absolute difference within which two output elements count as equal. */
  tolerance: z.number().nonnegative().default(1e-5),
  addedAt: isoTime,
  addedBy: z.string().default(''),
  /** Added by deploy's auto-shadow option rather than by hand. */
  auto: z.boolean().default(false),
});
export type ShadowEntry = z.infer<typeof ShadowEntrySchema>;

export const ROLLOUT_STATES = ['PENDING', 'PROGRESSING', 'PAUSED', 'SUCCEEDED', 'ROLLED_BACK', 'ABORTED'] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

/** Limits the new version must stay inside during every step. A null limit is not checked. */
export const RolloutGatesSchema = z.looseObject({
  /** Largest error share (0–1) of the new version. */
  maxErrorRate: z.number().min(0).max(1).nullable().default(0.01),
  /** Largest new/old error-rate ratio (checked when the old version had errors or the new one has more than maxErrorRate/10). */
  maxErrorRateRatio: z.number().positive().nullable().default(2),
  /** Largest new/old p99 latency ratio. */
  maxP99Ratio: z.number().positive().nullable().default(1.5),
  /** Smallest share (0–1) of shadowed requests whose outputs all agreed, when shadow results exist. */
  minShadowAgreement: z.number().min(0).max(1).nullable().default(null),
  /** Shadowed requests needed before the first step (0: none). */
  minShadowRequests: z.number().int().nonnegative().default(0),
  /** p99 differences (new − old) below this many ms never fail the p99 gate (noise on fast models); absent: 5. */
  p99ToleranceMs: z.number().nonnegative().optional(),
});
export type RolloutGates = z.infer<typeof RolloutGatesSchema>;

/** Figures of one version over one step, summed over every node's report. */
export const RolloutFiguresSchema = z.looseObject({
  requests: z.number().nonnegative(),
  errors: z.number().nonnegative(),
  errorRate: z.number().nonnegative(),
  p99Ms: z.number().nonnegative().nullable(),
});
export type RolloutFigures = z.infer<typeof RolloutFiguresSchema>;

/**
 * A rollout, stored on its route so every step is a compare-and-swap on the
 * route key: `steps` are the new version's percentages in order; step
 * `stepIndex` is applied when its weights are in the route's splits.
 */
export const RolloutRecordSchema = z.looseObject({
  /** Unique per rollout; node step figures are filed under it. */
  id: z.string().min(1),
  from: z.string().min(1),
  to: z.string().min(1),
  /** Percentages of traffic for `to`, increasing, the last 100. */
  steps: z.array(z.number().gt(0).max(100)).min(1),
  /** -1 before the first step is applied. */
  stepIndex: z.number().int().min(-1),
  stepStartedAt: isoTime.nullable().default(null),
  minStepSeconds: z.number().nonnegative(),
  minStepRequests: z.number().int().nonnegative(),
  /**
   * Seconds a rollout may wait (for requests, figures, shadowed requests,
   * or a version that never becomes READY) after its last transition before
   * it rolls back; 0: never. Absent in rollouts stored before it existed: 0.
   */
  progressDeadlineSeconds: z.number().nonnegative().default(0),
  gates: RolloutGatesSchema,
  state: z.enum(ROLLOUT_STATES),
  /** Why the last transition happened, in words (for a rollback: the figures that failed). */
  reason: z.string().default(''),
  /** Figures of the last completed or failed step, by role. */
  lastFigures: z.looseObject({ from: RolloutFiguresSchema, to: RolloutFiguresSchema }).nullable().default(null),
  startedAt: isoTime,
  startedBy: z.string().default(''),
  updatedAt: isoTime,
});
export type RolloutRecord = z.infer<typeof RolloutRecordSchema>;

export const RouteRecordSchema = z
  .object({
    model: z.string().min(1),
    splits: z.array(RouteSplitSchema),
    /**
     * Which version owns each basis-point slot, so routing keys stay put
     * across weight changes (route-slots.ts). Absent on routes written
     * before it existed, and ignored when it does not match the weights:
     * readers then derive it from the splits (`resolveSlots`).
     */
    slots: z.array(SlotRangeSchema).optional(),
    updatedAt: isoTime,
    updatedBy: z.string().default(''),
    /** Versions that get a mirrored share of this model's traffic (issue #5). */
    shadows: z.array(ShadowEntrySchema).default([]),
    /** The rollout moving weight between two versions, or the last one that ended (issue #4). */
    rollout: RolloutRecordSchema.nullable().default(null),
  })
  .refine((r) => r.splits.length === 0 || r.splits.reduce((sum, s) => sum + s.weight, 0) === TOTAL_WEIGHT, {
    message: `route weights must add up to ${TOTAL_WEIGHT}`,
    path: ['splits'],
  })
  .refine((r) => new Set(r.splits.map((s) => s.version)).size === r.splits.length, {
    message: 'a version appears twice in the route',
    path: ['splits'],
  });
export type RouteRecord = z.infer<typeof RouteRecordSchema>;

export const NodeRecordSchema = z.object({
  id: z.string().min(1),
  /** host:port of the inference server. */
  address: z.string().min(1),
  metricsAddress: z.string().default(''),
  buildVersion: z.string().default(''),
  startedAt: isoTime,
  /** Bytes of model memory this node may hold (issue #16); 0 on a node from before budgets: placement treats it as unknown and gives it nothing. */
  memoryBudgetBytes: z.number().int().nonnegative().default(0),
  /**
   * Set when the node starts draining (SIGTERM, `drain`): it finishes what it
   * has and takes nothing new, so placement moves its copies away before its
   * lease ends, and clients and forwarding nodes stop picking it.
   */
  draining: z.boolean().default(false),
  /** host:port of the KServe v2 REST endpoint (issue #18), '' when the node serves none. */
  httpAddress: z.string().default(''),
});
export type NodeRecord = z.infer<typeof NodeRecordSchema>;

export const LOAD_STATES = ['LOADING', 'READY', 'FAILED', 'UNLOADING'] as const;
export type LoadState = (typeof LOAD_STATES)[number];

export const VersionStatusRecordSchema = z.object({
  nodeId: z.string().min(1),
  model: z.string().min(1),
  version: z.string().min(1),
  state: z.enum(LOAD_STATES),
  error: z.string().default(''),
  /** Milliseconds from the start of loading to READY. */
  loadMs: z.number().nonnegative().optional(),
  attempts: z.number().int().nonnegative().default(0),
  /** What one loaded copy costs on this node: resident-memory growth across its load and warm-up (issue #16). */
  memoryBytes: z.number().int().nonnegative().optional(),
  updatedAt: isoTime,
});
export type VersionStatusRecord = z.infer<typeof VersionStatusRecordSchema>;

export const ControlPlaneRecordSchema = z.object({
  id: z.string().min(1),
  /** host:port of the admin and artifact server. */
  address: z.string().min(1),
  startedAt: isoTime,
});
export type ControlPlaneRecord = z.infer<typeof ControlPlaneRecordSchema>;

/** One change made through the admin API, kept in the model's audit log. */
export const HistoryEntryRecordSchema = z.object({
  at: isoTime,
  /** The token's name, or "anonymous" when auth is off. */
  actor: z.string(),
  action: z.string().min(1),
  model: z.string().min(1),
  version: z.string().default(''),
  /** The record before and after, as stored; null when absent. */
  before: z.unknown().nullable().default(null),
  after: z.unknown().nullable().default(null),
});
export type HistoryEntryRecord = z.infer<typeof HistoryEntryRecordSchema>;

/** One version's counters on one node (requests, errors, latency), as published. */
export const VersionCountersSchema = z.object({
  requests: z.number().int().nonnegative(),
  errors: z.number().int().nonnegative(),
  latencySumSeconds: z.number().nonnegative().default(0),
  /** Non-cumulative counts over core's latency-histogram buckets. */
  latency: z.array(z.number().int().nonnegative()),
});
export type VersionCounters = z.infer<typeof VersionCountersSchema>;

/**
 * What one node process served to each version of a model during one
 * rollout step: `runtime/rollout-stats/{model}/{rolloutId}/{step}/{reporter}`.
 * Not bound to the node's lease, so a node's figures outlive it; the
 * controller deletes the rollout's prefix when it ends.
 */
export const RolloutStatsRecordSchema = z.object({
  nodeId: z.string().min(1),
  /** Random per node process, so a restarted node never overwrites its predecessor's figures. */
  incarnation: z.string().min(1),
  model: z.string().min(1),
  rolloutId: z.string().min(1),
  step: z.number().int().min(0),
  versions: z.record(z.string(), VersionCountersSchema),
  updatedAt: isoTime,
});
export type RolloutStatsRecord = z.infer<typeof RolloutStatsRecordSchema>;

/** Comparison of one output tensor of a shadow with the primary's, summed. */
export const ShadowOutputStatsSchema = z.object({
  /** Elements compared. */
  elements: z.number().nonnegative(),
  sumAbsDiff: z.number().nonnegative(),
  maxAbsDiff: z.number().nonnegative(),
  /** Elements whose absolute difference is within the shadow's tolerance. */
  withinTolerance: z.number().nonnegative(),
  /** Requests whose output looked like class scores (last dimension > 1), compared on arg-max. */
  top1Compared: z.number().nonnegative().default(0),
  top1Agreed: z.number().nonnegative().default(0),
});
export type ShadowOutputStats = z.infer<typeof ShadowOutputStatsSchema>;

/**
 * One node process's shadow figures for (model, primary, shadow), cumulative
 * since the process started: `runtime/shadow-stats/{model}/{primary}/{shadow}/{reporter}`.
 * Not lease-bound; summed over all reporters by the control plane.
 */
export const ShadowStatsRecordSchema = z.object({
  nodeId: z.string().min(1),
  incarnation: z.string().min(1),
  model: z.string().min(1),
  primary: z.string().min(1),
  shadow: z.string().min(1),
  /** Requests sampled for mirroring. */
  mirrored: z.number().int().nonnegative(),
  /** Sampled but dropped because the shadow queue was full or the node busy. */
  dropped: z.number().int().nonnegative(),
  /** Shadow calls that failed, by kind. */
  failed: z.object({
    error: z.number().int().nonnegative(),
    timeout: z.number().int().nonnegative(),
    shape: z.number().int().nonnegative(),
  }),
  /** Shadow calls that ran and were compared. */
  compared: z.number().int().nonnegative(),
  /** Compared calls whose every output element was within tolerance. */
  agreed: z.number().int().nonnegative(),
  outputs: z.record(z.string(), ShadowOutputStatsSchema),
  /** The shadow's own latency. */
  latency: z.array(z.number().int().nonnegative()).default([]),
  updatedAt: isoTime,
});
export type ShadowStatsRecord = z.infer<typeof ShadowStatsRecordSchema>;

/**
 * When one node last used a version: `runtime/usage/{model}/{version}/{nodeId}`.
 * Written coalesced (at most once per publish interval per version per node,
 * and on drain); not lease-bound, so use outlives the node.
 */
export const UsageRecordSchema = z.object({
  nodeId: z.string().min(1),
  model: z.string().min(1),
  version: z.string().min(1),
  /** Last request answered as primary (RFC 3339); null: never on this node. */
  lastPrimaryAt: isoTime.nullable(),
  /** Last request answered as a shadow; null: never. */
  lastShadowAt: isoTime.nullable(),
  /** Requests per second this node answered for the version over its last publish interval (issue #16: copies follow load). */
  ratePerSecond: z.number().nonnegative().default(0),
  updatedAt: isoTime,
});
export type UsageRecord = z.infer<typeof UsageRecordSchema>;

/**
 * What one node holds in memory (issue #16): `runtime/memory/{nodeId}`,
 * bound to the node's lease, rewritten when it changes (coalesced to at
 * most once per publish interval). The placer reads it; `status` shows it.
 */
export const NodeMemoryRecordSchema = z.object({
  nodeId: z.string().min(1),
  budgetBytes: z.number().int().nonnegative(),
  /** Sum of the loaded versions' measured (or, while loading, estimated) memory. */
  usedBytes: z.number().int().nonnegative(),
  /** The process's resident set, for comparison with the budget. */
  rssBytes: z.number().int().nonnegative(),
  /**
   * Resident growth of the node (its process and session processes) above
   * its idle baseline that no loaded version accounts for: counted against
   * the budget with `usedBytes`, so what the budget bounds is the process's
   * real growth. 0 where the node cannot measure it (several nodes in one
   * process); absent from nodes that do not measure it.
   */
  unaccountedBytes: z.number().int().nonnegative().optional(),
  /** How many versions are loaded here. */
  loaded: z.number().int().nonnegative(),
  /** Versions unloaded to make room since the node started. */
  evictions: z.number().int().nonnegative().default(0),
  /**
   * Versions placed here (`model/version`) that the node unloaded to make
   * room for a version a request needed: the placer stops counting this copy
   * and places it elsewhere if it still wants one. Listed while the placement
   * still names this node.
   */
  displaced: z.array(z.string().min(1)).default([]),
  updatedAt: isoTime,
});
export type NodeMemoryRecord = z.infer<typeof NodeMemoryRecordSchema>;

/**
 * Where one version is kept loaded (issue #16, docs/placement.md):
 * `target/placements/{model}/{version}`, written only by the elected control
 * plane through the guarded write (compare-and-swap, like routes). Nodes
 * load what names them and nothing else ahead of a request; a version with
 * no copies is still routable and loads where its first request lands.
 */
export const PlacementRecordSchema = z.object({
  model: z.string().min(1),
  version: z.string().min(1),
  /** Nodes that should hold a loaded copy, with when each copy was placed (a copy younger than the minimum age is never taken away for quiet). */
  copies: z.array(z.object({ nodeId: z.string().min(1), since: isoTime })).default([]),
  /** Copies the settings and load asked for before memory limited them. */
  wantedCopies: z.number().int().nonnegative().default(0),
  /** Bytes one copy is expected to take (measured on a node, else estimated from the artifact). */
  estimatedBytes: z.number().int().nonnegative().default(0),
  /** Why fewer copies than wanted are placed, '' when all are. */
  reason: z.string().default(''),
  updatedAt: isoTime,
});
export type PlacementRecord = z.infer<typeof PlacementRecordSchema>;

/** gRPC metadata a node sets on a request it forwards to another node; a node never forwards a request that carries it. */
export const FORWARDED_METADATA_KEY = 'switchyard-forwarded-by';

/**
 * gRPC metadata naming the version a route's slot chose for an unversioned
 * request, set by a forwarding node and by `@switchyard/client` when it sends
 * a request straight to a node holding that version (issue #16). The node
 * serves that version when it is one of the route's weighted versions (else
 * it ignores the hint) and still treats the request as unversioned (shadows
 * mirror it, the response names the version).
 */
export const ROUTED_VERSION_METADATA_KEY = 'switchyard-routed-version';

/**
 * How big what a deployer writes into etcd may be (issue #14): free text
 * and labels in UTF-8 bytes, whole records as JSON. One oversized value
 * otherwise makes etcd refuse the request (1.5 MiB by default) or fills its
 * quota through the history of revisions. The admin API refuses a request
 * past a limit with INVALID_ARGUMENT naming the field, before etcd is
 * called, and the guarded write checks every record it writes again. The
 * schemas above do not: a record stored before a limit existed is still
 * read and served. Listed in docs/operations.md#limits.
 */
export const RECORD_LIMITS = {
  /** A model's `owner`. */
  ownerBytes: 256,
  /** A model's or a version's `description`. */
  descriptionBytes: 4096,
  /** Labels of one version. */
  labelCount: 64,
  /** One label's key (at least 1 byte). */
  labelKeyBytes: 128,
  /** One label's value. */
  labelValueBytes: 256,
  /** One model, version or route record as stored (JSON). A version's signature counts: a model with thousands of inputs is refused. */
  recordBytes: 256 * 1024,
  /** One audit entry as stored (JSON); entries are compacted to fit (docs/etcd-layout.md). */
  auditEntryBytes: 32 * 1024,
} as const;

/** UTF-8 length of a string, the unit etcd stores. */
export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** Says which free-text field is past its limit, naming it as the admin API does; undefined when all fit. */
export function textLimitError(fields: { owner?: string | undefined; description?: string | undefined }): string | undefined {
  if (fields.owner !== undefined && utf8Bytes(fields.owner) > RECORD_LIMITS.ownerBytes) {
    return `owner is ${utf8Bytes(fields.owner)} bytes; at most ${RECORD_LIMITS.ownerBytes} bytes (UTF-8) are stored`;
  }
  if (fields.description !== undefined && utf8Bytes(fields.description) > RECORD_LIMITS.descriptionBytes) {
    return `description is ${utf8Bytes(fields.description)} bytes; at most ${RECORD_LIMITS.descriptionBytes} bytes (UTF-8) are stored: link to a longer text instead`;
  }
  return undefined;
}

/** Says what is wrong with a version's labels (count, an empty, reserved or oversized key, an oversized value); undefined when they fit. */
export function labelsLimitError(labels: Readonly<Record<string, string>>): string | undefined {
  const entries = Object.entries(labels);
  if (entries.length > RECORD_LIMITS.labelCount) return `labels has ${entries.length} entries; at most ${RECORD_LIMITS.labelCount} are stored`;
  for (const [key, value] of entries) {
    if (key === '') return 'a label has an empty key; every label needs a key';
    // JSON.parse keeps such a key, but every object it is copied into (zod's record included) takes it as its prototype: stored, it would vanish on read.
    if (key === '__proto__') return "label key '__proto__' is reserved; choose another key";
    const shown = key.length > 40 ? `${key.slice(0, 40)}…` : key;
    if (utf8Bytes(key) > RECORD_LIMITS.labelKeyBytes) return `label key '${shown}' is ${utf8Bytes(key)} bytes; at most ${RECORD_LIMITS.labelKeyBytes} bytes (UTF-8)`;
    if (utf8Bytes(value) > RECORD_LIMITS.labelValueBytes) {
      return `label '${shown}' has a value of ${utf8Bytes(value)} bytes; at most ${RECORD_LIMITS.labelValueBytes} bytes (UTF-8)`;
    }
  }
  return undefined;
}

/** How much a rewrite may grow a stored record that was already past {@link RECORD_LIMITS}.recordBytes. */
const GRANDFATHERED_GROWTH_BYTES = 4096;

/**
 * Says why a record is too big to store as a model, version or route;
 * undefined when it fits. `previous`, the record as stored when this is a
 * rewrite of it, exempts what was stored before a limit existed: a field
 * left as it was is not checked, and the record may grow by a little, so
 * leader work (retirement) never gets stuck on an old record.
 */
export function recordLimitError(what: 'model' | 'version' | 'route', record: unknown, previous?: unknown): string | undefined {
  const fields = asFields(record);
  const before = previous === undefined ? undefined : asFields(previous);
  const changed = (field: 'owner' | 'description' | 'labels'): boolean => before === undefined || JSON.stringify(before[field]) !== JSON.stringify(fields[field]);
  const text = (field: 'owner' | 'description'): string | undefined => {
    const value = fields[field];
    return typeof value === 'string' && changed(field) ? value : undefined;
  };
  const textError = textLimitError({ owner: text('owner'), description: text('description') });
  if (textError !== undefined) return textError;
  if (what === 'version' && typeof fields.labels === 'object' && fields.labels !== null && changed('labels')) {
    const labels = labelsLimitError(fields.labels as Record<string, string>);
    if (labels !== undefined) return labels;
  }
  const bytes = utf8Bytes(JSON.stringify(record));
  const allowed = previous === undefined ? RECORD_LIMITS.recordBytes : Math.max(RECORD_LIMITS.recordBytes, utf8Bytes(JSON.stringify(previous)) + GRANDFATHERED_GROWTH_BYTES);
  if (bytes > allowed) {
    return `the ${what} record would be ${bytes} bytes; at most ${RECORD_LIMITS.recordBytes} bytes are stored per record${what === 'version' ? ' (a model with very many inputs or outputs has a large signature)' : ''}`;
  }
  return undefined;
}

function asFields(record: unknown): { owner?: unknown; description?: unknown; labels?: unknown } {
  return typeof record === 'object' && record !== null ? record : {};
}

/** Parses a stored JSON value; returns the zod error text instead of throwing. */
export function parseStored<T>(
  schema: z.ZodType<T>,
  raw: string,
): { ok: true; value: T } | { ok: false; error: string } {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    return { ok: false, error: `not JSON: ${(err as Error).message}` };
  }
  const result = schema.safeParse(json);
  if (result.success) return { ok: true, value: result.data };
  return { ok: false, error: z.prettifyError(result.error).replace(/\n/g, '; ') };
}
