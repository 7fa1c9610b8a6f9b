import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { makeTempDir, removeDir } from '@switchyard/testkit';
import { admit, estimateCost, MIN_VERSION_BYTES, type HeldVersion } from '../src/memory-admission.js';
import { chooseMemoryBudget, memoryReserve } from '../src/memory-budget.js';

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
  t.deepEqual(admit([held('a', 10, 1)], 5 * MIB, 20 * MIB), { kind: 'fits' });
});

test('evicts idle cached versions least recently used first, only as many as needed', (t) => {
  const decision = admit([held('new', 5, 30), held('old', 5, 10), held('mid', 5, 20)], 6 * MIB, 20 * MIB);
  t.deepEqual(decision, { kind: 'evict', victims: ['old'], freedBytes: 5 * MIB });
  const two = admit([held('new', 5, 30), held('old', 5, 10), held('mid', 5, 20)], 12 * MIB, 20 * MIB);
  t.deepEqual(two, { kind: 'evict', victims: ['old', 'mid'], freedBytes: 10 * MIB });
});

test('never evicts a placed version, one loading, or one with requests in flight; refuses with the sizes instead', (t) => {
  const versions = [held('placed', 6, 1, { placed: true }), held('busy', 6, 2, { inFlight: 1 }), held('loading', 6, 3, { loading: true }), held('idle', 2, 4)];
  const decision = admit(versions, 6 * MIB, 20 * MIB);
  t.is(decision.kind, 'refuse');
  t.regex((decision as { reason: string }).reason, /needs 6\.0 MiB and this node's budget is 20\.0 MiB, 20\.0 MiB held, 18\.0 MiB of it by 3 version/);
  // The idle one alone makes room for a smaller load.
  t.deepEqual(admit(versions, 2 * MIB, 20 * MIB), { kind: 'evict', victims: ['idle'], freedBytes: 2 * MIB });
});

test('a version bigger than the whole budget is refused, naming both sizes', (t) => {
  const decision = admit([], 30 * MIB, 20 * MIB);
  t.deepEqual(decision, { kind: 'refuse', reason: "it needs 30.0 MiB, more than this node's whole memory budget of 20.0 MiB" });
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
