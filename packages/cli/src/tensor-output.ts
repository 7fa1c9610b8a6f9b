import { halfToNumber } from '@switchyard/core';
import type { OutputTensor } from '@switchyard/client';

/** A scalar as the CLI prints it: BigInts stay exact, booleans stay booleans. */
export type OutputValue = number | bigint | boolean | string;
export type Nested = OutputValue | Nested[];

/** One decoded output tensor. */
export interface DecodedOutput {
  datatype: string;
  shape: number[];
  data: Nested;
}

/** An output as the CLI prints it: FP32 as its shortest decimal, FP16 as its value, BOOL as booleans, BYTES as strings, nested by shape. */
export function decodeOutput(tensor: OutputTensor): DecodedOutput {
  let values: OutputValue[] = Array.from(tensor.data as ArrayLike<number | bigint | string>);
  if (tensor.datatype === 'FP16') values = values.map((v) => halfToNumber(v as number));
  if (tensor.datatype === 'FP32') values = values.map((v) => shortestFloat32(v as number));
  if (tensor.datatype === 'BOOL') values = values.map((v) => v !== 0);
  return { datatype: tensor.datatype, shape: tensor.shape, data: nest(values, tensor.shape) };
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
