import { Tensor } from 'onnxruntime-node';

type Numeric = Exclude<Tensor.DataType, string[]>;
type NumericCtor = new (length: number) => Numeric;

/**
 * Rows of a request along the first dimension, and its batch group: the
 * non-batch dimensions and types of every input, and the outputs asked for.
 * Requests of one group can be concatenated; `rows` 0 means the request
 * cannot join any batch (a scalar input, inputs with different row counts,
 * string data).
 */
export function batchKey(feeds: Record<string, Tensor>, outputs: readonly string[]): { rows: number; group: string } {
  let rows = -1;
  let group = '';
  for (const name in feeds) {
    const t = feeds[name]!;
    const dims = t.dims;
    if (dims.length === 0 || !ArrayBuffer.isView(t.data)) return { rows: 0, group: '' };
    if (rows === -1) rows = dims[0]!;
    else if (dims[0] !== rows) return { rows: 0, group: '' };
    group += `${name}:${t.type}:${dims.slice(1).join('x')};`;
  }
  if (rows <= 0) return { rows: 0, group: '' };
  return { rows, group: `${group}|${outputs.join(',')}` };
}

/** Feeds made by {@link concatFeeds}: buffers no caller holds, which a run may take (transfer) rather than copy. */
const batchOwned = new WeakSet<object>();

/** Whether `feeds` were made by {@link concatFeeds}, so nothing but their run reads them. */
export function ownedByRun(feeds: Record<string, Tensor>): boolean {
  return batchOwned.has(feeds);
}

/** The feeds of several requests of one group, concatenated along the first dimension. */
export function concatFeeds(parts: readonly Record<string, Tensor>[], rows: number): Record<string, Tensor> {
  const first = parts[0]!;
  const out: Record<string, Tensor> = {};
  for (const name in first) {
    const t = first[name]!;
    const per = (t.data as Numeric).length / t.dims[0]!;
    const data = new ((t.data as Numeric).constructor as NumericCtor)(per * rows);
    let offset = 0;
    for (const p of parts) {
      const src = p[name]!.data as Numeric;
      (data as Uint8Array).set(src as Uint8Array, offset);
      offset += src.length;
    }
    out[name] = new Tensor(t.type as never, data as never, [rows, ...t.dims.slice(1)]);
  }
  batchOwned.add(out);
  return out;
}

/**
 * Splits a batched run's outputs back into each request's rows, as views
 * over the batch's buffers (no copy). Undefined when an output's first
 * dimension is not the batch's row count (a model that mixes rows, e.g. a
 * sum over the batch): such outputs cannot be split, and the requests must
 * be run alone.
 */
export function splitOutputs(results: Record<string, Tensor>, rowsPerPart: readonly number[]): Record<string, Tensor>[] | undefined {
  const total = rowsPerPart.reduce((a, b) => a + b, 0);
  const parts: Record<string, Tensor>[] = rowsPerPart.map(() => ({}));
  for (const name in results) {
    const t = results[name]!;
    if (t.dims.length === 0 || t.dims[0] !== total || !ArrayBuffer.isView(t.data)) return undefined;
    const data = t.data as Numeric;
    const per = data.length / total;
    const rest = t.dims.slice(1);
    let row = 0;
    rowsPerPart.forEach((rows, i) => {
      parts[i]![name] = new Tensor(t.type as never, data.subarray(row * per, (row + rows) * per) as never, [rows, ...rest]);
      row += rows;
    });
  }
  return parts;
}
