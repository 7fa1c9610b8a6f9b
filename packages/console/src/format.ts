// Small formatters shared by the pages.

/** "3 min ago", "in 2 d": a date relative to now; '—' when empty. */
export function relative(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const ms = Date.parse(iso) - now;
  if (!Number.isFinite(ms)) return '—';
  const abs = Math.abs(ms);
  const [value, unit] =
    abs < 60_000 ? [abs / 1000, 's'] : abs < 3_600_000 ? [abs / 60_000, 'min'] : abs < 86_400_000 ? [abs / 3_600_000, 'h'] : [abs / 86_400_000, 'd'];
  const text = `${Math.round(value)} ${unit}`;
  return ms < 0 ? `${text} ago` : `in ${text}`;
}

/** A date as the reader's local time, to the second. */
export function when(iso: string | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isFinite(d.getTime()) ? d.toLocaleString() : iso;
}

export function bytes(value: string | number | undefined): string {
  const n = Number(value ?? 0);
  if (!Number.isFinite(n) || n <= 0) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 10 || i === 0 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/** Basis points as a percentage, e.g. 2500 → "25%". */
export function share(weight: number): string {
  const pct = weight / 100;
  return `${Number.isInteger(pct) ? pct : pct.toFixed(2)}%`;
}

export function percent(ratio: number | null | undefined, digits = 1): string {
  if (ratio === null || ratio === undefined || !Number.isFinite(ratio)) return '—';
  return `${(ratio * 100).toFixed(digits)}%`;
}

export function rate(perSecond: number | null | undefined): string {
  if (perSecond === null || perSecond === undefined || !Number.isFinite(perSecond)) return '—';
  return perSecond >= 10 ? `${Math.round(perSecond)}/s` : `${perSecond.toFixed(2)}/s`;
}

export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '—';
  return value >= 10 ? `${Math.round(value)} ms` : `${value.toFixed(2)} ms`;
}

export function shape(dims: string[]): string {
  return `[${dims.map((d) => (d === '-1' ? '?' : d)).join(', ')}]`;
}

/** The version with the most weight in a route. */
export function primaryOf(splits: { version: string; weight: number }[]): string | undefined {
  let best: { version: string; weight: number } | undefined;
  for (const s of splits) if (!best || s.weight > best.weight) best = s;
  return best?.version;
}
