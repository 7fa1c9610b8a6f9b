import { usageError } from './exit-codes.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses "500ms", "60s", "2m", "1h" or a bare number of seconds into milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) throw usageError(`${flag} '${text}' is not a duration; write e.g. 500ms, 60s or 2m`);
  return Math.round(Number(match[1]) * UNIT_MS[match[2] ?? 's']!);
}
