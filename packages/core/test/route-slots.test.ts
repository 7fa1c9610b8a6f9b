import test from 'ava';
import { assignSlots, resolveSlots, validateSlots } from '../src/route-slots.js';
import { TOTAL_WEIGHT, type RouteSplit, type SlotRange } from '../src/schemas.js';

/** mulberry32: a seeded generator, so a failing sequence can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function owners(slots: readonly SlotRange[]): string[] {
  const out = new Array<string>(TOTAL_WEIGHT).fill('');
  for (const r of slots) out.fill(r.version, r.start, r.end);
  return out;
}

/** Random integer weights over some of `versions`, adding up to TOTAL_WEIGHT. */
function randomSplits(random: () => number, versions: readonly string[]): RouteSplit[] {
  const chosen = versions.filter(() => random() < 0.7);
  if (chosen.length === 0) chosen.push(versions[0]!);
  const cuts = chosen.slice(1).map(() => Math.floor(random() * (TOTAL_WEIGHT + 1))).sort((a, b) => a - b);
  const bounds = [0, ...cuts, TOTAL_WEIGHT];
  return chosen.map((version, i) => ({ version, weight: bounds[i + 1]! - bounds[i]! }));
}

test('without previous slots the ranges are contiguous in split order, weight 0 owning none', (t) => {
  const slots = assignSlots(undefined, [
    { version: 'a', weight: 5000 },
    { version: 'z', weight: 0 },
    { version: 'b', weight: 3000 },
    { version: 'c', weight: 2000 },
  ]);
  t.deepEqual(slots, [
    { start: 0, end: 5000, version: 'a' },
    { start: 5000, end: 8000, version: 'b' },
    { start: 8000, end: 10000, version: 'c' },
  ]);
  t.deepEqual(assignSlots(undefined, []), []);
});

test('A 50/B 30/C 20 to A 40/B 40/C 20 moves only the end of A to B', (t) => {
  const before = assignSlots(undefined, [
    { version: 'a', weight: 5000 },
    { version: 'b', weight: 3000 },
    { version: 'c', weight: 2000 },
  ]);
  const after = assignSlots(before, [
    { version: 'a', weight: 4000 },
    { version: 'b', weight: 4000 },
    { version: 'c', weight: 2000 },
  ]);
  t.deepEqual(after, [
    { start: 0, end: 4000, version: 'a' },
    { start: 4000, end: 8000, version: 'b' },
    { start: 8000, end: 10000, version: 'c' },
  ]);
  // Non-adjacent: C takes from A without touching B.
  const again = assignSlots(after, [
    { version: 'a', weight: 3000 },
    { version: 'b', weight: 4000 },
    { version: 'c', weight: 3000 },
  ]);
  t.deepEqual(again, [
    { start: 0, end: 3000, version: 'a' },
    { start: 3000, end: 4000, version: 'c' },
    { start: 4000, end: 8000, version: 'b' },
    { start: 8000, end: 10000, version: 'c' },
  ]);
  t.is(validateSlots(again, [{ version: 'a', weight: 3000 }, { version: 'b', weight: 4000 }, { version: 'c', weight: 3000 }]), undefined);
});

test('property: random weight changes move only slots from shrinking to growing versions, and only as many as the weight moved', (t) => {
  const versions = ['v1', 'v2', 'v3', 'v4', 'v5'];
  for (let seed = 1; seed <= 40; seed++) {
    const random = seeded(seed);
    let splits = randomSplits(random, versions);
    let slots = assignSlots(undefined, splits);
    t.is(validateSlots(slots, splits), undefined);
    for (let step = 0; step < 25; step++) {
      const next = randomSplits(random, versions);
      const nextSlots = assignSlots(slots, next);
      const problem = validateSlots(nextSlots, next);
      if (problem !== undefined) return t.fail(`seed ${seed} step ${step}: ${problem}`);
      const weightOf = (s: RouteSplit[], v: string) => s.find((x) => x.version === v)?.weight ?? 0;
      const before = owners(slots);
      const after = owners(nextSlots);
      const left = new Map<string, number>();
      const came = new Map<string, number>();
      for (let i = 0; i < TOTAL_WEIGHT; i++) {
        const from = before[i]!;
        const to = after[i]!;
        if (from === to) continue;
        if (!(weightOf(next, from) < weightOf(splits, from)) || !(weightOf(next, to) > weightOf(splits, to))) {
          return t.fail(`seed ${seed} step ${step}: slot ${i} moved ${from}→${to} against the weights`);
        }
        left.set(from, (left.get(from) ?? 0) + 1);
        came.set(to, (came.get(to) ?? 0) + 1);
      }
      for (const v of versions) {
        const delta = weightOf(next, v) - weightOf(splits, v);
        const moved = (came.get(v) ?? 0) - (left.get(v) ?? 0);
        if (moved !== delta || (delta > 0 && left.has(v)) || (delta < 0 && came.has(v))) {
          return t.fail(`seed ${seed} step ${step}: ${v} moved ${moved} slots for a weight change of ${delta}`);
        }
      }
      splits = next;
      slots = nextSlots;
    }
  }
  t.pass();
});

test('validateSlots names what is wrong', (t) => {
  const splits = [
    { version: 'a', weight: 6000 },
    { version: 'b', weight: 4000 },
  ];
  t.regex(validateSlots([{ start: 0, end: 10000, version: 'a' }], splits) ?? '', /a holds 10000 slots but has weight 6000/);
  t.regex(validateSlots([{ start: 0, end: 6000, version: 'a' }], splits) ?? '', /end at 6000/);
  t.regex(
    validateSlots(
      [
        { start: 0, end: 6000, version: 'a' },
        { start: 5000, end: 10000, version: 'b' },
      ],
      splits,
    ) ?? '',
    /sorted and contiguous/,
  );
  t.regex(
    validateSlots(
      [
        { start: 0, end: 6000, version: 'a' },
        { start: 6000, end: 10000, version: 'x' },
      ],
      splits,
    ) ?? '',
    /version x/,
  );
});

test('resolveSlots derives slots when absent or mismatched and reports the mismatch', (t) => {
  const splits = [
    { version: 'a', weight: 6000 },
    { version: 'b', weight: 4000 },
  ];
  const derived = assignSlots(undefined, splits);
  t.deepEqual(resolveSlots({ splits }), { slots: derived });
  const stored = [
    { start: 0, end: 4000, version: 'b' },
    { start: 4000, end: 10000, version: 'a' },
  ];
  t.deepEqual(resolveSlots({ splits, slots: stored }), { slots: stored });
  const bad = resolveSlots({ splits, slots: [{ start: 0, end: 10000, version: 'a' }] });
  t.deepEqual(bad.slots, derived);
  t.truthy(bad.problem);
});

test('an invalid previous assignment starts over from contiguous ranges', (t) => {
  const splits = [{ version: 'a', weight: 10000 }];
  t.deepEqual(assignSlots([{ start: 0, end: 10, version: 'x' }], splits), [{ start: 0, end: 10000, version: 'a' }]);
});
