import { usageError } from './exit-codes.js';

/**
 * A share flag: "1%" or "0.01" (both one percent); "off" turns the gate off
 * (sent as -1, which the API reads as "not checked").
 */
export function parseShare(flag: string, text: string): number {
  const value = text.trim();
  if (value === 'off') return -1;
  const match = /^(\d+(?:\.\d+)?)(%?)$/.exec(value);
  const share = match ? Number(match[1]) / (match[2] ? 100 : 1) : NaN;
  if (!Number.isFinite(share) || share > 1) throw usageError(`${flag} '${text}' is not a share; write e.g. 1% or 0.01 (up to 100%), or off`);
  return share;
}

/** A ratio flag: "1.5" or "1.5x"; "off" turns the gate off. */
export function parseRatio(flag: string, text: string): number {
  const value = text.trim().replace(/[x×]$/, '');
  if (value === 'off') return -1;
  const ratio = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || !(ratio > 0)) throw usageError(`${flag} '${text}' is not a ratio above 0; write e.g. 1.5 (or 1.5x), or off`);
  return ratio;
}

/** `1,5,25,50,100` (percent signs allowed) into numbers; the control plane checks the order and the last step. */
export function parseSteps(text: string): number[] {
  const parts = text.split(',').map((p) => p.trim().replace(/%$/, ''));
  const steps = parts.map(Number);
  if (parts.some((p) => !/^\d+(\.\d+)?$/.test(p)) || steps.length === 0) {
    throw usageError(`--steps '${text}' is not a list of percentages; write e.g. 1,5,25,50,100`);
  }
  return steps;
}
