import { decodeRaw, isDatatype, type InferOutputTensor, type InferTensorContents } from '@switchyard/core';
import { failedError } from './exit-codes.js';

/** A scalar as the CLI prints it: BigInts stay exact, booleans stay booleans. */
export type OutputValue = number | bigint | boolean;
export type Nested = OutputValue | Nested[];

/** One decoded output tensor. */
export interface DecodedOutput {
  datatype: string;
  shape: number[];
  data: Nested;
}

/**
 * Decodes an output from its raw bytes, or from the typed contents a server
 * may send instead (KServe allows both).
 */
export function decodeOutput(tensor: InferOutputTensor, raw: Uint8Array | undefined): DecodedOutput {
  const shape = tensor.shape.map(Number);
  if (!isDatatype(tensor.datatype)) throw failedError(`output '${tensor.name}' has datatype ${tensor.datatype}, which this CLI cannot decode`);
  const datatype = tensor.datatype;
  let values: OutputValue[];
  if (raw) {
    values = Array.from(decodeRaw(datatype, raw) as ArrayLike<number | bigint>);
  } else {
    values = fromContents(tensor.contents ?? {});
  }
  if (datatype === 'FP32') values = values.map((v) => shortestFloat32(v as number));
  if (datatype === 'BOOL') values = values.map((v) => v !== 0 && v !== false);
  return { datatype, shape, data: nest(values, shape) };
}

function fromContents(contents: InferTensorContents): OutputValue[] {
  for (const list of Object.values(contents) as unknown[]) {
    if (Array.isArray(list) && list.length > 0) {
      return list.map((v: unknown) => (typeof v === 'string' ? BigInt(v) : (v as number | boolean)));
    }
  }
  return [];
}

/** Rebuilds nested arrays from row-major values; shape [] is a scalar. */
export function nest(values: OutputValue[], shape: number[]): Nested {
  if (shape.length === 0) return values[0] ?? 0;
  let offset = 0;
  const build = (depth: number): Nested[] => {
    const size = shape[depth]!;
    const out: Nested[] = [];
    for (let i = 0; i < size; i++) out.push(depth === shape.length - 1 ? values[offset++]! : build(depth + 1));
    return out;
  };
  return build(0);
}

/**
 * The shortest decimal that reads back as the same float32: 0.1 instead of
 * 0.10000000149011612, without changing the value.
 */
export function shortestFloat32(value: number): number {
  if (!Number.isFinite(value)) return value;
  for (let digits = 1; digits <= 9; digits++) {
    const candidate = Number(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}
