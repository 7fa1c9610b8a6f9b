import test from 'ava';
import { hash32, routingKeySlot } from '../src/routing-key-hash.js';
import { TOTAL_WEIGHT } from '../src/schemas.js';

test('hash32 is stable: known values do not change between releases', (t) => {
  // Computed independently (Python, FNV-1a over UTF-8 then fmix32); a change here re-routes every key.
  t.deepEqual(
    ['', 'a', 'user-1', 'é', '😀'].map((k) => hash32(k)),
    [2872998923, 444641715, 2005895916, 2387039943, 855877642],
  );
  t.not(hash32('user-1'), hash32('user-1', 1));
});

test('hash32 encodes UTF-8: a code point hashes like its bytes', (t) => {
  // Plain FNV-1a over bytes, then the same finalizer, as a reference implementation.
  const reference = (text: string): number => {
    let h = 0x811c9dc5;
    for (const byte of Buffer.from(text, 'utf8')) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
    h ^= h >>> 16;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    return h >>> 0;
  };
  for (const key of ['abc', 'ümlaut', '日本語', 'emoji 😀 key', 'x'.repeat(300)]) t.is(hash32(key), reference(key), key);
});

test('100,000 sequential keys spread over the slots within ±1 pp of uniform', (t) => {
  const n = 100_000;
  // Ten buckets of 1000 slots each: each should get 10% of the keys.
  const buckets = new Array<number>(10).fill(0);
  for (let i = 0; i < n; i++) {
    const slot = routingKeySlot(`user-${i}`);
    if (slot < 0 || slot >= TOTAL_WEIGHT || !Number.isInteger(slot)) return t.fail(`slot ${slot}`);
    buckets[Math.floor(slot / 1000)]!++;
  }
  for (const count of buckets) t.true(Math.abs(count / n - 0.1) < 0.01, `bucket share ${count / n}`);
});
