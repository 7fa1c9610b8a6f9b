import {
  UPDATABLE_MODEL_FIELDS,
  invalidArgument,
  type Int64,
  type ModelRecord,
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

/** The model record with the masked fields of the request applied. */
export function applyModelUpdate(record: ModelRecord, request: UpdateModelRequest, fields: ReadonlySet<UpdatableModelField>, now: string): ModelRecord {
  return {
    ...record,
    owner: fields.has('owner') ? request.owner : record.owner,
    description: fields.has('description') ? request.description : record.description,
    defaultExpiresAfterSeconds: fields.has('default_expires_after_seconds')
      ? checkSeconds('default_expires_after_seconds', request.default_expires_after_seconds)
      : record.defaultExpiresAfterSeconds,
    updatedAt: now,
  };
}
