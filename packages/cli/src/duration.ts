import { usageError } from './exit-codes.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses "500ms", "60s", "2m", "12h", "30d" or a bare number of seconds into milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!match) throw usageError(`${flag} '${text}' is not a duration; write e.g. 500ms, 90s, 2m, 12h or 30d`);
  return Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 's']!);
}

/**
 * A duration in whole seconds, as the admin API stores expirations; "0"
 * means "not set" there (the default applies).
 */
export function parseSeconds(text: string, flag: string): number {
  const ms = parseDuration(text, flag);
  if (ms % 1000 !== 0) throw usageError(`${flag} '${text}' must be whole seconds, e.g. 90s, 12h or 30d`);
  return ms / 1000;
}

/** Seconds as the largest unit that divides them: 2592000 → "30d", 90 → "90s"; 0 → "0". */
export function formatSeconds(seconds: number): string {
  if (seconds === 0) return '0';
  for (const [unit, size] of [['d', 86_400], ['h', 3_600], ['m', 60]] as const) {
    if (seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}
