import { roundToHalf } from './float16.js';
import type { SampleTensor, SampleValue, Tolerance } from './samples.js';

/**
 * Compares model outputs with golden outputs. Pure and free of any
 * control-plane concern: deploy-time validation and release validation
 * (`switchyard validate`) both use it, so both judge alike.
 */

/** The first element outside tolerance. */
export interface ElementMismatch {
  /** Flat, row-major index. */
  index: number;
  expected: SampleValue;
  got: SampleValue;
  /** |got − expected|; NaN when exactly one side is NaN. */
  absDiff: number;
  /** absolute + relative·|expected|. */
  allowed: number;
}

/** How one output compares with its golden value. */
export interface OutputComparison {
  ok: boolean;
  /** Largest finite |got − expected| over the elements (0 when shapes or datatypes differ). */
  maxAbsDiff: number;
  /** Share of elements within tolerance, 0…1 (1 for an empty tensor). */
  withinShare: number;
  firstMismatch?: ElementMismatch;
  /** Why it is not ok, without the sample and output names, e.g. `element 0: expected 6.5, got 7.5 (…)`. */
  reason?: string;
}

/** The tolerances that apply to one sample. */
export interface SampleTolerances {
  /** The document's tolerance. */
  default: Tolerance;
  /** Per-output overrides. */
  outputs?: Record<string, Tolerance>;
}

/** How one sample's outputs compare with its golden outputs. */
export interface SampleComparison {
  ok: boolean;
  /** For the first failing output, e.g. `sample 'ones' output 'y' element 0: expected 6.5, got 7.5 (|diff| 1 > allowed 0.00066)`; '' when ok. */
  reason: string;
  /** Largest finite |got − expected| over all compared outputs. */
  maxAbsDiff: number;
  /** By golden output name. */
  outputs: Record<string, OutputComparison>;
}

const WIDE = new Set(['INT64', 'UINT64']);

function asNumber(v: SampleValue): number {
  if (typeof v === 'boolean') return v ? 1 : 0;
  return typeof v === 'string' ? Number(v) : v;
}

/** One element under numpy's isclose rule; NaN matches only NaN, an infinity only the same infinity. */
function compareElement(datatype: string, expected: SampleValue, got: SampleValue, tolerance: Tolerance): { ok: boolean; absDiff: number; allowed: number } {
  // Strings have no distance: equal or not.
  if (datatype === 'BYTES') return { ok: expected === got, absDiff: expected === got ? 0 : 1, allowed: 0 };
  if (WIDE.has(datatype)) {
    // As BigInt: values beyond 2^53 are strings, and Number would blur them.
    const e = BigInt(expected as number | string);
    const diff = BigInt(got as number | string) - e;
    const absDiff = Number(diff < 0n ? -diff : diff);
    const allowed = tolerance.absolute + tolerance.relative * Math.abs(Number(e));
    return { ok: diff === 0n || absDiff <= allowed, absDiff, allowed };
  }
  // An FP16 golden value is judged as the half it stands for: 0.1 written in
  // the document is 0.0999755859375 to the model, and no tolerance should pay for that.
  const e = datatype === 'FP16' ? roundToHalf(asNumber(expected)) : asNumber(expected);
  const g = asNumber(got);
  const allowed = tolerance.absolute + tolerance.relative * Math.abs(e);
  if (e === g || (Number.isNaN(e) && Number.isNaN(g))) return { ok: true, absDiff: 0, allowed };
  const absDiff = Math.abs(g - e);
  const finite = Number.isFinite(e) && Number.isFinite(g);
  return { ok: finite && absDiff <= allowed, absDiff, allowed };
}

/** Six significant digits, unless that would print a failing diff equal to its bound. */
function formatPair(diff: number, allowed: number): [string, string] {
  const short = (x: number): string => (Number.isFinite(x) ? String(Number(x.toPrecision(6))) : String(x));
  const [d, a] = [short(diff), short(allowed)];
  return d === a ? [String(diff), String(allowed)] : [d, a];
}

function mismatchText(datatype: string, m: ElementMismatch): string {
  if (datatype === 'BYTES') return `element ${m.index}: expected ${JSON.stringify(m.expected)}, got ${JSON.stringify(m.got)} (BYTES compare by equality)`;
  const head = `element ${m.index}: expected ${String(m.expected)}, got ${String(m.got)}`;
  if (Number.isNaN(m.absDiff)) return `${head} (NaN matches only NaN)`;
  if (!Number.isFinite(m.allowed) || !Number.isFinite(m.absDiff)) return `${head} (an infinity matches only the same infinity)`;
  const [diff, allowed] = formatPair(m.absDiff, m.allowed);
  return `${head} (|diff| ${diff} > allowed ${allowed})`;
}

/**
 * Compares one output with its golden value, element by element:
 * ok when |got − expected| ≤ absolute + relative·|expected| for every element
 * (numpy's allclose). Datatypes and shapes must match exactly.
 */
export function compareOutputs(expected: SampleTensor, got: SampleTensor, tolerance: Tolerance): OutputComparison {
  if (expected.datatype !== got.datatype) {
    return { ok: false, maxAbsDiff: 0, withinShare: 0, reason: `has datatype ${got.datatype}, golden datatype is ${expected.datatype}` };
  }
  if (expected.shape.join(',') !== got.shape.join(',') || expected.data.length !== got.data.length) {
    return {
      ok: false,
      maxAbsDiff: 0,
      withinShare: 0,
      reason: `has shape [${got.shape.join(',')}], golden shape is [${expected.shape.join(',')}]`,
    };
  }
  let maxAbsDiff = 0;
  let within = 0;
  let firstMismatch: ElementMismatch | undefined;
  for (let i = 0; i < expected.data.length; i++) {
    const e = expected.data[i]!;
    const g = got.data[i]!;
    const r = compareElement(expected.datatype, e, g, tolerance);
    if (Number.isFinite(r.absDiff) && r.absDiff > maxAbsDiff) maxAbsDiff = r.absDiff;
    if (r.ok) within += 1;
    else firstMismatch ??= { index: i, expected: e, got: g, absDiff: r.absDiff, allowed: r.allowed };
  }
  const withinShare = expected.data.length === 0 ? 1 : within / expected.data.length;
  if (!firstMismatch) return { ok: true, maxAbsDiff, withinShare };
  return { ok: false, maxAbsDiff, withinShare, firstMismatch, reason: mismatchText(expected.datatype, firstMismatch) };
}

/**
 * Compares every golden output of a sample with what the model returned;
 * outputs without a golden value are not compared. The per-output tolerance
 * overrides the document's.
 */
export function compareSample(
  sampleName: string,
  goldenOutputs: Record<string, SampleTensor>,
  gotOutputs: Record<string, SampleTensor>,
  tolerances: SampleTolerances,
): SampleComparison {
  const outputs: Record<string, OutputComparison> = {};
  let reason = '';
  let maxAbsDiff = 0;
  for (const [name, expected] of Object.entries(goldenOutputs)) {
    const got = gotOutputs[name];
    const where = `sample '${sampleName}' output '${name}'`;
    if (!got) {
      outputs[name] = { ok: false, maxAbsDiff: 0, withinShare: 0, reason: 'was not produced by the model' };
      reason ||= `${where} was not produced by the model`;
      continue;
    }
    const result = compareOutputs(expected, got, tolerances.outputs?.[name] ?? tolerances.default);
    outputs[name] = result;
    maxAbsDiff = Math.max(maxAbsDiff, result.maxAbsDiff);
    if (!result.ok) reason ||= `${where} ${result.reason ?? 'differs'}`;
  }
  return { ok: reason === '', reason, maxAbsDiff, outputs };
}
