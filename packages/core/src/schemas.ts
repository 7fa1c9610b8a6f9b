import { z } from 'zod';
import { DATATYPES } from './datatypes.js';

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
});
export type ModelRecord = z.infer<typeof ModelRecordSchema>;

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
});
export type VersionRecord = z.infer<typeof VersionRecordSchema>;
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
    // Rollout and shadow settings arrive with their own features; unknown
    // fields in them are kept as they are so older nodes do not drop them.
    shadows: z.array(z.looseObject({ version: z.string().min(1) })).default([]),
    rollout: z.looseObject({}).nullable().default(null),
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
