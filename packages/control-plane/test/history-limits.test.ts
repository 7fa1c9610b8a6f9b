import anyTest, { type TestFn } from 'ava';
import { RECORD_LIMITS, type ListHistoryResponse } from '@switchyard/core';
import { AUDIT_COMPACTION, compactRecord } from '../src/history-entries.js';
import { startControlPlane, unary, useEtcd } from './helpers/harness.js';

// The audit log must not fill etcd (issue #14): 43 updates with 480 KB
// descriptions filled a 64 MB quota. Entries keep records compacted, and a
// model keeps its newest entries only.

const test = anyTest as TestFn;
const etcd = useEtcd(test);

/** Bytes of every value under a prefix, read straight from etcd. */
async function storedBytes(prefix: string): Promise<{ count: number; bytes: number }> {
  const { kvs } = await etcd().client.getAll().prefix(prefix).exec();
  return { count: kvs.length, bytes: kvs.reduce((sum, kv) => sum + kv.value.byteLength, 0) };
}

test('updates with descriptions at their limit write small entries that still tell the change apart', async (t) => {
  const { admin, keys } = await startControlPlane(t, etcd().client);
  const description = (c: string): string => c.repeat(RECORD_LIMITS.descriptionBytes);
  await unary(admin, 'CreateModel', { name: 'm', description: description('a') });
  for (let i = 0; i < 43; i++) {
    await unary(admin, 'UpdateModel', { name: 'm', description: description(String.fromCharCode(98 + (i % 20))), update_mask: ['description'] });
  }
  const { count, bytes } = await storedBytes(keys.historyPrefix('m'));
  t.is(count, 44);
  // Whole records would be ≥ 8 KiB per update (two descriptions); compacted, under 1 KiB.
  t.true(bytes / count < 1024, `${bytes / count} bytes per entry`);
  t.log(`${count} entries, ${bytes} bytes (${Math.round(bytes / count)} per entry); whole records would hold ${2 * 43 * RECORD_LIMITS.descriptionBytes} bytes of descriptions`);

  const { entries } = await unary<ListHistoryResponse>(admin, 'ListHistory', { model: 'm', page_size: 1 });
  const newest = entries[0]!;
  const before = JSON.parse(newest.before_json) as { description: string; name: string };
  const after = JSON.parse(newest.after_json) as { description: string; name: string };
  t.is(after.name, 'm');
  t.regex(after.description, /^(.)\1{119}… \[4096 bytes, sha256 [0-9a-f]{16}\]$/);
  t.not(before.description, after.description, 'the change still shows');
});

test('a record is compacted field by field: long text, large fields, and whole records past the bound', (t) => {
  t.deepEqual(compactRecord({ a: 'short', n: 3, ok: true, none: null }), { a: 'short', n: 3, ok: true, none: null });
  const wide = { name: 'm', signature: { inputs: Array.from({ length: 200 }, (_, i) => ({ name: `x${i}`, shape: [-1, 1] })) } };
  const compacted = compactRecord(wide) as { name: string; signature: string };
  t.is(compacted.name, 'm');
  t.regex(compacted.signature, /^\[\d+ bytes of JSON, sha256 [0-9a-f]{16}\]$/);
  // Many fields each under fieldBytes, together past recordBytes: the record keeps only its size and hash.
  const fields = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`f${i}`, { list: Array.from({ length: 120 }, (_, j) => `item-${j}`) }]));
  t.regex(JSON.stringify(compactRecord(fields)), /^\{"compacted":"\[\d+ bytes of JSON, sha256 [0-9a-f]{16}\]"\}$/);
  t.is(compactRecord(null), null);
});

test('a model keeps its newest entries: at the limit the oldest are deleted, down to 90 % of it', async (t) => {
  const limit = 10;
  const { admin, keys } = await startControlPlane(t, etcd().client, { historyEntriesPerModel: limit });
  await unary(admin, 'CreateModel', { name: 'm', owner: 'owner-0' });
  for (let i = 1; i <= 2 * limit; i++) {
    await unary(admin, 'UpdateModel', { name: 'm', owner: `owner-${i}`, update_mask: ['owner'] });
    t.true((await storedBytes(keys.historyPrefix('m'))).count <= limit, `after update ${i}`);
  }
  const { entries } = await unary<ListHistoryResponse>(admin, 'ListHistory', { model: 'm', page_size: 100 });
  t.true(entries.length >= limit * 0.9 && entries.length <= limit, `${entries.length} entries`);
  const owners = entries.map((e) => (JSON.parse(e.after_json) as { owner: string }).owner);
  // Newest first, contiguous: the oldest (CreateModel and the first updates) were trimmed.
  t.deepEqual(owners, Array.from({ length: entries.length }, (_, i) => `owner-${2 * limit - i}`));
  t.false(entries.some((e) => e.action === 'CreateModel'));

  // Another model's log is its own.
  await unary(admin, 'CreateModel', { name: 'n' });
  t.is((await storedBytes(keys.historyPrefix('n'))).count, 1);
});
