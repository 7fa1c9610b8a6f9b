import { encodeBytesRaw, halfToNumber, invalidArgument, type EncodedOutput } from '@switchyard/core';
import type { Tensor } from 'onnxruntime-node';

/** Triton's score format: C++ stream output, six significant digits. */
function score(value: number): string {
  return Number.isFinite(value) ? String(Number(value.toPrecision(6))) : String(value);
}

/**
 * Triton's classification extension: the top `k` classes of every row of the
 * last dimension, as BYTES `score:index` (highest score first; ties keep the
 * lower index first). The output's shape becomes [...leading dims, min(k, classes)].
 * @throws INVALID_ARGUMENT for outputs that hold no scores (BYTES, BOOL) or have no dimension.
 */
export function classifyOutput(name: string, tensor: Tensor, k: number): EncodedOutput {
  if (tensor.type === 'string' || tensor.type === 'bool') {
    throw invalidArgument(`output '${name}' is ${tensor.type === 'string' ? 'BYTES' : 'BOOL'}, which holds no class scores; ask for classification of a numeric output`);
  }
  const dims = tensor.dims;
  if (dims.length === 0) throw invalidArgument(`output '${name}' is a scalar; classification needs a dimension of classes`);
  const classes = dims[dims.length - 1]!;
  const top = Math.min(k, classes);
  const data = tensor.data as ArrayLike<number | bigint>;
  const half = tensor.type === 'float16';
  const value = (i: number): number => (half ? halfToNumber(data[i] as number) : Number(data[i]!));
  const out: string[] = [];
  const order = Array.from({ length: classes }, (_, i) => i);
  for (let row = 0; row + classes <= data.length && classes > 0; row += classes) {
    const sorted = order.slice().sort((a, b) => value(row + b) - value(row + a) || a - b);
    for (let j = 0; j < top; j++) out.push(`${score(value(row + sorted[j]!))}:${sorted[j]}`);
  }
  return { tensor: { name, datatype: 'BYTES', shape: [...dims.slice(0, -1), top] }, raw: encodeBytesRaw(out) };
}
