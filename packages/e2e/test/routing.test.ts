import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { routingKeySlot, sha256Hex, type RouteRecord, type SlotRange } from '@switchyard/core';
import { linearModel, startEtcd, waitFor, type EtcdProcess } from '@switchyard/testkit';
import { TestCluster } from './helpers/cluster.js';

// Traffic splitting through a real node: shares, routing-key stickiness,
// weight shifts under load and versions that are routed but not READY.
let etcd: EtcdProcess;
test.before(async () => {
  etcd = await startEtcd();
});
test.after.always(async () => {
  await etcd?.destroy();
});

const x = { name: 'x', datatype: 'FP32' as const, shape: [1, 3], data: Float32Array.from([1, 0, 2]) };
const keyParam = (key: string) => ({ routing_key: { string_param: key } });

/** A one-node cluster with versions v1..v3 of model `m` (v3's artifact damaged when asked), routed by `weights`. */
async function threeVersions(weights: [number, number, number], options: { damageV3?: boolean } = {}): Promise<TestCluster> {
  const cluster = await TestCluster.start({ etcd, nodes: 1, nodeOptions: { metricsListen: '127.0.0.1:0' } });
  const versions: string[] = [];
  for (let i = 1; i <= 3; i++) {
    const bytes = linearModel({ weights: [i, 1, 1], bias: 0 });
    versions.push(await cluster.createVersion('m', bytes));
    if (i === 3 && options.damageV3) {
      await writeFile(join(cluster.dir, 'control-plane', 'artifacts', 'sha256', sha256Hex(bytes)), Buffer.from('not the model'));
    }
  }
  await cluster.setRoute('m', { v1: weights[0], v2: weights[1], v3: weights[2] });
  return cluster;
}

/** Waits until node 0 serves `m` with exactly these READY weights. */
async function waitWeights(cluster: TestCluster, weights: Record<string, number>): Promise<void> {
  const want = JSON.stringify(Object.entries(weights).filter(([, w]) => w > 0));
  await waitFor(
    () => {
      const route = cluster.nodes[0]!.table.routes.get('m');
      return route !== undefined && JSON.stringify(route.entries.map((e) => [e.loaded.version, e.weight])) === want;
    },
    { timeoutMs: 20_000, message: `node serving m with ${want}` },
  );
}

/** Runs `n` requests, `concurrency` at a time; returns each request's answering version. */
async function run(n: number, concurrency: number, send: (i: number) => Promise<string>): Promise<string[]> {
  const out = new Array<string>(n);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        out[i] = await send(i);
      }
    }),
  );
  return out;
}

function shares(versions: string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const v of versions) counts[v] = (counts[v] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).map(([v, c]) => [v, c / versions.length]));
}

async function storedSlots(cluster: TestCluster): Promise<SlotRange[]> {
  const route = JSON.parse((await cluster.client.get(cluster.keys.route('m')).string())!) as RouteRecord;
  return route.slots!;
}

const versionOfSlot = (slots: SlotRange[], slot: number): string => slots.find((r) => slot >= r.start && slot < r.end)!.version;

test.serial('a 50/30/20 split over 20,000 requests lands within ±1.5 pp of the weights; an explicit version bypasses it', async (t) => {
  const cluster = await threeVersions([5000, 3000, 2000]);
  t.teardown(() => cluster.stop());
  await waitWeights(cluster, { v1: 5000, v2: 3000, v3: 2000 });
  // ±1.5 pp rather than the unit tests' ±1 pp over 100,000: with 20,000 draws the
  // standard deviation of a 50% share is 0.35 pp, so 1.5 pp is over 4σ.
  const got = shares(await run(20_000, 8, async () => (await cluster.infer(0, 'm', [x])).model_version));
  t.log(got);
  for (const [v, w] of [['v1', 0.5], ['v2', 0.3], ['v3', 0.2]] as const) t.true(Math.abs((got[v] ?? 0) - w) < 0.015, `${v}: ${got[v]}`);
  const pinned = await run(200, 8, async () => (await cluster.infer(0, 'm', [x], { version: 'v3', parameters: keyParam('k') })).model_version);
  t.true(pinned.every((v) => v === 'v3'));
});

test.serial('a routing key always reaches the version its slot belongs to, for 1,000 keys', async (t) => {
  const cluster = await threeVersions([5000, 3000, 2000]);
  t.teardown(() => cluster.stop());
  await waitWeights(cluster, { v1: 5000, v2: 3000, v3: 2000 });
  const slots = await storedSlots(cluster);
  const keys = Array.from({ length: 1000 }, (_, i) => `session-${i}`);
  const first = await run(keys.length, 8, async (i) => (await cluster.infer(0, 'm', [x], { parameters: keyParam(keys[i]!) })).model_version);
  const second = await run(keys.length, 8, async (i) => (await cluster.infer(0, 'm', [x], { parameters: keyParam(keys[i]!) })).model_version);
  t.deepEqual(second, first);
  t.deepEqual(first, keys.map((k) => versionOfSlot(slots, routingKeySlot(k))));
  t.deepEqual([...new Set(first)].sort(), ['v1', 'v2', 'v3']);
});

test.serial('weight shifts under load from 4 clients: no failed request, and keys move only from the version losing weight to the one gaining', async (t) => {
  const cluster = await threeVersions([5000, 3000, 2000]);
  t.teardown(() => cluster.stop());
  await waitWeights(cluster, { v1: 5000, v2: 3000, v3: 2000 });

  let allowed = new Set<string>();
  let stopped = false;
  const failed: string[] = [];
  const unrelated: string[] = [];
  let ok = 0;
  let moved = 0;
  // Each client owns its keys and sends sequentially, so a key's answers arrive in order.
  const cycles = [0, 0, 0, 0];
  const clients = Array.from({ length: 4 }, async (_, c) => {
    const last = new Map<string, string>();
    for (let i = 0; !stopped; i = (i + 1) % 100) {
      if (i === 0) cycles[c]! += 1;
      const key = `client-${c}-key-${i}`;
      try {
        const version = (await cluster.infer(0, 'm', [x], { parameters: keyParam(key), deadlineMs: 5000 })).model_version;
        ok++;
        const before = last.get(key);
        if (before !== undefined && before !== version) {
          if (allowed.has(`${before}>${version}`)) moved++;
          else unrelated.push(`${key}: ${before}→${version}`);
        }
        last.set(key, version);
      } catch (err) {
        failed.push((err as Error).message);
      }
    }
  });

  const shifts: [Record<string, number>, string][] = [
    [{ v1: 4000, v2: 4000, v3: 2000 }, 'v1>v2'],
    [{ v1: 4000, v2: 3000, v3: 3000 }, 'v2>v3'],
    [{ v1: 3000, v2: 3000, v3: 4000 }, 'v1>v3'],
    [{ v1: 5000, v2: 3000, v3: 2000 }, 'v3>v1'],
  ];
  await new Promise((r) => setTimeout(r, 300));
  for (const [weights, move] of shifts) {
    allowed = new Set([move]);
    await cluster.setRoute('m', weights);
    await waitWeights(cluster, weights);
    // Every key is asked again under this split before the next shift, however
    // slow the machine: two whole rounds of each client's keys from now.
    const target = cycles.map((n) => n + 2);
    await waitFor(() => cycles.every((n, c) => n >= target[c]!), { timeoutMs: 60_000, message: 'every key asked again after the shift' });
  }
  stopped = true;
  await Promise.all(clients);
  t.log(`${ok} requests during ${shifts.length} shifts; ${moved} key moves, all allowed`);
  t.deepEqual(failed, []);
  t.deepEqual(unrelated, []);
  t.true(ok > 400);
  // 400 keys, 10% of the slots moving per shift: about 40 moves each.
  t.true(moved > 40, `${moved} moves`);
});

test.serial('a version with weight that is not READY gets no traffic; its share falls back and is counted', async (t) => {
  const cluster = await threeVersions([5000, 3000, 2000], { damageV3: true });
  t.teardown(() => cluster.stop());
  const node = cluster.nodes[0]!;
  await waitFor(async () => (await cluster.status(node.id, 'm', 'v3'))?.state === 'FAILED', { timeoutMs: 20_000, message: 'v3 FAILED' });
  await waitWeights(cluster, { v1: 5000, v2: 3000 });

  const slots = await storedSlots(cluster);
  const keys = Array.from({ length: 1000 }, (_, i) => `user-${i}`);
  const keyed = await run(keys.length, 8, async (i) => (await cluster.infer(0, 'm', [x], { parameters: keyParam(keys[i]!) })).model_version);
  const again = await run(keys.length, 8, async (i) => (await cluster.infer(0, 'm', [x], { parameters: keyParam(keys[i]!) })).model_version);
  t.deepEqual(again, keyed, 'fallback is sticky per key');
  const intended = keys.map((k) => versionOfSlot(slots, routingKeySlot(k)));
  // Keys of READY versions stay put; only v3's keys go elsewhere.
  keyed.forEach((v, i) => {
    if (intended[i] !== 'v3' && v !== intended[i]) t.fail(`${keys[i]} went to ${v}, not ${intended[i]}`);
  });
  const unkeyed = await run(2000, 8, async () => (await cluster.infer(0, 'm', [x])).model_version);
  t.false([...keyed, ...unkeyed].includes('v3'));

  const text = await (await fetch(`http://${node.metricsAddress}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('switchyard_route_fallbacks_total{') && l.includes('intended_version="v3"') && l.includes('model="m"'));
  const counted = Number(line?.split(' ').pop());
  const keyedFallbacks = 2 * intended.filter((v) => v === 'v3').length;
  t.log({ keyedFallbacks, counted });
  // All keyed fallbacks, plus about 20% of the 2,000 unkeyed requests.
  t.true(counted > keyedFallbacks + 250 && counted < keyedFallbacks + 550, `counted ${counted}`);
});
