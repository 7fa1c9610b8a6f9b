// Target state written straight to etcd, for tests that exercise one component without the admin API.
import type { Etcd3 } from 'etcd3';
import type { Clock, KeyLayout, ModelRecord, RouteRecord, VersionRecord } from '@switchyard/core';

/** A clock the test moves by setting `ms`; sleep() is real time, as leader-only components pace themselves with it. */
export class ManualClock implements Clock {
  constructor(public ms: number) {}
  now(): number {
    return this.ms;
  }
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}

/** A version of `model` taking x [-1, width] to y [-1, 1] (FP32), created at `createdAt`. */
export function versionRecord(model: string, name: string, options: { sha256?: string; width?: number; createdAt: string }): VersionRecord {
  return {
    model,
    version: name,
    artifact: { sha256: options.sha256 ?? 'a'.repeat(64), size: 1 },
    signature: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, options.width ?? 1] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }] },
    createdAt: options.createdAt,
    createdBy: 'test',
    description: '',
    labels: {},
    expiresAfterSeconds: 0,
    samples: null,
  };
}

/** Writes `model`'s record, a route giving `routed` all the weight, and `versions`. */
export async function seedModel(
  client: Etcd3,
  keys: KeyLayout,
  seed: { model: string; owner?: string; routed: string; versions: VersionRecord[]; at: string },
): Promise<void> {
  const { model, at } = seed;
  const record: ModelRecord = { name: model, owner: seed.owner ?? '', description: '', defaultExpiresAfterSeconds: 0, createdAt: at, updatedAt: at };
  const route: RouteRecord = { model, splits: [{ version: seed.routed, weight: 10_000 }], updatedAt: at, updatedBy: 'test', shadows: [], rollout: null };
  await client.put(keys.model(model)).value(JSON.stringify(record));
  await client.put(keys.route(model)).value(JSON.stringify(route));
  for (const v of seed.versions) await client.put(keys.version(model, v.version)).value(JSON.stringify(v));
}
