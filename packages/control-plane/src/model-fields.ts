import {
  runtimeFromMessage,
  DEFAULT_PLACEMENT_SETTINGS,
  UPDATABLE_MODEL_FIELDS,
  invalidArgument,
  labelsLimitError,
  textLimitError,
  type CreateModelRequest,
  type CreateVersionRequest,
  type Int64,
  type ModelRecord,
  type PlacementSettings,
  type PlacementSettingsMessage,
  type UpdatableModelField,
  type UpdateModelRequest,
} from '@switchyard/core';

/**
 * A duration in whole seconds from a request; 0 means "the default applies".
 * @throws INVALID_ARGUMENT naming the field for a negative or non-integer value.
 */
export function checkSeconds(field: string, value: Int64): number {
  const text = String(value);
  const seconds = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(seconds)) throw invalidArgument(`${field} '${text}' is not a whole number of seconds`);
  if (seconds < 0) throw invalidArgument(`${field} is ${seconds}; pass a number of seconds, or 0 for the default`);
  return seconds;
}

function isUpdatable(field: string): field is UpdatableModelField {
  return (UPDATABLE_MODEL_FIELDS as readonly string[]).includes(field);
}

/**
 * The fields an UpdateModel request changes.
 * @throws INVALID_ARGUMENT for an empty mask or a field that cannot be updated.
 */
export function checkUpdateMask(mask: readonly string[]): Set<UpdatableModelField> {
  const allowed = UPDATABLE_MODEL_FIELDS.join(', ');
  if (mask.length === 0) throw invalidArgument(`update_mask is empty, so nothing would change; name the fields to change (${allowed})`);
  const fields = new Set<UpdatableModelField>();
  for (const field of mask) {
    if (!isUpdatable(field)) throw invalidArgument(`update_mask names '${field}', which UpdateModel cannot change; use ${allowed}`);
    fields.add(field);
  }
  return fields;
}

/**
 * Refuses a model's free text past its limit (RECORD_LIMITS), before
 * anything is read or written; `fields`, for UpdateModel, limits the check
 * to the masked fields.
 * @throws INVALID_ARGUMENT naming the field and the limit.
 */
export function checkModelText(request: Partial<Pick<CreateModelRequest, 'owner' | 'description'>>, fields?: ReadonlySet<UpdatableModelField>): void {
  const error = textLimitError({
    owner: fields === undefined || fields.has('owner') ? request.owner : undefined,
    description: fields === undefined || fields.has('description') ? request.description : undefined,
  });
  if (error !== undefined) throw invalidArgument(error);
}

/**
 * Refuses a version's description and labels past their limits
 * (RECORD_LIMITS), or a label with an empty key.
 * @throws INVALID_ARGUMENT naming the field and the limit.
 */
export function checkVersionText(request: Partial<Pick<CreateVersionRequest, 'description' | 'labels'>>): void {
  const error = textLimitError({ description: request.description }) ?? labelsLimitError(request.labels ?? {});
  if (error !== undefined) throw invalidArgument(error);
}

/** The model record with the masked fields of the request applied. */
export function applyModelUpdate(record: ModelRecord, request: UpdateModelRequest, fields: ReadonlySet<UpdatableModelField>, now: string): ModelRecord {
  const current = record.placement ?? DEFAULT_PLACEMENT_SETTINGS;
  const given = request.placement ?? { min_copies: 0, max_copies: 0, always_resident: false };
  const whole = fields.has('placement');
  const placementChanged = whole || [...fields].some((f) => f.startsWith('placement.'));
  const placement = placementChanged
    ? checkPlacement({
        min_copies: whole || fields.has('placement.min_copies') ? given.min_copies : current.minCopies,
        max_copies: whole || fields.has('placement.max_copies') ? given.max_copies : current.maxCopies,
        always_resident: whole || fields.has('placement.always_resident') ? given.always_resident : current.alwaysResident,
      })
    : record.placement;
  return {
    ...record,
    ...(placement === undefined ? {} : { placement }),
    owner: fields.has('owner') ? request.owner : record.owner,
    description: fields.has('description') ? request.description : record.description,
    defaultExpiresAfterSeconds: fields.has('default_expires_after_seconds')
      ? checkSeconds('default_expires_after_seconds', request.default_expires_after_seconds)
      : record.defaultExpiresAfterSeconds,
    ...(fields.has('runtime') ? { runtime: runtimeFromMessage(request.runtime, undefined, 'runtime') } : {}),
    updatedAt: now,
  };
}

/** Most copies a setting may ask for: more nodes than any cluster runs. */
const MAX_COPIES_SETTING = 1000;

/**
 * A model's placement settings from a request (docs/placement.md); absent:
 * the defaults.
 * @throws INVALID_ARGUMENT naming the field.
 */
export function checkPlacement(message: PlacementSettingsMessage | null | undefined): PlacementSettings {
  if (!message) return { ...DEFAULT_PLACEMENT_SETTINGS };
  const count = (field: 'min_copies' | 'max_copies'): number => {
    const value = Number(message[field] ?? 0);
    if (!Number.isSafeInteger(value) || value < 0 || value > MAX_COPIES_SETTING) {
      throw invalidArgument(`placement.${field} is ${String(message[field])}; pass a whole number from 0 to ${MAX_COPIES_SETTING}`);
    }
    return value;
  };
  const minCopies = count('min_copies');
  const maxCopies = count('max_copies');
  if (maxCopies > 0 && minCopies > maxCopies) {
    throw invalidArgument(`placement.min_copies (${minCopies}) is more than placement.max_copies (${maxCopies}); raise the maximum, or pass 0 for one copy per node`);
  }
  return { minCopies, maxCopies, alwaysResident: message.always_resident === true };
}
