const UNITS = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];

/** A byte count for people: `268435456` → `256 MiB`. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const rounded = Number.isInteger(value) ? String(value) : value.toFixed(1);
  return `${rounded} ${UNITS[unit]}`;
}
