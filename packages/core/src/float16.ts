/**
 * IEEE 754 half precision (FP16) to and from JavaScript numbers. Node 20 has
 * no Float16Array, so onnxruntime-node carries float16 tensors as the bits in
 * a Uint16Array; these convert those bits where a value must be read or written.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The number an FP16 bit pattern stands for (NaN, ±Infinity and subnormals included). */
export function halfToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction === 0 ? sign * Infinity : Number.NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/**
 * The FP16 bits nearest to a number, rounding to nearest even as IEEE does;
 * beyond ±65504 is ±Infinity. Goes through float32 first (exact for every
 * half) and rounds its mantissa once.
 */
export function numberToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  let e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal half (or zero): shift the implicit 1 in and round.
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    const rounded = rest > midpoint || (rest === midpoint && (half & 1) === 1) ? half + 1 : half;
    return sign | rounded;
  }
  let half = mantissa >>> 13;
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) {
    half += 1;
    if (half === 0x400) {
      half = 0;
      e += 1;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | half;
}

/** A number rounded to the nearest FP16 value, as a number. */
export function roundToHalf(value: number): number {
  return halfToNumber(numberToHalf(value));
}

/** FP16 bits to numbers. */
export function halvesToNumbers(bits: ArrayLike<number>): number[] {
  return Array.from(bits, halfToNumber);
}

/** Numbers to FP16 bits. */
export function numbersToHalves(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = numberToHalf(values[i]!);
  return out;
}
