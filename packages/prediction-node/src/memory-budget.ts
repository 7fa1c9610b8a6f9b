import { readFileSync } from 'node:fs';
import { totalmem } from 'node:os';

/** Where a node's memory budget came from. */
export type MemoryBudgetSource = 'option' | 'cgroup-v2' | 'cgroup-v1' | 'machine';

/** The bytes of model memory a node may hold, and why that figure. */
export interface MemoryBudgetChoice {
  bytes: number;
  source: MemoryBudgetSource;
  /** The limit it was derived from (the cgroup's or the machine's); equal to `bytes` for an explicit option. */
  limitBytes: number;
  /** What was kept back for the process itself (node, onnxruntime, gRPC buffers). */
  reserveBytes: number;
}

/**
 * What a node keeps back for itself below its memory limit: node and
 * onnxruntime take ≈ 150–200 MB of resident memory before any model
 * (measured), requests in flight up to `maxInFlightBytes` more, and RSS
 * measurements of a load are not exact, so 256 MiB plus a tenth of the limit.
 */
export function memoryReserve(limitBytes: number): number {
  return Math.min(Math.floor(limitBytes / 2), 256 * 1024 * 1024 + Math.floor(limitBytes / 10));
}

/** cgroup files the budget is derived from; tests point these elsewhere. */
export interface CgroupFiles {
  v2Max: string;
  v1Limit: string;
}

const DEFAULT_CGROUP_FILES: CgroupFiles = { v2Max: '/sys/fs/cgroup/memory.max', v1Limit: '/sys/fs/cgroup/memory/memory.limit_in_bytes' };

/**
 * A cgroup v1 "no limit" is a huge number rounded to the page size
 * (9223372036854771712 on x86-64); anything at or above the machine's memory
 * limits nothing the machine does not.
 */
function readLimit(path: string, machineBytes: number): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
  if (text === 'max' || text === '') return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || value >= machineBytes) return undefined;
  return value;
}

/**
 * The node's memory budget: the option when given; else the cgroup's memory
 * limit (v2 `memory.max`, then v1 `memory.limit_in_bytes`) when there is one,
 * else the machine's memory, less {@link memoryReserve}. A Kubernetes pod's
 * limit is its cgroup's, so a node derives the right budget there unasked.
 */
export function chooseMemoryBudget(explicitBytes: number | undefined, files: CgroupFiles = DEFAULT_CGROUP_FILES, machineBytes = totalmem()): MemoryBudgetChoice {
  if (explicitBytes !== undefined) return { bytes: explicitBytes, source: 'option', limitBytes: explicitBytes, reserveBytes: 0 };
  const v2 = readLimit(files.v2Max, machineBytes);
  const v1 = v2 === undefined ? readLimit(files.v1Limit, machineBytes) : undefined;
  const limitBytes = v2 ?? v1 ?? machineBytes;
  const source: MemoryBudgetSource = v2 !== undefined ? 'cgroup-v2' : v1 !== undefined ? 'cgroup-v1' : 'machine';
  const reserveBytes = memoryReserve(limitBytes);
  return { bytes: Math.max(0, limitBytes - reserveBytes), source, limitBytes, reserveBytes };
}
