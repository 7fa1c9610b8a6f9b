import { readRangePaged } from '@switchyard/core/etcd';
import type { Etcd3, IKeyValue } from 'etcd3';
import type { KeyLayout } from '@switchyard/core';
import type { TargetStateBuilder } from './target-state.js';

/** Version keys read in one transaction (etcd allows 128 operations in one). */
const GETS_PER_TXN = 100;

/**
 * The first read of the target state, of what serving needs: every key of
 * `target/` but the versions, then the versions a route names (split or
 * shadow), all at one revision. A registry of 100,000 versions is about
 * 60 MB in etcd, and reading it all took a fresh node 5 s before its first
 * load; the rest of the versions follow with {@link readAllVersions}.
 * @returns the revision read at: watch from the next one.
 */
export async function readServingState(etcd: Etcd3, keys: KeyLayout, builder: TargetStateBuilder): Promise<string> {
  const target = keys.targetPrefix();
  const versions = keys.versionsPrefix();
  const before = await readRangePaged(etcd, { start: target, end: versions });
  const revision = before.revision;
  const after = await readRangePaged(etcd, { start: afterPrefix(versions), end: afterPrefix(target) }, { revision });
  for (const kv of [...before.kvs, ...after.kvs]) builder.apply(kv.key.toString(), kv.value.toString());

  const named = new Set<string>();
  for (const route of builder.snapshot(Number(revision)).routes.values()) {
    for (const version of [...route.splits.map((s) => s.version), ...route.shadows.map((s) => s.version)]) named.add(keys.version(route.model, version));
  }
  const wanted = [...named];
  for (let i = 0; i < wanted.length; i += GETS_PER_TXN) {
    const batch = wanted.slice(i, i + GETS_PER_TXN);
    const result = await etcd.kv.txn({ success: batch.map((key) => ({ request_range: { key: Buffer.from(key), revision } })) });
    for (const response of result.responses) {
      const kv = response.response_range?.kvs[0] as IKeyValue | undefined;
      if (kv) builder.apply(kv.key.toString(), kv.value.toString());
    }
  }
  return revision;
}

/** Every version key at `revision`, in pages. */
export async function readAllVersions(etcd: Etcd3, keys: KeyLayout, revision: string): Promise<IKeyValue[]> {
  return (await readRangePaged(etcd, { prefix: keys.versionsPrefix() }, { revision })).kvs;
}

/** The first key after every key under `prefix` (which ends with '/'). */
function afterPrefix(prefix: string): string {
  return `${prefix.slice(0, -1)}0`;
}
