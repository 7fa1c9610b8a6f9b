import { Buffer } from 'node:buffer';
import { z } from 'zod';
import { DATATYPES, type Datatype } from './datatypes.js';
import { invalidArgument } from './errors.js';
import type { Signature, TensorSpec } from './schemas.js';

/**
 * The samples document (docs/samples.md): example requests for a model
 * version, optionally with the outputs they must produce ("golden" outputs).
 * Deploy-time validation runs them before a version can be routed.
 */

/** One element of a sample tensor: numbers, booleans (BOOL), strings for BYTES, for INT64/UINT64 beyond 2^53 and for NaN/±Infinity. */
export type SampleValue = number | boolean | string;

/** A tensor in a samples document, normalised: flat row-major `data` whose length is the product of `shape`. */
export interface SampleTensor {
  datatype: Datatype;
  shape: number[];
  data: SampleValue[];
}

/** numpy's allclose rule: an element matches when |got − expected| ≤ absolute + relative·|expected|. */
export interface Tolerance {
  absolute: number;
  relative: number;
}

/** One example request, and optionally what it must return. */
export interface Sample {
  /** `sample-<index>` when the document does not name it. */
  name: string;
  inputs: Record<string, SampleTensor>;
  /** Golden outputs by output name; absent when none were given (validation records them). */
  outputs?: Record<string, SampleTensor>;
  /** Per-output tolerances, fully resolved (fields not given come from the document's tolerance). */
  tolerance?: Record<string, Tolerance>;
}

/** A parsed samples document; defaults filled in, every tensor flat. */
export interface SamplesDocument {
  tolerance: Tolerance;
  samples: Sample[];
}

/**
 * The default tolerance. Exact equality is wrong for float32 models: the same
 * graph run by two onnxruntime builds (CPU kernels with other SIMD widths,
 * fused or reordered reductions) differs in the last bits, and that grows
 * with the size of the sums. 1e-4 relative is ~800 float32 ulps, enough for
 * those reorderings and far below any real change of weights; the absolute
 * part covers expected values at or near zero, where a relative bound is zero.
 */
export const DEFAULT_TOLERANCE: Readonly<Tolerance> = Object.freeze({ absolute: 1e-5, relative: 1e-4 });

/** Most samples a document may hold; each one is a model run at every deploy. */
export const MAX_SAMPLES = 1000;

/** Largest samples document, in bytes, before or after golden outputs are recorded. */
export const MAX_SAMPLES_DOCUMENT_BYTES = 16 * 1024 * 1024;

// Deeper nesting than any real tensor; the bound keeps the recursive walk off the stack limit.
const MAX_RANK = 32;

export const FLOAT_WORDS: Record<string, number> = { NaN: Number.NaN, Infinity: Number.POSITIVE_INFINITY, '-Infinity': Number.NEGATIVE_INFINITY };

const INTEGER_RANGE: Partial<Record<Datatype, readonly [bigint, bigint]>> = {
  UINT8: [0n, 255n],
  INT8: [-128n, 127n],
  INT16: [-32768n, 32767n],
  UINT16: [0n, 65535n],
  INT32: [-2147483648n, 2147483647n],
  UINT32: [0n, 4294967295n],
  INT64: [-(2n ** 63n), 2n ** 63n - 1n],
  UINT64: [0n, 2n ** 64n - 1n],
};

type Issue = { message: string; path: PropertyKey[] };

/** A number when it is exact as one, else the decimal string, so JSON keeps 64-bit integers exact. */
export function jsonInteger(value: bigint): number | string {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
}

/** A finite float as a number; NaN and ±Infinity as the words JSON cannot otherwise hold. */
export function jsonFloat(value: number): number | string {
  if (Number.isFinite(value)) return value;
  return Number.isNaN(value) ? 'NaN' : value > 0 ? 'Infinity' : '-Infinity';
}

/** Checks one element against its datatype and returns its normalised form, or an error message. */
function normaliseValue(datatype: Datatype, value: unknown): { value: SampleValue } | { error: string } {
  if (datatype === 'BOOL') {
    if (typeof value === 'boolean') return { value };
    if (value === 0 || value === 1) return { value: value === 1 };
    return { error: `${JSON.stringify(value)} is not a valid BOOL; use true or false` };
  }
  if (datatype === 'BYTES') {
    if (typeof value === 'string') return { value };
    return { error: `${JSON.stringify(value)} is not a valid BYTES element; use a string` };
  }
  if (datatype === 'FP16' || datatype === 'FP32' || datatype === 'FP64') {
    if (typeof value === 'number') return { value };
    if (typeof value === 'string' && value in FLOAT_WORDS) return { value };
    return { error: `${JSON.stringify(value)} is not a valid ${datatype}; use a number, or "NaN", "Infinity", "-Infinity"` };
  }
  const [min, max] = INTEGER_RANGE[datatype]!;
  const wide = datatype === 'INT64' || datatype === 'UINT64';
  let big: bigint;
  if (typeof value === 'number' && Number.isInteger(value)) {
    if (!Number.isSafeInteger(value)) {
      // JSON.parse has already rounded it; only a string keeps such a value exact.
      return { error: `${value} is beyond 2^53 and lost precision in JSON; write it as a string, e.g. "9007199254740993"` };
    }
    big = BigInt(value);
  } else if (wide && typeof value === 'string' && /^-?[0-9]+$/.test(value)) {
    big = BigInt(value);
  } else {
    const accepted = wide ? 'an integer, or a decimal string for values beyond 2^53' : 'an integer';
    return { error: `${JSON.stringify(value)} is not a valid ${datatype}; use ${accepted}` };
  }
  if (big < min || big > max) return { error: `${big} is out of range for ${datatype} (${min} to ${max})` };
  return { value: wide ? jsonInteger(big) : Number(big) };
}

/** The shape of nested data, read along the first elements; checked for raggedness while flattening. */
function nestedShape(data: unknown[]): number[] | string {
  const shape: number[] = [];
  let current: unknown = data;
  while (Array.isArray(current)) {
    if (shape.length === MAX_RANK) return `data is nested deeper than ${MAX_RANK} levels`;
    shape.push(current.length);
    current = current[0];
  }
  return shape;
}

function flatten(node: unknown, shape: number[], depth: number, path: number[], out: unknown[]): Issue | undefined {
  if (depth === shape.length) {
    if (Array.isArray(node)) return { message: 'expected a value but found an array; every row must have the same depth', path };
    out.push(node);
    return undefined;
  }
  if (!Array.isArray(node) || node.length !== shape[depth]) {
    return { message: `expected an array of ${shape[depth]} items like the first one at this depth (rows must all have the same length)`, path };
  }
  for (let i = 0; i < node.length; i++) {
    const issue = flatten(node[i], shape, depth + 1, [...path, i], out);
    if (issue) return issue;
  }
  return undefined;
}

const product = (shape: number[]): number => shape.reduce((n, d) => n * d, 1);

/** Normalises a tensor as written (flat or nested data) to flat data plus shape, or reports the first problem. */
function normaliseTensor(raw: { datatype: Datatype; shape?: number[] | undefined; data: unknown[] }): SampleTensor | Issue {
  const { datatype, data } = raw;
  let shape: number[];
  let flat: unknown[];
  const nested = data.some((v) => Array.isArray(v));
  if (!nested) {
    if (raw.shape === undefined) {
      return { message: 'shape is required when data is flat; give "shape", or nest data as arrays of rows', path: ['shape'] };
    }
    shape = raw.shape;
    if (product(shape) !== data.length) {
      return { message: `data has ${data.length} values but shape [${shape.join(',')}] needs ${product(shape)}`, path: ['data'] };
    }
    flat = data;
  } else {
    const inferred = nestedShape(data);
    if (typeof inferred === 'string') return { message: inferred, path: ['data'] };
    flat = [];
    const issue = flatten(data, inferred, 0, [], flat);
    if (issue) return { message: issue.message, path: ['data', ...issue.path] };
    if (raw.shape !== undefined && raw.shape.join(',') !== inferred.join(',')) {
      return { message: `shape [${raw.shape.join(',')}] does not match the nested data, which has shape [${inferred.join(',')}]`, path: ['shape'] };
    }
    shape = inferred;
  }
  const values: SampleValue[] = new Array(flat.length);
  for (let i = 0; i < flat.length; i++) {
    const result = normaliseValue(datatype, flat[i]);
    if ('error' in result) return { message: result.error, path: ['data', ...(nested ? indexPath(i, shape) : [i])] };
    values[i] = result.value;
  }
  return { datatype, shape, data: values };
}

/** The nested indices of flat element `index`, so an error points where the user wrote the value. */
function indexPath(index: number, shape: number[]): number[] {
  const path: number[] = [];
  let rest = index;
  for (let axis = shape.length - 1; axis >= 0; axis--) {
    const dim = shape[axis]!;
    path.unshift(rest % dim);
    rest = Math.floor(rest / dim);
  }
  return path;
}

const TensorSchema = z
  .strictObject({
    datatype: z.enum(DATATYPES),
    shape: z.array(z.number().int().nonnegative()).max(MAX_RANK).optional(),
    data: z.array(z.unknown()),
  })
  .transform((raw, ctx): SampleTensor => {
    const result = normaliseTensor(raw);
    if ('datatype' in result) return result;
    ctx.issues.push({ code: 'custom', message: result.message, path: result.path, input: raw });
    return z.NEVER;
  });

const PartialToleranceSchema = z.strictObject({
  absolute: z.number().nonnegative().optional(),
  relative: z.number().nonnegative().optional(),
});

const TensorMapSchema = z.record(z.string().min(1), TensorSchema);

const SampleSchema = z.strictObject({
  name: z.string().min(1).max(200).optional(),
  inputs: TensorMapSchema,
  outputs: TensorMapSchema.optional(),
  tolerance: z.record(z.string().min(1), PartialToleranceSchema).optional(),
});

/** The samples document as written; {@link parseSamplesDocument} is the way in. */
export const SamplesDocumentSchema = z
  .strictObject({
    tolerance: PartialToleranceSchema.optional(),
    samples: z
      .array(SampleSchema)
      .min(1, 'the document has no samples; give at least one, or deploy without a samples document')
      .max(MAX_SAMPLES, `a document holds at most ${MAX_SAMPLES} samples; keep a representative subset`),
  })
  .transform((raw, ctx): SamplesDocument => {
    const tolerance: Tolerance = { ...DEFAULT_TOLERANCE, ...stripUndefined(raw.tolerance ?? {}) };
    const seen = new Map<string, number>();
    const samples = raw.samples.map((s, index): Sample => {
      const name = s.name ?? `sample-${index}`;
      const first = seen.get(name);
      if (first !== undefined) {
        ctx.issues.push({
          code: 'custom',
          message: `sample name '${name}' is also used by samples[${first}]; names must be unique so failures can name the sample`,
          path: ['samples', index, 'name'],
          input: s.name,
        });
      }
      seen.set(name, index);
      const sample: Sample = { name, inputs: s.inputs };
      if (s.outputs !== undefined) sample.outputs = s.outputs;
      if (s.tolerance !== undefined) {
        sample.tolerance = Object.fromEntries(
          Object.entries(s.tolerance).map(([output, t]) => [output, { ...tolerance, ...stripUndefined(t) }]),
        );
      }
      return sample;
    });
    return { tolerance, samples };
  });

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** `samples[1].inputs.x.data[3]`: a zod path as a user would write it in JavaScript. */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][\w$]*$/.test(key)) out += out === '' ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out === '' ? '(document)' : out;
}

const MiB = (bytes: number): string => `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;

/**
 * Parses and checks a samples document (UTF-8 JSON).
 * @throws INVALID_ARGUMENT when it is too big, not JSON, or does not fit the
 *   format; the message names the path of the first problems, e.g.
 *   `samples[1].inputs.x.data[2]`.
 */
export function parseSamplesDocument(input: Uint8Array | string): SamplesDocument {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
  if (size > MAX_SAMPLES_DOCUMENT_BYTES) {
    throw invalidArgument(
      `the samples document is ${MiB(size)}; the limit is ${MiB(MAX_SAMPLES_DOCUMENT_BYTES)}: use fewer or smaller samples`,
    );
  }
  let text: string;
  try {
    text = typeof input === 'string' ? input : new TextDecoder('utf-8', { fatal: true }).decode(input);
  } catch {
    throw invalidArgument('the samples document is not UTF-8 text; save it as UTF-8 JSON');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw invalidArgument(`the samples document is not JSON: ${(err as Error).message}`);
  }
  const result = SamplesDocumentSchema.safeParse(json);
  if (result.success) return result.data;
  const issues = result.error.issues;
  const shown = issues.slice(0, 5).map((i) => `${formatPath(i.path)}: ${i.message}`);
  const more = issues.length > shown.length ? `; and ${issues.length - shown.length} more` : '';
  throw invalidArgument(`the samples document is invalid: ${shown.join('; ')}${more} (format: docs/samples.md)`);
}

export function describeSpec(spec: TensorSpec): string {
  return `${spec.name} (${spec.datatype} [${spec.shape.join(',')}])`;
}

function describeAll(specs: TensorSpec[]): string {
  return specs.map(describeSpec).join(', ');
}

function shapeFits(shape: number[], spec: TensorSpec): boolean {
  return shape.length === spec.shape.length && spec.shape.every((d, i) => d < 0 || d === shape[i]);
}

function checkTensor(where: string, tensor: SampleTensor, spec: TensorSpec): void {
  if (tensor.datatype !== spec.datatype) {
    throw invalidArgument(`${where} has datatype ${tensor.datatype} but the model's is ${describeSpec(spec)}`);
  }
  if (!shapeFits(tensor.shape, spec)) {
    throw invalidArgument(`${where} has shape [${tensor.shape.join(',')}] but the model's is ${describeSpec(spec)} (-1: any size)`);
  }
}

/**
 * Checks that every sample fits the model: exactly the model's inputs, with
 * its datatypes and shapes; golden outputs and per-output tolerances only for
 * outputs the model has.
 * @throws INVALID_ARGUMENT naming the sample and tensor.
 */
export function checkSamplesAgainstSignature(doc: SamplesDocument, signature: Signature): void {
  for (const sample of doc.samples) {
    const at = `sample '${sample.name}'`;
    for (const spec of signature.inputs) {
      const tensor = sample.inputs[spec.name];
      if (!tensor) throw invalidArgument(`${at} is missing input ${describeSpec(spec)}; the model takes ${describeAll(signature.inputs)}`);
      checkTensor(`${at} input '${spec.name}'`, tensor, spec);
    }
    for (const name of Object.keys(sample.inputs)) {
      if (!signature.inputs.some((s) => s.name === name)) {
        throw invalidArgument(`${at} has input '${name}', which the model does not take; it takes ${describeAll(signature.inputs)}`);
      }
    }
    for (const [name, tensor] of Object.entries(sample.outputs ?? {})) {
      const spec = signature.outputs.find((s) => s.name === name);
      if (!spec) {
        throw invalidArgument(`${at} has golden output '${name}', which the model does not produce; it produces ${describeAll(signature.outputs)}`);
      }
      checkTensor(`${at} golden output '${name}'`, tensor, spec);
    }
    for (const name of Object.keys(sample.tolerance ?? {})) {
      if (!signature.outputs.some((s) => s.name === name)) {
        throw invalidArgument(`${at} sets a tolerance for '${name}', which the model does not produce; it produces ${describeAll(signature.outputs)}`);
      }
    }
  }
}

function sortedEntries<T>(record: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.keys(record).sort().map((k) => [k, record[k]!]));
}

function canonicalTensor(t: SampleTensor): SampleTensor {
  return { datatype: t.datatype, shape: t.shape, data: t.data };
}

/**
 * The canonical bytes of a document (compact UTF-8 JSON, fixed key order,
 * tensor names sorted, data flat, defaults written out), so the same content
 * always has the same sha256. {@link parseSamplesDocument} reads it back.
 */
export function serializeSamplesDocument(doc: SamplesDocument): Buffer {
  const tensors = (m: Record<string, SampleTensor>): Record<string, SampleTensor> =>
    Object.fromEntries(Object.entries(sortedEntries(m)).map(([k, t]) => [k, canonicalTensor(t)]));
  const tolerance = (t: Tolerance): Tolerance => ({ absolute: t.absolute, relative: t.relative });
  const canonical = {
    tolerance: tolerance(doc.tolerance),
    samples: doc.samples.map((s) => ({
      name: s.name,
      inputs: tensors(s.inputs),
      ...(s.outputs === undefined ? {} : { outputs: tensors(s.outputs) }),
      ...(s.tolerance === undefined
        ? {}
        : { tolerance: Object.fromEntries(Object.entries(sortedEntries(s.tolerance)).map(([k, t]) => [k, tolerance(t)])) }),
    })),
  };
  return Buffer.from(JSON.stringify(canonical), 'utf8');
}
