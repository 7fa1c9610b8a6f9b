import { NAME_PATTERN, invalidArgument } from '@switchyard/core';

const NAME_RULE = "1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-', starting and ending with a letter or digit";

/** Versions named by CreateVersion when the caller leaves the name empty. */
const AUTO_VERSION = /^v(\d+)$/;
const NUMERIC_SUFFIX = /(\d+)$/;

/**
 * Checks a model or version name against core's NAME_PATTERN, the rule that
 * keeps names safe in etcd keys, URLs and shells.
 * @throws INVALID_ARGUMENT stating the rule.
 */
export function checkName(kind: 'model' | 'version', value: string): string {
  if (value === '') throw invalidArgument(`a ${kind} name is required (${NAME_RULE})`);
  if (!NAME_PATTERN.test(value)) throw invalidArgument(`${kind} name '${value}' is not allowed; use ${NAME_RULE}`);
  return value;
}

/** The next free automatic name: `v{1 + the highest N of the existing vN}`. */
export function nextVersionName(existing: Iterable<string>): string {
  // BigInt: a hand-made v99999999999999999999 must not turn the next name into v1e+20.
  let highest = 0n;
  for (const name of existing) {
    const match = AUTO_VERSION.exec(name);
    if (match && BigInt(match[1]!) > highest) highest = BigInt(match[1]!);
  }
  return `v${highest + 1n}`;
}

/** Orders versions by their numeric suffix (v2 before v10), then by name; names without digits last. */
export function compareVersionNames(a: string, b: string): number {
  const na = NUMERIC_SUFFIX.exec(a);
  const nb = NUMERIC_SUFFIX.exec(b);
  const ka = na ? Number(na[1]) : Number.POSITIVE_INFINITY;
  const kb = nb ? Number(nb[1]) : Number.POSITIVE_INFINITY;
  if (ka !== kb) return ka < kb ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}
