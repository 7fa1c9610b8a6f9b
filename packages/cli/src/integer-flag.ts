import { usageError } from './exit-codes.js';

/** A whole number flag within [min, max]; a usage error naming the flag otherwise. */
export function integerFlag(flag: string, value: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `${min} or more` : `from ${min} to ${max}`;
    throw usageError(`${flag} must be a whole number ${range}, not '${value}'`);
  }
  return n;
}

/** etcd raises shorter lease TTLs to about 1.5 election timeouts anyway; below 2 s a GC pause would expire a healthy lease. */
export const MIN_LEASE_TTL_SECONDS = 2;
