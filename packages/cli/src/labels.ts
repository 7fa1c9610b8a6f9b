import { usageError } from './exit-codes.js';

/** Labels of a version, by key. */
export type Labels = Record<string, string>;

/** Commander's collector for a repeatable `--label key=value`. */
export function parseLabel(text: string, previous: Labels = {}): Labels {
  const eq = text.indexOf('=');
  if (eq <= 0) throw usageError(`--label '${text}' must be key=value, e.g. --label team=risk`);
  const key = text.slice(0, eq);
  // Refused by the control plane too; said here before anything is uploaded.
  if (key === '__proto__') throw usageError(`--label ${key}: the key '__proto__' is reserved; choose another key`);
  if (Object.hasOwn(previous, key)) throw usageError(`--label ${key} is given twice; give each key once`);
  return { ...previous, [key]: text.slice(eq + 1) };
}

/** `a=1, b=2`, or "" for none. */
export function formatLabels(labels: Labels): string {
  return Object.entries(labels)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
}
