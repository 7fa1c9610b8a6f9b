import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AdminClient, UploadProgress } from '@switchyard/client';
import { SwitchyardError, type ModelStatusMessage, type RuntimeSettingsMessage, type ValidationMessage } from '@switchyard/core';
import { failedError, timeoutError, usageError } from './exit-codes.js';

/** Options for {@link deployModel}. */
export interface DeployOptions {
  admin: AdminClient;
  model: string;
  /** Path of the .onnx file. */
  file: string;
  /** Version name; empty or omitted for the next free "vN". */
  version?: string;
  /** Send all traffic to the new version and wait until it is READY everywhere. @default true */
  route?: boolean;
  /** How long to wait for READY. @default 60000 */
  timeoutMs?: number;
  /** GetModelStatus polling interval. @default 100 */
  pollMs?: number;
  /** The samples document (docs/samples.md) to validate the version with. @default none */
  samples?: Uint8Array;
  labels?: Record<string, string>;
  description?: string;
  /** Seconds until the version expires; 0 for the model's default. @default 0 */
  expiresAfterSeconds?: number;
  /** Runtime settings of the version (issue #17); absent: the model's. */
  runtime?: RuntimeSettingsMessage;
  /** Upload progress, e.g. for a progress bar. */
  onProgress?: UploadProgress;
  /**
   * Instead of routing traffic to the new version, make it a shadow of the
   * model's current route (AddShadow, auto) and wait until every node loaded it.
   */
  autoShadow?: { fraction: number; durationSeconds: number };
}

/** One node's state of the deployed version. */
export interface NodeReadiness {
  id: string;
  address: string;
  state: string;
  loadMs: number;
}

export interface DeployResult {
  model: string;
  version: string;
  sha256: string;
  size: number;
  /** True when the store already held these bytes. */
  existed: boolean;
  /** Deploy-time validation; null from a control plane that predates it. */
  validation: ValidationMessage | null;
  routed: boolean;
  nodes: NodeReadiness[];
  /** From the route change to READY on every node; null with route: false. */
  readyMs: number | null;
  /** With autoShadow: the shadow as added (until: RFC 3339, empty for no end). */
  shadow?: { fraction: number; until: string; primaries: string[] };
}

/**
 * The whole deploy: upload, create the version (the control plane validates
 * it), route all traffic to it and wait until every live node serves it.
 * Used by `deploy` and by `up`'s demo.
 * @throws CliError FAILED when validation REJECTED the version (with the reason).
 */
export async function deployModel(options: DeployOptions): Promise<DeployResult> {
  const { admin, model, file } = options;
  let size: number;
  try {
    const info = await stat(file);
    if (!info.isFile()) throw new Error('not a regular file');
    size = info.size;
  } catch (err) {
    throw usageError(`cannot read model file ${file}: ${(err as Error).message}`);
  }
  // The client hashes the file while sending it: one read, checked against what was stored.
  const uploaded = await step(`uploading ${file}`, () => admin.uploadArtifact(file, options.onProgress ? { onProgress: options.onProgress } : {}));
  const created = await step(`creating a version of ${model} from ${file}`, () =>
    admin.createVersion({
      model,
      artifact_sha256: uploaded.sha256,
      version: options.version ?? '',
      labels: options.labels ?? {},
      description: options.description ?? '',
      samples_json: options.samples ?? new Uint8Array(),
      expires_after_seconds: options.expiresAfterSeconds ?? 0,
      ...(options.runtime ? { runtime: options.runtime } : {}),
    }),
  );
  const result: DeployResult = {
    model,
    version: created.version,
    sha256: uploaded.sha256,
    size,
    existed: uploaded.existed,
    validation: created.validation,
    routed: false,
    nodes: [],
    readyMs: null,
  };
  // The control plane refuses to route a REJECTED version; say why now.
  if (created.validation?.state === 'REJECTED') {
    throw failedError(
      `${model}:${created.version} was REJECTED by deploy-time validation: ${created.validation.reason}. ` +
        `It is stored but cannot be routed; fix the model or its samples and deploy again`,
    );
  }
  // Nodes only load versions a route references, so without a route there is nothing to wait for.
  if (options.route === false) return result;
  if (options.autoShadow) return shadowNewVersion(admin, result, options.autoShadow, options.timeoutMs ?? 60_000, options.pollMs ?? 100);

  const started = Date.now();
  await step(`routing ${model} to ${created.version}`, () => admin.setRoute({ model, splits: [{ version: created.version, weight: 10_000 }] }));
  result.routed = true;
  result.nodes = await waitUntilReady(admin, model, created.version, options.timeoutMs ?? 60_000, options.pollMs ?? 100);
  result.readyMs = Date.now() - started;
  return result;
}

/**
 * Auto-shadow: the new version mirrors the current primaries' traffic
 * rather than taking any. Done here with AddShadow, after CreateVersion
 * returned PASSED, rather than inside CreateVersion: a control plane that
 * does not know shadows then fails the call (UNIMPLEMENTED) instead of
 * silently ignoring unknown request fields and leaving the version
 * unshadowed, and AddShadow's own checks and compare-and-swap apply.
 */
async function shadowNewVersion(
  admin: AdminClient,
  result: DeployResult,
  autoShadow: { fraction: number; durationSeconds: number },
  timeoutMs: number,
  pollMs: number,
): Promise<DeployResult> {
  const { model, version } = result;
  const started = Date.now();
  const list = await step(`making ${model}:${version} a shadow (it is created; retry with 'switchyard shadow add ${model} ${version}')`, () =>
    admin.addShadow({ model, version, fraction: autoShadow.fraction, duration_seconds: autoShadow.durationSeconds, auto: true }),
  );
  const route = await admin.getRoute(model);
  const added = list.shadows.find((s) => s.version === version);
  result.shadow = {
    fraction: added?.fraction ?? autoShadow.fraction,
    until: added?.until ?? '',
    primaries: route.splits.filter((s) => s.weight > 0).map((s) => s.version),
  };
  result.nodes = await waitUntilReady(admin, model, version, timeoutMs, pollMs);
  result.readyMs = Date.now() - started;
  return result;
}

/** Runs one step of the deploy; a refusal says which step, keeping the gRPC code for the exit code. */
async function step<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const error = SwitchyardError.from(err);
    throw new SwitchyardError(error.code, `${what} failed: ${error.rawMessage}`, { cause: err });
  }
}

/**
 * Polls until every node that should hold the version reports READY (at
 * least one node), any reports FAILED, or time runs out. Which nodes: the
 * copies of its placement (issue #16, docs/placement.md) once the placer
 * placed it, else every live node (nodes from before placement load every
 * routed version). A placement with no copy while nodes publish budgets
 * means the version cannot be placed: that fails at once, with the reason.
 */
async function waitUntilReady(admin: AdminClient, model: string, version: string, timeoutMs: number, pollMs: number): Promise<NodeReadiness[]> {
  const deadline = Date.now() + timeoutMs;
  let last: NodeReadiness[] = [];
  for (;;) {
    const status = await admin.getModelStatus(model);
    const placement = status.placements?.find((p) => p.version === version);
    const placed = new Set(placement?.copies.map((c) => c.node_id) ?? []);
    if (placement && placed.size === 0 && placement.wanted_copies > 0 && (await budgetsKnown(admin))) {
      throw failedError(
        `${model}:${version} cannot be placed: ${placement.reason || 'no node has room for it'}. ` +
          `It stays routed and loads on a node when a request for it arrives, if one has room then; ` +
          `see 'switchyard status' for each node's memory, free some (retire or unroute versions), or add a node`,
      );
    }
    if (placement && placed.size === 0 && placement.wanted_copies === 0) return [];
    last = readiness(status, version).filter((n) => placed.size === 0 || placed.has(n.id));
    const failed = last.filter((n) => n.state === 'FAILED');
    if (failed.length > 0) {
      const errors = failed.map((n) => `  ${n.id} (${n.address}): ${errorOf(status, n.id, version)}`).join('\n');
      throw failedError(
        `${model}:${version} FAILED to load on ${failed.length}/${last.length} nodes:\n${errors}\n` +
          `The version stays routed; fix the model and deploy again, or route back to a previous version.`,
      );
    }
    if (last.length > 0 && last.every((n) => n.state === 'READY')) return last;
    if (Date.now() >= deadline) {
      const states = last.length === 0 ? 'no live prediction node reported anything' : last.map((n) => `${n.id}=${n.state}`).join(', ');
      throw timeoutError(
        `${model}:${version} was not READY on every node within ${timeoutMs} ms (${states}); ` +
          `check 'switchyard status ${model}' and the node logs, or deploy with a longer --timeout`,
      );
    }
    await sleep(pollMs);
  }
}

/** Whether any live node publishes a memory budget, i.e. placement decides where versions load. */
async function budgetsKnown(admin: AdminClient): Promise<boolean> {
  const cluster = await admin.getClusterStatus();
  return cluster.nodes.some((n) => Number(n.node.memory_budget_bytes ?? 0) > 0);
}

function readiness(status: ModelStatusMessage, version: string): NodeReadiness[] {
  return status.nodes.map((node) => {
    const state = node.versions.find((v) => v.version === version);
    return { id: node.node_id, address: node.address, state: state?.state ?? 'PENDING', loadMs: Math.round(state?.load_ms ?? 0) };
  });
}

function errorOf(status: ModelStatusMessage, nodeId: string, version: string): string {
  const node = status.nodes.find((n) => n.node_id === nodeId);
  return node?.versions.find((v) => v.version === version)?.error || 'no error message reported';
}
