/**
 * Machine-wide CPU use from /proc/stat (Linux only), to tell a quiet run
 * from one that shared the machine with other work: cores busy over an
 * interval, minus the bench's own processes, is what something else took.
 */
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';

export interface CpuSample {
  busy: number;
  total: number;
}

/** Jiffies of the aggregate "cpu" line; undefined where /proc/stat is unavailable. */
export function sampleCpu(): CpuSample | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    // user nice system idle iowait irq softirq steal ...
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const total = f.reduce((a, b) => a + b, 0);
    const idle = (f[3] ?? 0) + (f[4] ?? 0);
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** Average number of busy cores between two samples. */
export function busyCores(from: CpuSample | undefined, to: CpuSample | undefined): number | undefined {
  if (!from || !to || to.total <= from.total) return undefined;
  return ((to.busy - from.busy) / (to.total - from.total)) * cpus().length;
}
