/**
 * (h) What retirement frees: RSS of a prediction node process after it
 * loaded N versions of the 13.6 MB MLP and after they were retired (Retire
 * through the admin API) and unloaded; and RSS over repeated load/unload
 * cycles of the same model. Both measured in a child process (memory-child.ts).
 */
import { fork } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AdminClient } from '@switchyard/client';
import { ControlPlane } from '@switchyard/control-plane';
import { KeyLayout, TOTAL_WEIGHT } from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import { silentLogger } from '@switchyard/core/logging';
import { makeTempDir, mlpModel, removeDir, startEtcd, waitFor } from '@switchyard/testkit';

const CHILD = fileURLToPath(new URL('./memory-child.js', import.meta.url));
const MB = 1024 * 1024;

/** A node process's RSS (MB) around loading and retiring N versions. */
export interface RetirementMemory {
  idleMb: number;
  loadedMb: number;
  retiredMb: number;
  /** (loaded − idle) / versions. */
  perVersionMb: number;
  /** Share of the loaded versions' memory given back after retirement, 0–1. */
  freedShare: number;
}

/** glibc keeps freed heap unless told to trim: the trim threshold nodes were started with before issue #17. */
export const TRIM_ENV = { MALLOC_TRIM_THRESHOLD_: '131072' } as const;
/** The cycle child calls malloc_trim after each release, as a node does after each unload since issue #17 (heap-trim.ts). */
export const TRIM_AT_RELEASE_ENV = { SWITCHYARD_BENCH_TRIM_AT_RELEASE: '1' } as const;
/** A node without its trim after unloads: glibc's defaults alone. */
export const NO_HEAP_TRIM_ENV = { SWITCHYARD_NO_HEAP_TRIM: '1' } as const;

export interface MemoryResults {
  versions: number;
  /** As shipped: glibc's defaults, and malloc_trim after unloads (heap-trim.ts). */
  node: RetirementMemory;
  /** Without the trim after unloads ({@link NO_HEAP_TRIM_ENV}): glibc's defaults alone. */
  nodeNoTrim?: RetirementMemory;
  /** With {@link TRIM_ENV} in the node's environment. */
  nodeTrimmed: RetirementMemory;
  cycles: number;
  /** Load/unload cycles with glibc's defaults. */
  cycling: CycleMemory;
  /** The same with {@link TRIM_ENV}. */
  cyclingTrimmed: CycleMemory;
  /** The same with malloc_trim after each release ({@link TRIM_AT_RELEASE_ENV}), as nodes run. */
  cyclingTrimAtRelease?: CycleMemory;
}

/** RSS (MB) of a process that loads, runs once and releases the MLP again and again. */
export interface CycleMemory {
  afterFirstMb: number;
  afterLastMb: number;
  peakMb: number;
  /** (after last − after first) / after first. */
  growth: number;
  /** RSS after cycles 1, 20, 40, ... */
  samples: { cycle: number; rssMb: number }[];
}

const mb = (bytes: number): number => Math.round((bytes / MB) * 10) / 10;

function equalWeights(n: number): number[] {
  const base = Math.floor(TOTAL_WEIGHT / n);
  return Array.from({ length: n }, (_, i) => base + (i < TOTAL_WEIGHT - base * n ? 1 : 0));
}

async function measureCycles(path: string, cycles: number, env: Record<string, string>): Promise<CycleMemory> {
  const child = fork(CHILD, ['cycles', path, String(cycles)], { execArgv: ['--expose-gc'], env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`the memory child (cycles) exited with ${code}`);
  const samples = (JSON.parse(out.trim()) as { samples: { cycle: number; rssBytes: number }[] }).samples;
  const first = samples[0]!.rssBytes;
  const last = samples[samples.length - 1]!.rssBytes;
  return {
    afterFirstMb: mb(first),
    afterLastMb: mb(last),
    peakMb: mb(Math.max(...samples.map((s) => s.rssBytes))),
    growth: Math.round(((last - first) / first) * 1000) / 1000,
    samples: samples.map((s) => ({ cycle: s.cycle, rssMb: mb(s.rssBytes) })),
  };
}

export async function measureMemory(options: { versions: number; cycles: number; log: (line: string) => void }): Promise<MemoryResults> {
  const bytes = mlpModel({ inputSize: 256, hidden: 1024, layers: 4, seed: 7 });
  const dir = await makeTempDir('switchyard-bench-memory-');
  try {
    const path = join(dir, 'mlp.onnx');
    await writeFile(path, bytes);
    options.log(`(h) memory: ${options.cycles} load/unload cycles of the MLP in a child process, glibc defaults and trimmed`);
    const cycling = await measureCycles(path, options.cycles, {});
    const cyclingTrimmed = await measureCycles(path, options.cycles, TRIM_ENV);
    const cyclingTrimAtRelease = await measureCycles(path, options.cycles, TRIM_AT_RELEASE_ENV);
    options.log(`(h) memory: a node process loading ${options.versions} MLP versions, then retiring them (glibc defaults, then ${Object.entries(TRIM_ENV).map(([k, v]) => `${k}=${v}`).join(' ')})`);
    const node = await measureRetirement(bytes, options.versions, join(dir, 'default'), {});
    const nodeNoTrim = await measureRetirement(bytes, options.versions, join(dir, 'no-trim'), NO_HEAP_TRIM_ENV);
    const nodeTrimmed = await measureRetirement(bytes, options.versions, join(dir, 'trimmed'), TRIM_ENV);
    return { versions: options.versions, node, nodeNoTrim, nodeTrimmed, cycles: options.cycles, cycling, cyclingTrimmed, cyclingTrimAtRelease };
  } finally {
    await removeDir(dir).catch(() => undefined);
  }
}

/** A node child with `env` added loads `count` versions routed together, then the model is retired through the admin API. */
async function measureRetirement(bytes: Uint8Array, count: number, dir: string, env: Record<string, string>): Promise<RetirementMemory> {
  const etcd = await startEtcd();
  const client = createEtcdClient({ endpoints: etcd.endpoint });
  const keys = new KeyLayout('/bench-memory/');
  let controlPlane: ControlPlane | undefined;
  let admin: AdminClient | undefined;
  let child: ReturnType<typeof fork> | undefined;
  try {
    // Validation loads each version in a child of its own; a loaded machine needs time.
    controlPlane = await ControlPlane.create({ etcd: client, keys, dataDir: join(dir, 'control-plane'), logger: silentLogger(), auth: { disabled: true }, validationTimeoutMs: 120_000 });
    admin = AdminClient.connect(controlPlane.address, { callTimeoutMs: 150_000 });
    const nodeId = 'memory-node';
    child = fork(CHILD, ['node', etcd.endpoint, keys.prefix, join(dir, 'node'), nodeId], {
      execArgv: ['--expose-gc'],
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const replies: { ready?: boolean; rss: number }[] = [];
    child.on('message', (m) => replies.push(m as { ready?: boolean; rss: number }));
    const ask = async (): Promise<number> => {
      const before = replies.length;
      child!.send('rss');
      await waitFor(() => replies.length > before, { timeoutMs: 10_000, message: 'RSS from the memory child' });
      return replies[replies.length - 1]!.rss;
    };
    await waitFor(() => replies.some((r) => r.ready), { timeoutMs: 30_000, message: 'the memory child node ready' });
    const idle = await ask();

    const { sha256 } = await admin.uploadBytes(bytes);
    const versions: string[] = [];
    for (let i = 0; i < count; i++) versions.push((await admin.createVersion({ model: 'mem', artifact_sha256: sha256 })).version);
    const weights = equalWeights(count);
    await admin.setRoute({ model: 'mem', splits: versions.map((version, i) => ({ version, weight: weights[i]! })) });
    const states = async () =>
      Promise.all(versions.map(async (v) => (JSON.parse((await client.get(keys.status(nodeId, 'mem', v)).string()) ?? 'null') as { state: string } | null)?.state));
    await waitFor(async () => (await states()).every((s) => s === 'READY'), { timeoutMs: 120_000, intervalMs: 50, message: 'every MLP version READY' });
    // Steady state: a node trims its heap 200 ms after its last load (heap-trim.ts).
    await new Promise((r) => setTimeout(r, 300));
    const loaded = await ask();

    await admin.retire('mem');
    await waitFor(async () => (await states()).every((s) => s === undefined), { timeoutMs: 60_000, intervalMs: 50, message: 'every MLP version unloaded' });
    await new Promise((r) => setTimeout(r, 300));
    const retired = await ask();
    return {
      idleMb: mb(idle),
      loadedMb: mb(loaded),
      retiredMb: mb(retired),
      perVersionMb: mb((loaded - idle) / count),
      freedShare: Math.round(((loaded - retired) / Math.max(1, loaded - idle)) * 100) / 100,
    };
  } finally {
    if (child && child.exitCode === null) {
      child.send('stop');
      await Promise.race([new Promise((r) => child!.on('exit', r)), new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    admin?.close();
    await controlPlane?.stop().catch(() => undefined);
    client.close();
    await etcd.destroy().catch(() => undefined);
  }
}
