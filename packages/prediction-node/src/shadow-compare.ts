import type { Tensor } from 'onnxruntime-node';
import { halvesToNumbers } from '@switchyard/core';

/** How one output tensor of a shadow differed from the primary's, for one request. */
export interface OutputComparison {
  elements: number;
  sumAbsDiff: number;
  maxAbsDiff: number;
  withinTolerance: number;
  /** Whether the output looked like class scores (last dimension > 1) and so was compared on arg-max. */
  top1Compared: boolean;
  /** Every row's arg-max was the same (meaningful only when top1Compared). */
  top1Agreed: boolean;
}

/** A request's comparison: every output's, or why the shadow's outputs cannot be compared. */
export type RequestComparison =
  | { ok: true; outputs: Map<string, OutputComparison>; agreed: boolean }
  | { ok: false; reason: string };

type Values = ArrayLike<number | bigint | string | boolean>;

/** An element as a number; strings compare as equal (0) or not (1) via {@link absDiff}. */
function numeric(v: number | bigint | string | boolean): number {
  return typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : typeof v === 'boolean' ? (v ? 1 : 0) : NaN;
}

function absDiff(a: number | bigint | string | boolean, b: number | bigint | string | boolean): number {
  if (typeof a === 'string' || typeof b === 'string') return a === b ? 0 : 1;
  const x = numeric(a);
  const y = numeric(b);
  // Two NaNs in the same place agree; one NaN is as different as it gets.
  if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) && Number.isNaN(y) ? 0 : Infinity;
  return Math.abs(x - y);
}

/** A tensor's elements as comparable values: float16 bits become the numbers they stand for; strings (BYTES) stay strings. */
function values(tensor: Tensor): Values {
  return tensor.type === 'float16' ? halvesToNumbers(tensor.data as Uint16Array) : (tensor.data as Values);
}

function argMax(values: Values, start: number, length: number): number {
  let best = start;
  let bestValue = numeric(values[start]!);
  for (let i = start + 1; i < start + length; i++) {
    const v = numeric(values[i]!);
    if (v > bestValue) {
      best = i;
      bestValue = v;
    }
  }
  return best - start;
}

function sameDims(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Compares one output tensor element by element. The caller has checked the
 * dims match. Top-1 is checked per row of the last dimension when that is
 * above 1 (class scores); a request agrees on top-1 when every row does.
 */
export function compareTensor(primary: Tensor, shadow: Tensor, tolerance: number): OutputComparison {
  const a = values(primary);
  const b = values(shadow);
  const n = a.length;
  let sum = 0;
  let max = 0;
  let within = 0;
  for (let i = 0; i < n; i++) {
    const d = absDiff(a[i]!, b[i]!);
    sum += d;
    if (d > max) max = d;
    if (d <= tolerance) within++;
  }
  const last = primary.dims.length > 0 ? primary.dims[primary.dims.length - 1]! : 1;
  const top1Compared = last > 1 && n > 0 && typeof a[0] !== 'string';
  let top1Agreed = true;
  if (top1Compared) {
    for (let row = 0; row < n; row += last) {
      if (argMax(a, row, last) !== argMax(b, row, last)) {
        top1Agreed = false;
        break;
      }
    }
  }
  return { elements: n, sumAbsDiff: sum, maxAbsDiff: max, withinTolerance: within, top1Compared, top1Agreed };
}

/**
 * Compares every requested output of a shadow with the primary's. A missing
 * output, a different element type or different dims is a shape failure,
 * not a difference: the numbers would mean nothing.
 */
export function compareOutputs(
  outputs: readonly string[],
  primary: Record<string, Tensor>,
  shadow: Record<string, Tensor>,
  tolerance: number,
): RequestComparison {
  const compared = new Map<string, OutputComparison>();
  let agreed = true;
  for (const name of outputs) {
    const p = primary[name];
    const s = shadow[name];
    if (!p || !s) return { ok: false, reason: `output ${name} is missing from the ${p ? 'shadow' : 'primary'}` };
    if (p.type !== s.type) return { ok: false, reason: `output ${name} is ${s.type} in the shadow, ${p.type} in the primary` };
    if (!sameDims(p.dims, s.dims)) return { ok: false, reason: `output ${name} has dims [${s.dims.join(',')}] in the shadow, [${p.dims.join(',')}] in the primary` };
    const c = compareTensor(p, s, tolerance);
    if (c.withinTolerance !== c.elements) agreed = false;
    compared.set(name, c);
  }
  return { ok: true, outputs: compared, agreed };
}
