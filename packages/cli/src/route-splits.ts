import type { RouteSplitMessage } from '@switchyard/core';
import { usageError } from './exit-codes.js';

/** A route's weights add up to this many basis points (100%). */
export const FULL_WEIGHT = 10_000;

/**
 * Parses `route set` arguments like `v1=90 v2=10` or `v1=99.5 v2=0.5`:
 * percentages with at most two decimals (0.01% = 1 basis point), adding up
 * to exactly 100. Converted from the decimal text, not through floating
 * point, so 33.33 is 3333 basis points exactly.
 * @throws CliError (usage) naming the bad argument.
 */
export function parseRouteSplits(args: readonly string[]): RouteSplitMessage[] {
  const splits: RouteSplitMessage[] = [];
  for (const arg of args) {
    const match = /^([^=\s]+)=(\d{1,3})(?:\.(\d{1,2}))?%?$/.exec(arg);
    if (!match) throw usageError(`'${arg}' is not version=percent; write e.g. v1=90 v2=10 (decimals down to 0.01)`);
    const version = match[1]!;
    const weight = Number(match[2]) * 100 + Number((match[3] ?? '').padEnd(2, '0'));
    if (weight > FULL_WEIGHT) throw usageError(`'${arg}': a version cannot get more than 100%`);
    if (splits.some((s) => s.version === version)) throw usageError(`version ${version} is given twice; give each version once`);
    splits.push({ version, weight });
  }
  const total = splits.reduce((sum, s) => sum + s.weight, 0);
  if (total !== FULL_WEIGHT) {
    throw usageError(`the percentages add up to ${formatWeight(total)}, not 100%; adjust them (or use --empty to serve nothing)`);
  }
  return splits;
}

/** Basis points as a percentage: 10000 → "100%", 250 → "2.5%", 1 → "0.01%". */
export function formatWeight(weight: number): string {
  return `${Number((weight / 100).toFixed(2))}%`;
}

/** `v1 90%, v2 10%`, or "none" for an empty split. */
export function formatSplits(splits: readonly RouteSplitMessage[]): string {
  return splits.length === 0 ? 'none' : splits.map((s) => `${s.version} ${formatWeight(s.weight)}`).join(', ');
}
