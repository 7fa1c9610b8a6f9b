/**
 * (l) Registry scale (#15): a control plane holding `models` × `versionsPerModel`
 * versions (written straight into etcd, as the tests do: the admin API would
 * take an hour) of which `routed` models route one version each, with real
 * artifacts. Measures:
 * - a node's restart to serving (the artifact cache warm on disk, as after a
 *   process restart), with the summed load time of its versions beside it;
 * - admin calls and the CLI's `status` at that size, p50/p99;
 * - the node's CPU per unrelated change of `target/` (A/B interleaved with
 *   idle windows, an A/A pair as the noise floor);
 * - `/metrics` bytes per scrape with every routed version having traffic;
 * - whether the leader stepped down while its periodic work read it all.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import type { Etcd3 } from 'etcd3';
import { AdminClient } from '@switchyard/client';
import { encodeRaw, KeyLayout, type ModelRecord, type RouteRecord, type VersionRecord } from '@switchyard/core';
import { createEtcdClient } from '@switchyard/core/etcd';
import { inferenceService } from '@switchyard/core/grpc';
import { silentLogger } from '@switchyard/core/logging';
import { ControlPlane } from '@switchyard/control-plane';
import { PredictionNode } from '@switchyard/prediction-node';
import { capturingLogger, linearModel, makeTempDir, removeDir, startEtcd, type EtcdProcess } from '@switchyard/testkit';
import { round, summarize } from './stats.js';

const run = promisify(execFile);

export interface ScaleOptions {
  models: number;
  versionsPerModel: number;
  routed: number;
  /** Node restarts timed. */
  restarts: number;
  /** Calls per admin figure. */
  calls: number;
  /** Whole `switchyard status` processes timed (with as many `--version` ones interleaved). */
  cliRuns: number;
  /** Unrelated changes of `target/` per CPU window. */
  changes: number;
  log: (line: string) => void;
}

export interface LatencyFigure {
  p50Ms: number;
  p99Ms: number;
  n: number;
}

export interface ScaleResults {
  models: number;
  versions: number;
  routed: number;
  seedSeconds: number;
  /** Restart to serving, one entry per restart. */
  restarts: {
    /** PredictionNode.create() called → the first of its models answered a request. */
    firstServedMs: number;
    /** → every routed model answers (node ready, every model checked). */
    allServedMs: number;
    /** Sum over its versions of the whole load (cache read and checks, waits for a turn, session creation, warm-up); loads overlap. */
    loadMsSum: number;
    /** Sum over its versions of session creation, checks and warm-up: the models' own load time, one at a time. */
    sessionMsSum: number;
    /** Restart to all-served minus the models' own load time: what the node spends besides loading models. */
    overheadMs: number;
  }[];
  admin: Record<string, LatencyFigure>;
  /** The bench process's event-loop delay while the admin calls ran (control plane and node share it). */
  adminLoopDelay: { p99Ms: number; maxMs: number };
  cli: { status: LatencyFigure; version: LatencyFigure };
  /** CPU of the bench process per unrelated change of `target/`, ms; idle windows as baseline, an idle/idle pair as noise floor. */
  idleCpu: { perChangeMs: number; noiseFloorMs: number; changes: number; windows: number };
  metrics: { bytes: number; series: number; versionsWithTraffic: number };
  leaderStepDowns: number;
}

const at = new Date().toISOString();

/** Writes key/value pairs in transactions of 100 puts, 8 at a time. */
async function putMany(etcd: Etcd3, entries: Iterable<[string, string]>): Promise<void> {
  const txns: Promise<unknown>[] = [];
  let ops: object[] = [];
  const flushOps = (): void => {
    if (ops.length === 0) return;
    txns.push(etcd.kv.txn({ success: ops }));
    ops = [];
  };
  for (const [key, value] of entries) {
    ops.push({ request_put: { key: Buffer.from(key), value: Buffer.from(value) } });
    if (ops.length === 100) flushOps();
    if (txns.length === 8) await Promise.all(txns.splice(0));
  }
  flushOps();
  await Promise.all(txns);
}

function linearFor(i: number): Uint8Array {
  return linearModel({ weights: [1 + (i % 7), -2 + (i % 13), (i % 5) / 2], bias: i / 8 });
}

function versionRecord(model: string, version: string, artifact: { sha256: string; size: number }): VersionRecord {
  return {
    model,
    version,
    artifact,
    signature: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 3] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }] },
    createdAt: at,
    createdBy: 'bench',
    description: `version ${version} of ${model}`,
    labels: { team: 'bench' },
    expiresAfterSeconds: 0,
    samples: null,
    validation: { state: 'PASSED', reason: '', samples: 0, goldenRecorded: false, maxAbsDiff: 0, durationMs: 1, validatedAt: at },
  } as VersionRecord;
}

/** One ModelInfer of x = [[1, 2, 3]] through a plain grpc-js client; resolves false on any error. */
function inferer(address: string): { infer: (model: string) => Promise<boolean>; close: () => void } {
  const def = inferenceService().service['ModelInfer'] as grpc.MethodDefinition<object, object>;
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  const raw = encodeRaw(Float32Array.from([1, 2, 3]));
  const infer = (model: string): Promise<boolean> =>
    new Promise((resolve) => {
      const request = { model_name: model, model_version: '', inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 3] }], raw_input_contents: [raw] };
      client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, request, { deadline: Date.now() + 5000 }, (err) => resolve(!err));
    });
  return { infer, close: () => client.close() };
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

function figure(samples: number[]): LatencyFigure {
  const s = summarize(samples);
  return { p50Ms: round(s.p50Ms, 1), p99Ms: round(s.p99Ms, 1), n: samples.length };
}

export async function measureScale(o: ScaleOptions): Promise<ScaleResults> {
  const etcdProcess: EtcdProcess = await startEtcd();
  const dir = await makeTempDir('switchyard-bench-scale-');
  const keys = new KeyLayout('/scale/');
  const etcd = createEtcdClient({ endpoints: etcdProcess.endpoint });
  const cpLog = capturingLogger();
  let controlPlane: ControlPlane | undefined;
  let admin: AdminClient | undefined;
  let node: PredictionNode | undefined;
  const nodeEtcd = createEtcdClient({ endpoints: etcdProcess.endpoint });
  try {
    controlPlane = await ControlPlane.create({ etcd, keys, dataDir: join(dir, 'control-plane'), logger: cpLog.logger, auth: { disabled: true } });
    admin = AdminClient.connect(controlPlane.address, { callTimeoutMs: 60_000 });

    // The registry: routed models' artifacts uploaded for real, the records written straight into etcd.
    const seedStarted = performance.now();
    o.log(`  seeding ${o.models} models × ${o.versionsPerModel} versions, ${o.routed} routed`);
    const artifacts: { sha256: string; size: number }[] = [];
    for (let i = 0; i < o.routed; i += 16) {
      const batch = Array.from({ length: Math.min(16, o.routed - i) }, (_, j) => linearFor(i + j));
      const uploaded = await Promise.all(batch.map((bytes) => admin!.uploadBytes(bytes)));
      artifacts.push(...uploaded.map((u) => ({ sha256: u.sha256, size: Number(u.size) })));
    }
    const modelName = (m: number): string => `model-${String(m).padStart(5, '0')}`;
    const last = `v${o.versionsPerModel}`;
    await putMany(
      etcd,
      (function* () {
        for (let m = 0; m < o.models; m++) {
          const model = modelName(m);
          const record: ModelRecord = { name: model, owner: 'bench', description: '', defaultExpiresAfterSeconds: 0, createdAt: at, updatedAt: at };
          yield [keys.model(model), JSON.stringify(record)];
          const artifact = artifacts[m % artifacts.length]!;
          for (let v = 1; v <= o.versionsPerModel; v++) yield [keys.version(model, `v${v}`), JSON.stringify(versionRecord(model, `v${v}`, artifact))];
          if (m < o.routed) {
            const route: RouteRecord = { model, splits: [{ version: last, weight: 10_000 }], updatedAt: at, updatedBy: 'bench', shadows: [], rollout: null };
            yield [keys.route(model), JSON.stringify(route)];
          }
        }
      })(),
    );
    const seedSeconds = round((performance.now() - seedStarted) / 1000, 1);
    o.log(`  seeded in ${seedSeconds} s`);
    const routedModels = Array.from({ length: o.routed }, (_, m) => modelName(m));

    // The first start downloads every artifact; restarts then find them on disk, as a restarted process does.
    const startNode = (): Promise<PredictionNode> =>
      PredictionNode.create({ etcd: nodeEtcd, keys, id: 'node-1', dataDir: join(dir, 'node-1'), logger: silentLogger(), metricsListen: '127.0.0.1:0' });
    node = await startNode();
    await node.ready(600_000);
    o.log(`  first start (downloads): ready`);
    const restarts: ScaleResults['restarts'] = [];
    for (let r = 0; r < o.restarts; r++) {
      await node.stop(1000);
      node = undefined;
      const t0 = performance.now();
      const started = startNode();
      let firstServedMs = -1;
      // The first model to answer: poll the models in the node's table as they appear.
      const fresh = await started;
      node = fresh;
      const calls = inferer(fresh.address);
      const poll = (async () => {
        for (;;) {
          const loaded = fresh.table.routes.keys().next();
          if (!loaded.done && (await calls.infer(loaded.value))) return performance.now() - t0;
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
      })();
      firstServedMs = await poll;
      await fresh.ready(600_000);
      const failed: string[] = [];
      for (let i = 0; i < routedModels.length; i += 50) {
        const ok = await Promise.all(routedModels.slice(i, i + 50).map((m) => calls.infer(m)));
        ok.forEach((served, j) => served || failed.push(routedModels[i + j]!));
      }
      const allServedMs = performance.now() - t0;
      calls.close();
      if (failed.length > 0) throw new Error(`after the restart ${failed.length} routed models did not answer (${failed.slice(0, 3).join(', ')}, …)`);
      const loaded = [...fresh.table.versions.values()];
      const loadMsSum = loaded.reduce((s, v) => s + v.loadMs, 0);
      const sessionMsSum = loaded.reduce((s, v) => s + v.sessionMs, 0);
      restarts.push({
        firstServedMs: round(firstServedMs, 0),
        allServedMs: round(allServedMs, 0),
        loadMsSum: round(loadMsSum, 0),
        sessionMsSum: round(sessionMsSum, 0),
        overheadMs: round(allServedMs - sessionMsSum, 0),
      });
      o.log(`  restart ${r + 1}: first served ${round(firstServedMs, 0)} ms, all ${o.routed} served ${round(allServedMs, 0)} ms; sessions created and warmed ${round(sessionMsSum, 0)} ms in all`);
    }

    // /metrics with every routed version having answered (the restart checks above sent each one a request).
    const metricsText = await (await fetch(`http://${node!.metricsAddress}/metrics`)).text();
    const metrics = {
      bytes: Buffer.byteLength(metricsText),
      series: metricsText.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length,
      versionsWithTraffic: o.routed,
    };
    o.log(`  /metrics: ${metrics.bytes} bytes, ${metrics.series} series`);

    // Admin calls, interleaved so drift hits every figure alike.
    const adminCalls: Record<string, () => Promise<unknown>> = {
      'ListModels (page of 100)': () => admin!.listModels({ page_size: 100, page_token: '' }),
      'ListModels (page of 100, from the middle)': () =>
        admin!.listModels({ page_size: 100, page_token: Buffer.from(modelName(Math.floor(Math.random() * o.models)), 'utf8').toString('base64url') }),
      'ListVersions (one model)': () => admin!.listVersionsPage({ model: modelName(Math.floor(Math.random() * o.models)) }),
      'GetClusterStatus (summary, as status)': () => admin!.getClusterStatusPage({ summary_only: true }),
      'GetClusterStatus (first page)': () => admin!.getClusterStatusPage({}),
      'GetModelStatus (routed model)': () => admin!.getModelStatus(modelName(Math.floor(Math.random() * o.routed))),
    };
    const adminSamples = new Map(Object.keys(adminCalls).map((k) => [k, [] as number[]]));
    // The bench's process holds the control plane and the node: how long its event loop was held tells stalls from slow calls.
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    for (let i = 0; i < o.calls; i++) for (const [name, call] of Object.entries(adminCalls)) adminSamples.get(name)!.push(await time(call));
    loop.disable();
    const adminLoopDelay = { p99Ms: round(loop.percentile(99) / 1e6, 0), maxMs: round(loop.max / 1e6, 0) };
    o.log(`  event loop delay during the admin calls: p99 ${adminLoopDelay.p99Ms} ms, max ${adminLoopDelay.maxMs} ms`);
    const adminFigures = Object.fromEntries([...adminSamples].map(([k, v]) => [k, figure(v)]));
    for (const [k, f] of Object.entries(adminFigures)) o.log(`  ${k}: p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms`);

    // The CLI, whole processes: `status` against `--version` (the same start-up, no call).
    const cliBin = fileURLToPath(new URL('../../../cli/dist/src/main.js', import.meta.url));
    const cliStatus: number[] = [];
    const cliVersion: number[] = [];
    for (let i = 0; i < o.cliRuns; i++) {
      cliVersion.push(await time(() => run(process.execPath, [cliBin, '--version'])));
      cliStatus.push(await time(() => run(process.execPath, [cliBin, 'status', '--control-plane', controlPlane!.address], { maxBuffer: 64 * 1024 * 1024 })));
    }
    const cli = { status: figure(cliStatus), version: figure(cliVersion) };
    o.log(`  CLI status: p50 ${cli.status.p50Ms} ms, p99 ${cli.status.p99Ms} ms (--version: p50 ${cli.version.p50Ms} ms)`);

    const idleCpu = await measureChangeCpu(etcd, keys, o);
    o.log(`  CPU per unrelated change of target/: ${idleCpu.perChangeMs} ms (idle/idle noise floor ${idleCpu.noiseFloorMs} ms per change)`);

    const stepDowns = cpLog.records.filter((r) => /stepping down/.test(String(r['message'])));
    for (const r of stepDowns.slice(0, 3)) o.log(`  leader stepped down: ${String(r['message'])} ${String(r['error'] ?? '')}`);
    const leaderStepDowns = stepDowns.length;
    return { models: o.models, versions: o.models * o.versionsPerModel, routed: o.routed, seedSeconds, restarts, admin: adminFigures, adminLoopDelay, cli, idleCpu, metrics, leaderStepDowns };
  } finally {
    await node?.stop(1000).catch(() => undefined);
    nodeEtcd.close();
    admin?.close();
    await controlPlane?.stop().catch(() => undefined);
    etcd.close();
    await etcdProcess.destroy().catch(() => undefined);
    await removeDir(dir).catch(() => undefined);
  }
}

/**
 * CPU of this process (node, control plane) per change of `target/` that
 * touches no routed model: windows of `changes` writes 10 ms apart
 * (a description of an unrouted version rewritten) against idle windows of
 * the same length, interleaved; two idle windows side by side give the noise.
 */
async function measureChangeCpu(etcd: Etcd3, keys: KeyLayout, o: ScaleOptions): Promise<ScaleResults['idleCpu']> {
  const windows = 4;
  const gapMs = 10;
  const unrouted = `model-${String(o.models - 1).padStart(5, '0')}`;
  const cpuMs = async (work: () => Promise<void>): Promise<number> => {
    const before = process.cpuUsage();
    await work();
    // Let the last change's pass run.
    await new Promise((resolve) => setTimeout(resolve, 100));
    const used = process.cpuUsage(before);
    return (used.user + used.system) / 1000;
  };
  const idle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, o.changes * gapMs));
  const changes = async (): Promise<void> => {
    const artifact = { sha256: 'a'.repeat(64), size: 1 };
    for (let i = 0; i < o.changes; i++) {
      const record = { ...versionRecord(unrouted, 'v1', artifact), description: `change ${i}` };
      await etcd.put(keys.version(unrouted, 'v1')).value(JSON.stringify(record));
      await new Promise((resolve) => setTimeout(resolve, gapMs));
    }
  };
  const ab: number[] = [];
  const aa: number[] = [];
  for (let w = 0; w < windows; w++) {
    const idle1 = await cpuMs(idle);
    const changed = await cpuMs(changes);
    const idle2 = await cpuMs(idle);
    ab.push((changed - idle1) / o.changes);
    aa.push(Math.abs(idle2 - idle1) / o.changes);
  }
  const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return { perChangeMs: round(median(ab), 2), noiseFloorMs: round(median(aa), 2), changes: o.changes, windows };
}
