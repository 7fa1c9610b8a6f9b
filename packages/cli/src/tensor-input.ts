import { numberToHalf, type Datatype, type TensorData } from '@switchyard/core';
import { usageError } from './exit-codes.js';

/** One `--input name=<json>` flag, parsed. */
export interface InputFlag {
  name: string;
  value: unknown;
}

/** A tensor ready for raw_input_contents. */
export interface InputTensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: TensorData;
}

/** Splits `name=<json nested array>`; the JSON may be a scalar too. */
export function parseInputFlag(text: string): InputFlag {
  const eq = text.indexOf('=');
  if (eq <= 0) throw usageError(`--input '${text}' must be name=<json>, e.g. --input x='[[1,2,3]]'`);
  const name = text.slice(0, eq);
  const json = text.slice(eq + 1);
  try {
    return { name, value: JSON.parse(json) as unknown };
  } catch (err) {
    throw usageError(
      `--input ${name}: '${json}' is not JSON (${(err as Error).message}); quote it for the shell, e.g. --input ${name}='[[1,2,3]]'`,
    );
  }
}

/**
 * The shape of a nested JSON array, checking it is rectangular: every
 * sibling must have the same length all the way down.
 */
export function inferShape(name: string, value: unknown): { shape: number[]; flat: unknown[] } {
  const shape: number[] = [];
  for (let level: unknown = value; Array.isArray(level); level = level[0]) shape.push(level.length);
  const flat: unknown[] = [];
  const walk = (node: unknown, depth: number, path: string): void => {
    if (depth === shape.length) {
      if (Array.isArray(node)) throw usageError(`--input ${name}: ${path} is nested deeper than its siblings; the array must be rectangular`);
      flat.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      const got = Array.isArray(node) ? `${node.length} elements` : 'a scalar';
      throw usageError(`--input ${name}: ${path} has ${got} but its siblings have ${shape[depth]}; the array must be rectangular`);
    }
    node.forEach((child, i) => walk(child, depth + 1, `${path}[${i}]`));
  };
  walk(value, 0, name);
  return { shape, flat };
}

const INT_RANGE: Partial<Record<Datatype, [number, number]>> = {
  INT8: [-128, 127],
  INT16: [-32768, 32767],
  INT32: [-2147483648, 2147483647],
  UINT8: [0, 255],
  UINT16: [0, 65535],
  UINT32: [0, 4294967295],
};

/** Converts JSON values to the typed array of a datatype, rejecting values that would change on the way. */
export function toTypedArray(name: string, datatype: Datatype, flat: unknown[]): TensorData {
  const bad = (i: number, what: string): never => {
    throw usageError(`--input ${name}: element ${i} (${JSON.stringify(flat[i])}) is not ${what}, as the model's ${datatype} input needs`);
  };
  switch (datatype) {
    case 'BYTES':
      return flat.map((v, i) => (typeof v === 'string' ? v : bad(i, 'a string')));
    case 'FP16': {
      const out = new Uint16Array(flat.length);
      flat.forEach((v, i) => (typeof v === 'number' ? (out[i] = numberToHalf(v)) : bad(i, 'a number')));
      return out;
    }
    case 'FP32':
    case 'FP64': {
      const out = datatype === 'FP32' ? new Float32Array(flat.length) : new Float64Array(flat.length);
      flat.forEach((v, i) => (typeof v === 'number' ? (out[i] = v) : bad(i, 'a number')));
      return out;
    }
    case 'BOOL': {
      const out = new Uint8Array(flat.length);
      flat.forEach((v, i) => (v === true || v === 1 ? (out[i] = 1) : v === false || v === 0 ? (out[i] = 0) : bad(i, 'true/false')));
      return out;
    }
    case 'INT64':
    case 'UINT64': {
      // Strings are accepted so 64-bit values beyond 2^53 survive JSON.
      const out = datatype === 'INT64' ? new BigInt64Array(flat.length) : new BigUint64Array(flat.length);
      const [min, max] = datatype === 'INT64' ? [-(2n ** 63n), 2n ** 63n - 1n] : [0n, 2n ** 64n - 1n];
      flat.forEach((v, i) => {
        const big = typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : typeof v === 'string' && /^-?\d+$/.test(v) ? BigInt(v) : bad(i, 'an integer');
        if (big < min || big > max) bad(i, `within ${datatype}'s range`);
        out[i] = big;
      });
      return out;
    }
    default: {
      const [min, max] = INT_RANGE[datatype]!;
      const Ctor = { INT8: Int8Array, INT16: Int16Array, INT32: Int32Array, UINT8: Uint8Array, UINT16: Uint16Array, UINT32: Uint32Array }[datatype];
      const out = new Ctor(flat.length);
      flat.forEach((v, i) => {
        if (typeof v !== 'number' || !Number.isInteger(v)) bad(i, 'an integer');
        else if (v < min || v > max) bad(i, `within ${datatype}'s range ${min}..${max}`);
        else out[i] = v;
      });
      return out;
    }
  }
}

/** Parses one --input value into a tensor of the datatype the model declares. */
export function buildInputTensor(flag: InputFlag, datatype: Datatype): InputTensor {
  const { shape, flat } = inferShape(flag.name, flag.value);
  return { name: flag.name, datatype, shape, data: toTypedArray(flag.name, datatype, flat) };
}
