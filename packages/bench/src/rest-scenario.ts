/**
 * (k) REST vs gRPC: the same linear model on the same node, through the
 * KServe v2 REST API (JSON tensors, and Triton's binary tensor extension)
 * and through gRPC, at each concurrency. Variants run A/B interleaved in
 * rounds (order rotated per round), each from its own warmed load-client
 * process; a second gRPC client is the A/A pair, whose ratio to the first is
 * the noise floor.
 */
import { encodeRaw } from '@switchyard/core';
import type { CallSpec } from './load-protocol.js';
import { LoadClient } from './load-runner.js';
import { round } from './stats.js';

export const REST_VARIANTS = ['grpc', 'grpc-aa', 'rest-json', 'rest-binary'] as const;
export type RestVariant = (typeof REST_VARIANTS)[number];

export interface RestCell {
  concurrency: number;
  /** Requests per second, by variant. */
  rps: Record<RestVariant, number>;
  /** Throughput relative to gRPC (grpc-aa: the noise floor; 1 is no difference). */
  ratio: Record<RestVariant, number>;
  errors: number;
  firstError?: string;
}

export interface RestResults {
  cells: RestCell[];
}

/** REST calls of the linear model, built from its input. */
export function restCalls(model: string, input: Float32Array): { json: CallSpec; binary: CallSpec } {
  const path = `/v2/models/${model}/infer`;
  const tensor = { name: 'x', datatype: 'FP32', shape: [1, input.length] };
  const json = JSON.stringify({ inputs: [{ ...tensor, data: Array.from(input) }] });
  const header = Buffer.from(JSON.stringify({ inputs: [{ ...tensor, parameters: { binary_data_size: input.byteLength } }], parameters: { binary_data_output: true } }));
  return {
    json: { label: 'infer', path, requestBase64: Buffer.from(json).toString('base64'), http: { headers: { 'content-type': 'application/json' } } },
    binary: {
      label: 'infer',
      path,
      requestBase64: Buffer.concat([header, encodeRaw(input)]).toString('base64'),
      http: { headers: { 'content-type': 'application/octet-stream', 'inference-header-content-length': String(header.byteLength) } },
    },
  };
}

export async function measureRest(options: {
  grpcAddress: string;
  httpAddress: string;
  grpcCall: CallSpec;
  rest: { json: CallSpec; binary: CallSpec };
  concurrencies: number[];
  warmupMs: number;
  durationMs: number;
  rounds: number;
  log: (line: string) => void;
}): Promise<RestResults> {
  const cells: RestCell[] = [];
  for (const concurrency of options.concurrencies) {
    const specs: Record<RestVariant, { target: string; call: CallSpec }> = {
      grpc: { target: options.grpcAddress, call: options.grpcCall },
      'grpc-aa': { target: options.grpcAddress, call: options.grpcCall },
      'rest-json': { target: options.httpAddress, call: options.rest.json },
      'rest-binary': { target: options.httpAddress, call: options.rest.binary },
    };
    const clients = new Map<RestVariant, LoadClient>();
    try {
      for (const v of REST_VARIANTS) {
        const client = await LoadClient.start({ target: specs[v].target, mode: 'closed-loop', calls: [specs[v].call], concurrency, intervalMs: 0, deadlineMs: 10_000 });
        clients.set(v, client);
        await client.run(options.warmupMs, 1);
      }
      const completed = Object.fromEntries(REST_VARIANTS.map((v) => [v, 0])) as Record<RestVariant, number>;
      const windowMs = Object.fromEntries(REST_VARIANTS.map((v) => [v, 0])) as Record<RestVariant, number>;
      let errors = 0;
      let firstError: string | undefined;
      const slice = options.durationMs / options.rounds;
      for (let r = 0; r < options.rounds; r++) {
        const order = REST_VARIANTS.map((_, i) => REST_VARIANTS[(i + r) % REST_VARIANTS.length]!);
        for (const v of order) {
          const result = await clients.get(v)!.run(0, slice);
          const call = result.calls.infer!;
          completed[v] += call.completed;
          windowMs[v] += result.windowMs;
          errors += call.errors;
          firstError ??= call.firstError;
        }
      }
      const rps = Object.fromEntries(REST_VARIANTS.map((v) => [v, round((completed[v] / windowMs[v]) * 1000, 1)])) as Record<RestVariant, number>;
      const ratio = Object.fromEntries(REST_VARIANTS.map((v) => [v, round(rps[v] / rps.grpc, 3)])) as Record<RestVariant, number>;
      cells.push({ concurrency, rps, ratio, errors, ...(firstError ? { firstError } : {}) });
      options.log(`  c=${concurrency}: ${REST_VARIANTS.map((v) => `${v} ${rps[v]}/s (×${ratio[v]})`).join(', ')}${errors ? `, ${errors} errors: ${firstError}` : ''}`);
    } finally {
      await Promise.all([...clients.values()].map((c) => c.close()));
    }
  }
  return { cells };
}

/** The figures of the REST scenario: requests/s and ratio to gRPC, per concurrency and variant (errors stay in the details). */
export function restFigures(results: RestResults): { requestsPerSecond: Record<string, Record<RestVariant, number>>; ratio: Record<string, Record<RestVariant, number>> } {
  return {
    requestsPerSecond: Object.fromEntries(results.cells.map((c) => [`c${c.concurrency}`, c.rps])),
    ratio: Object.fromEntries(results.cells.map((c) => [`c${c.concurrency}`, c.ratio])),
  };
}

/** The table lines of the REST scenario. */
export function formatRest(results: RestResults): string[] {
  const lines = ['(k) REST vs gRPC, linear model, requests/s (ratio to gRPC; grpc-aa is the A/A noise floor)'];
  lines.push(`  ${'c'.padStart(4)}  ${REST_VARIANTS.map((v) => v.padStart(20)).join('')}`);
  for (const cell of results.cells) {
    lines.push(`  ${String(cell.concurrency).padStart(4)}  ${REST_VARIANTS.map((v) => `${cell.rps[v]} (×${cell.ratio[v]})`.padStart(20)).join('')}`);
    if (cell.errors) lines.push(`        ${cell.errors} errors: ${cell.firstError ?? ''}`);
  }
  return lines;
}
