import { TOTAL_WEIGHT } from './schemas.js';

/** Seed of the second, independent hash used to spread a key over the fallback versions. */
export const FALLBACK_HASH_SEED = 0x9e3779b9;

/**
 * A stable 32-bit hash of a string: 32-bit FNV-1a over its UTF-8 bytes,
 * starting from the FNV offset basis XOR `seed`, then murmur3's `fmix32`
 * finalizer, which spreads FNV-1a's weak low bits so that `hash % 10000`
 * is uniform even for keys that differ in one character ("user-1",
 * "user-2"). The same string gives the same value in every process and
 * release; it is part of the routing contract, so do not change it.
 */
export function hash32(text: string, seed = 0): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) {
    let c = text.charCodeAt(i);
    // UTF-8 encode on the fly: a surrogate pair is one 4-byte code point.
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    if (c < 0x80) h = fnvByte(h, c);
    else if (c < 0x800) {
      h = fnvByte(h, 0xc0 | (c >> 6));
      h = fnvByte(h, 0x80 | (c & 0x3f));
    } else if (c < 0x10000) {
      h = fnvByte(h, 0xe0 | (c >> 12));
      h = fnvByte(h, 0x80 | ((c >> 6) & 0x3f));
      h = fnvByte(h, 0x80 | (c & 0x3f));
    } else {
      h = fnvByte(h, 0xf0 | (c >> 18));
      h = fnvByte(h, 0x80 | ((c >> 12) & 0x3f));
      h = fnvByte(h, 0x80 | ((c >> 6) & 0x3f));
      h = fnvByte(h, 0x80 | (c & 0x3f));
    }
  }
  // murmur3 fmix32
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The basis-point slot, 0 to TOTAL_WEIGHT - 1, a routing key maps to. */
export function routingKeySlot(key: string): number {
  return hash32(key) % TOTAL_WEIGHT;
}

function fnvByte(h: number, byte: number): number {
  return Math.imul(h ^ byte, 0x01000193) >>> 0;
}
