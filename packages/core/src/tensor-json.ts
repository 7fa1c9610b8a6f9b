import { Buffer } from 'node:buffer';
import type { Datatype } from './datatypes.js';
import { invalidArgument } from './errors.js';
import { halfToNumber, numberToHalf } from './float16.js';
import { decodeBytesRaw, encodeBytesRaw, viewRaw, zeroArray } from './tensor-raw.js';

/**
 * Tensor data as the KServe v2 REST API writes it in JSON (`data`, flat or
 * nested row-major), to and from the raw bytes the node works on.
 */

const INT_RANGE: Partial<Record<Datatype, readonly [number, number]>> = {
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
};
const BIG_RANGE: Partial<Record<Datatype, readonly [bigint, bigint]>> = {
  INT64: [-(2n ** 63n), 2n ** 63n - 1n],
  UINT64: [0n, 2n ** 64n - 1n],
};
const FLOAT_WORDS: Record<string, number> = { NaN: Number.NaN, Infinity: Number.POSITIVE_INFINITY, '-Infinity': Number.NEGATIVE_INFINITY };

/** Flattens nested arrays row-major; a scalar is one element. */
export function flattenJson(data: unknown, out: unknown[] = []): unknown[] {
  if (Array.isArray(data)) for (const item of data) flattenJson(item, out);
  else out.push(data);
  return out;
}

/**
 * The raw contents of one tensor's JSON `data` (flat or nested). Numbers
 * must fit the datatype exactly; INT64/UINT64 also take decimal strings (JSON
 * numbers beyond 2^53 have lost digits), floats the words "NaN", "Infinity",
 * "-Infinity"; BOOL takes true/false; BYTES takes strings.
 * @throws INVALID_ARGUMENT naming the tensor and the first bad element.
 */
export function jsonToRaw(name: string, datatype: Datatype, data: unknown): Buffer {
  const flat = flattenJson(data);
  const bad = (i: number, what: string): never => {
    throw invalidArgument(`input '${name}' element ${i} (${JSON.stringify(flat[i]) ?? String(flat[i])}) is not ${what}, as its datatype ${datatype} needs`);
  };
  if (datatype === 'BYTES') return encodeBytesRaw(flat.map((v, i) => (typeof v === 'string' ? v : bad(i, 'a string'))));
  const out = zeroArray(datatype, flat.length);
  const values = out as unknown as (number | bigint)[];
  const float = (v: unknown, i: number): number => (typeof v === 'number' ? v : typeof v === 'string' && v in FLOAT_WORDS ? FLOAT_WORDS[v]! : bad(i, 'a number'));
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    if (datatype === 'FP32' || datatype === 'FP64') values[i] = float(v, i);
    else if (datatype === 'FP16') values[i] = numberToHalf(float(v, i));
    else if (datatype === 'BOOL') values[i] = v === true || v === 1 ? 1 : v === false || v === 0 ? 0 : bad(i, 'true or false');
    else if (BIG_RANGE[datatype]) {
      const [min, max] = BIG_RANGE[datatype];
      const big = typeof v === 'number' && Number.isSafeInteger(v) ? BigInt(v) : typeof v === 'string' && /^-?\d+$/.test(v) ? BigInt(v) : bad(i, 'an integer (a decimal string beyond 2^53)');
      if (big < min || big > max) bad(i, `within ${datatype}'s range`);
      values[i] = big;
    } else {
      const [min, max] = INT_RANGE[datatype]!;
      if (typeof v !== 'number' || !Number.isInteger(v)) bad(i, 'an integer');
      else if (v < min || v > max) bad(i, `within ${datatype}'s range ${min}..${max}`);
      else values[i] = v;
    }
  }
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/**
 * One tensor's raw contents as JSON `data` text, flat and row-major: exact
 * digits for INT64/UINT64 (as JSON numbers, which JSON.stringify cannot write
 * for BigInt), FP16 as the numbers its bits stand for, BOOL as true/false,
 * BYTES as strings; NaN and ±Infinity, which JSON has no number for, as the
 * strings "NaN", "Infinity", "-Infinity".
 */
export function rawToJsonText(datatype: Datatype, raw: Uint8Array, count: number): string {
  if (datatype === 'BYTES') return JSON.stringify(decodeBytesRaw(raw, count, 'output'));
  const data = viewRaw(datatype, raw) as ArrayLike<number | bigint>;
  const parts: string[] = new Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (typeof v === 'bigint') parts[i] = v.toString();
    else if (datatype === 'BOOL') parts[i] = v !== 0 ? 'true' : 'false';
    else {
      const n = datatype === 'FP16' ? halfToNumber(v) : v;
      parts[i] = Number.isFinite(n) ? String(n) : `"${Number.isNaN(n) ? 'NaN' : n > 0 ? 'Infinity' : '-Infinity'}"`;
    }
  }
  return `[${parts.join(',')}]`;
}
