import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { makeTempDir, removeDir } from '@switchyard/testkit';
import { admit, estimateCost, MIN_VERSION_BYTES, type HeldVersion } from '../src/memory-admission.js';
import { chooseMemoryBudget, memoryReserve } from '../src/memory-budget.js';
import { MemoryLedger } from '../src/memory-ledger.js';
import type { LoadedVersion } from '../src/loaded-version.js';
import type { VersionRecord } from '@switchyard/core';

const MIB = 1024 * 1024;
const held = (key: string, mib: number, lastUsedMs: number, extra: Partial<HeldVersion> = {}): HeldVersion => ({
  key,
  bytes: mib * MIB,
  placed: false,
  loading: false,
  inFlight: 0,
  lastUsedMs,
  ...extra,
});

test('a load that fits needs nothing evicted', (t) => {
  t.deepEqual(admit([held('a', 10, 1)], 5 * MIB, { budgetBytes: 20 * MIB }), { kind: 'fits' });
});

test('evicts idle cached versions least recently used first, only as many as needed', (t) => {
  const decision = admit([held('new', 5, 30), held('old', 5, 10), held('mid', 5, 20)], 6 * MIB, { budgetBytes: 20 * MIB });
  t.deepEqual(decision, { kind: 'evict', victims: ['old'], freedBytes: 5 * MIB, displaced: [] });
  const two = admit([held('new', 5, 30), held('old', 5, 10), held('mid', 5, 20)], 12 * MIB, { budgetBytes: 20 * MIB });
  t.deepEqual(two, { kind: 'evict', victims: ['old', 'mid'], freedBytes: 10 * MIB, displaced: [] });
});

test('never evicts a placed version, one loading, or one with requests in flight; refuses with the sizes instead', (t) => {
  const versions = [held('placed', 6, 1, { placed: true }), held('busy', 6, 2, { inFlight: 1 }), held('loading', 6, 3, { loading: true }), held('idle', 2, 4)];
  const decision = admit(versions, 6 * MIB, { budgetBytes: 20 * MIB });
  t.is(decision.kind, 'refuse');
  t.regex((decision as { reason: string }).reason, /needs 6\.0 MiB and this node's budget is 20\.0 MiB, 20\.0 MiB held, 18\.0 MiB of it by 3 version/);
  // The idle one alone makes room for a smaller load.
  t.deepEqual(admit(versions, 2 * MIB, { budgetBytes: 20 * MIB }), { kind: 'evict', victims: ['idle'], freedBytes: 2 * MIB, displaced: [] });
});

test('a version bigger than the whole budget is refused, naming both sizes', (t) => {
  const decision = admit([], 30 * MIB, { budgetBytes: 20 * MIB });
  t.deepEqual(decision, { kind: 'refuse', reason: "it needs 30.0 MiB, more than this node's whole memory budget of 20.0 MiB" });
});

test('for a version a request needs: idle cached versions go first, then idle placed copies least recently used first; never always-resident, loading or busy ones', (t) => {
  const versions = [
    held('placed-old', 4, 1, { placed: true }),
    held('placed-new', 4, 5, { placed: true }),
    held('resident', 4, 0, { placed: true, alwaysResident: true }),
    held('placed-busy', 4, 0, { placed: true, inFlight: 2 }),
    held('cached', 2, 9),
  ];
  // 18 MiB held of 20: a 6 MiB load needs 4 freed, the cached one (2) and then the oldest placed copy.
  t.deepEqual(admit(versions, 6 * MIB, { budgetBytes: 20 * MIB, mayDisplace: true }), { kind: 'evict', victims: ['cached', 'placed-old'], freedBytes: 6 * MIB, displaced: ['placed-old'] });
  // A load the placement asked for never displaces another placed copy.
  t.is(admit(versions, 6 * MIB, { budgetBytes: 20 * MIB }).kind, 'refuse');
  // Both idle placed copies and the cached one are not enough for 14 MiB: refused, naming what stays.
  const refused = admit(versions, 14 * MIB, { budgetBytes: 20 * MIB, mayDisplace: true });
  t.is(refused.kind, 'refuse');
  t.regex((refused as { reason: string }).reason, /8\.0 MiB of it by 2 version\(s\) always resident, loading or serving requests/);
});

test('unaccounted growth of the process counts as held and is never evicted; a refusal names it', (t) => {
  const versions = [held('a', 5, 1), held('b', 5, 2)];
  t.deepEqual(admit(versions, 5 * MIB, { budgetBytes: 20 * MIB }), { kind: 'fits' });
  t.deepEqual(admit(versions, 5 * MIB, { budgetBytes: 20 * MIB, unaccountedBytes: 6 * MIB }), { kind: 'evict', victims: ['a'], freedBytes: 5 * MIB, displaced: [] });
  const refused = admit(versions, 5 * MIB, { budgetBytes: 20 * MIB, unaccountedBytes: 16 * MIB });
  t.is(refused.kind, 'refuse');
  t.regex((refused as { reason: string }).reason, /and 16\.0 MiB by the process's own growth/);
});

test('the ledger counts resident growth above its idle baseline that no version accounts for, only at quiet moments, and only with one node in the process', (t) => {
  const record = (sha: string, size: number) => ({ model: 'm', version: sha, artifact: { sha256: sha, size } }) as unknown as VersionRecord;
  const loadedOf = (bytes: number) => new Map([['m/v', { memoryBytes: bytes } as unknown as LoadedVersion]]);
  const ledger = new MemoryLedger(100 * MIB);
  t.is(ledger.baselineBytes, undefined);
  ledger.takeBaseline(200 * MIB);
  t.is(ledger.baselineBytes, 200 * MIB);
  // 30 MiB accounted, the process grew 50: 20 unaccounted.
  t.true(ledger.sample(loadedOf(30 * MIB), 250 * MIB));
  t.is(ledger.unaccountedBytes, 20 * MIB);
  // Accounted more than the growth (a measurement inflated by other work): nothing unaccounted.
  ledger.sample(loadedOf(60 * MIB), 250 * MIB);
  t.is(ledger.unaccountedBytes, 0);
  ledger.sample(loadedOf(30 * MIB), 250 * MIB);
  // While a load is in progress its growth is not attributed yet: the last figure stays.
  ledger.loadStarted('m/w', 10 * MIB);
  t.false(ledger.sample(loadedOf(30 * MIB), 400 * MIB));
  t.is(ledger.unaccountedBytes, 20 * MIB);
  ledger.loadEnded('m/w');
  // The over-budget check counts it: 30 + 75 unaccounted > 100.
  ledger.sample(loadedOf(30 * MIB), 305 * MIB);
  t.is(ledger.unaccountedBytes, 75 * MIB);
  const placement = { placed: () => false, alwaysResident: () => false };
  const loaded = new Map([['m/v', { memoryBytes: 30 * MIB, inFlight: 0, stats: { lastUsedMs: 0 }, loadedAtMs: 0 } as unknown as LoadedVersion]]);
  t.deepEqual(ledger.overBudget(loaded, placement, false), { kind: 'evict', victims: ['m/v'], freedBytes: 30 * MIB, displaced: [] });
  t.is(ledger.decide(record('x', 10 * MIB), loaded, placement, false).kind, 'evict');
  // A second node in the process: nobody's growth is its own, the correction is off.
  const other = new MemoryLedger(100 * MIB);
  other.takeBaseline(300 * MIB);
  t.is(ledger.baselineBytes, undefined);
  ledger.sample(loadedOf(30 * MIB), 400 * MIB);
  t.is(ledger.unaccountedBytes, 0);
  other.dropBaseline();
  ledger.dropBaseline();
});

test("a load's transient (its file read whole while its session is built) needs room too, but never refuses a version that fits once loaded", (t) => {
  const versions = [held('a', 5, 1), held('b', 5, 2)];
  t.deepEqual(admit(versions, 5 * MIB, { budgetBytes: 20 * MIB, transientBytes: 6 * MIB }), { kind: 'evict', victims: ['a'], freedBytes: 5 * MIB, displaced: [] });
  t.deepEqual(admit([], 18 * MIB, { budgetBytes: 20 * MIB, transientBytes: 18 * MIB }), { kind: 'fits' });
  // Room for the version but not for its transient: it loads, after whatever could go.
  t.deepEqual(admit([held('p', 5, 1, { placed: true }), held('c', 2, 1)], 10 * MIB, { budgetBytes: 20 * MIB, transientBytes: 10 * MIB }), {
    kind: 'evict',
    victims: ['c'],
    freedBytes: 2 * MIB,
    displaced: [],
  });
  t.deepEqual(admit([held('p', 5, 1, { placed: true })], 10 * MIB, { budgetBytes: 20 * MIB, transientBytes: 10 * MIB }), { kind: 'fits' });
  // Versions used lately are not unloaded for a transient (they would be the next cold loads), only for the version itself.
  const now = 1_000_000;
  const recent = [held('old', 4, now - 60_000), held('hot1', 5, now - 10), held('hot2', 5, now - 20)];
  t.deepEqual(admit(recent, 5 * MIB, { budgetBytes: 20 * MIB, transientBytes: 8 * MIB, nowMs: now }), { kind: 'evict', victims: ['old'], freedBytes: 4 * MIB, displaced: [] });
  t.deepEqual(admit(recent, 12 * MIB, { budgetBytes: 20 * MIB, transientBytes: 12 * MIB, nowMs: now }), {
    kind: 'evict',
    victims: ['old', 'hot2'],
    freedBytes: 9 * MIB,
    displaced: [],
  });
  // Nor for another load's transient: it ends with that load.
  const loadingOther = held('other', 9, Number.MAX_SAFE_INTEGER, { loading: true, transientBytes: 6 * MIB });
  t.deepEqual(admit([held('hot1', 5, now - 10), held('hot2', 4, now - 20), loadingOther], 4 * MIB, { budgetBytes: 20 * MIB, nowMs: now }), { kind: 'fits' });
  t.deepEqual(admit([held('old', 2, now - 60_000), held('hot2', 4, now - 20), loadingOther], 8 * MIB, { budgetBytes: 20 * MIB, nowMs: now }), {
    kind: 'evict',
    victims: ['old'],
    freedBytes: 2 * MIB,
    displaced: [],
  });
  const refused = admit([held('p', 12, 1, { placed: true })], 10 * MIB, { budgetBytes: 20 * MIB, transientBytes: 10 * MIB });
  t.regex((refused as { reason: string }).reason, /it needs 10\.0 MiB \(20\.0 MiB while it loads\)/);
});

test('estimates: the median ratio of similar sizes, the default otherwise, never below the floor', (t) => {
  t.is(estimateCost(10 * MIB, []), 15 * MIB);
  const measured = [
    { artifactBytes: 10 * MIB, memoryBytes: 20 * MIB },
    { artifactBytes: 12 * MIB, memoryBytes: 36 * MIB },
    { artifactBytes: 8 * MIB, memoryBytes: 80 * MIB },
    // A tiny graph's fixed cost must not count for a large one.
    { artifactBytes: 200, memoryBytes: MIB },
  ];
  t.is(estimateCost(10 * MIB, measured), 30 * MIB);
  t.is(estimateCost(100, []), MIN_VERSION_BYTES);
});

test('budget: the option wins; else cgroup v2, then v1, then the machine, less the reserve', async (t) => {
  const dir = await makeTempDir('switchyard-budget-');
  t.teardown(() => removeDir(dir));
  const files = { v2Max: join(dir, 'memory.max'), v1Limit: join(dir, 'v1', 'memory.limit_in_bytes') };
  const machine = 16 * 1024 * MIB;
  t.deepEqual(chooseMemoryBudget(2048 * MIB, files, machine), { bytes: 2048 * MIB, source: 'option', limitBytes: 2048 * MIB, reserveBytes: 0 });
  const fromMachine = chooseMemoryBudget(undefined, files, machine);
  t.is(fromMachine.source, 'machine');
  t.is(fromMachine.bytes, machine - memoryReserve(machine));
  await mkdir(join(dir, 'v1'));
  // v1's "no limit" is a huge number: not a limit.
  await writeFile(files.v1Limit, '9223372036854771712\n');
  t.is(chooseMemoryBudget(undefined, files, machine).source, 'machine');
  await writeFile(files.v1Limit, String(1536 * MIB));
  const v1 = chooseMemoryBudget(undefined, files, machine);
  t.deepEqual([v1.source, v1.limitBytes, v1.bytes], ['cgroup-v1', 1536 * MIB, 1536 * MIB - memoryReserve(1536 * MIB)]);
  await writeFile(files.v2Max, 'max\n');
  t.is(chooseMemoryBudget(undefined, files, machine).source, 'cgroup-v1');
  await writeFile(files.v2Max, String(1024 * MIB));
  const v2 = chooseMemoryBudget(undefined, files, machine);
  t.deepEqual([v2.source, v2.bytes], ['cgroup-v2', 1024 * MIB - memoryReserve(1024 * MIB)]);
  // 1.5 GiB, the limit of the measurement: 256 MiB + a tenth kept back.
  t.is(memoryReserve(1536 * MIB), 256 * MIB + Math.floor((1536 * MIB) / 10));
});
