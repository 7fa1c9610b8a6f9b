import { TOTAL_WEIGHT, invalidArgument, type Int64, type RouteSplit, type RouteSplitMessage } from '@switchyard/core';
import { checkName } from './version-names.js';

/** etcd caps a transaction at 128 operations by default, and SetRoute compares one per split. */
export const MAX_SPLITS = 100;

/**
 * Checks the splits of a SetRoute request: valid version names, no version
 * twice, integer basis-point weights adding up to TOTAL_WEIGHT. No splits at
 * all is a route that serves nothing: how a model's traffic is taken away
 * before DeleteModel, which refuses while any version carries weight.
 * @throws INVALID_ARGUMENT naming the offending split.
 */
export function checkSplits(splits: readonly RouteSplitMessage[]): RouteSplit[] {
  if (splits.length === 0) return [];
  if (splits.length > MAX_SPLITS) throw invalidArgument(`a route can have at most ${MAX_SPLITS} splits; this one has ${splits.length}`);
  const seen = new Set<string>();
  let total = 0;
  const out: RouteSplit[] = [];
  for (const split of splits) {
    const version = checkName('version', split.version);
    if (seen.has(version)) throw invalidArgument(`version ${version} appears twice in the route; give each version one split`);
    seen.add(version);
    const weight = Number(split.weight);
    if (!Number.isInteger(weight) || weight < 0 || weight > TOTAL_WEIGHT) {
      throw invalidArgument(`the weight of version ${version} is ${split.weight}; weights are integer basis points from 0 to ${TOTAL_WEIGHT}`);
    }
    total += weight;
    out.push({ version, weight });
  }
  if (total !== TOTAL_WEIGHT) {
    const listed = out.map((s) => `${s.version}=${s.weight}`).join(', ');
    throw invalidArgument(`route weights add up to ${total} (${listed}) but must add up to ${TOTAL_WEIGHT} basis points (100%)`);
  }
  return out;
}

/**
 * The expected revision of a conditional write as etcd3 wants it; '0' means
 * "whatever the current revision is". `readWith` names the RPC that returns
 * the revision to pass, for the error message.
 * @throws INVALID_ARGUMENT for a negative or non-integer revision.
 */
export function checkExpectedRevision(value: Int64, readWith = 'GetRoute'): string {
  const text = String(value);
  if (!/^\d+$/.test(text)) throw invalidArgument(`expected_revision ${text} is not a revision; pass 0 or the revision ${readWith} returned`);
  return BigInt(text).toString();
}
