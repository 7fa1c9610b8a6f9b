import anyTest, { type TestFn } from 'ava';
import { status } from '@grpc/grpc-js';
import { GrpcStatus, RECORD_LIMITS, SwitchyardError, type ModelMessage, type ModelRecord } from '@switchyard/core';
import { linearModel } from '@switchyard/testkit';
import { EtcdTables } from '../src/etcd-tables.js';
import { historyEntry } from '../src/index.js';
import { capturingLogger, freshKeys, rejectsWithCode, startControlPlane, unary, upload, useEtcd } from './helpers/harness.js';
import { versionRecord } from './helpers/seed.js';

// A deployer's free text and labels are bounded (issue #14): past a limit the
// request is refused, naming the field and the limit, before etcd is called,
// so it cannot trip the control plane's etcd circuit breaker for everyone.

const test = anyTest as TestFn;
const etcd = useEtcd(test);

const at = '2026-12-01T00:00:00.000Z';

test('a 1.6 MB description: INVALID_ARGUMENT naming the field and its limit, and the next caller is served at once', async (t) => {
  const { admin, keys } = await startControlPlane(t, etcd().client);
  await unary(admin, 'CreateModel', { name: 'm', description: 'small' });
  const huge = 'x'.repeat(1_600_000);
  await rejectsWithCode(
    t,
    unary(admin, 'UpdateModel', { name: 'm', description: huge, update_mask: ['description'] }),
    status.INVALID_ARGUMENT,
    new RegExp(`description is 1600000 bytes; at most ${RECORD_LIMITS.descriptionBytes} bytes`),
  );
  await rejectsWithCode(t, unary(admin, 'CreateModel', { name: 'n', description: huge }), status.INVALID_ARGUMENT, /description is 1600000 bytes/);
  // Another caller, right after: served, not told that etcd is unreachable.
  for (let i = 0; i < 5; i++) await unary<ModelMessage>(admin, 'CreateModel', { name: `other-${i}`, description: 'fine' });
  const m = await unary<ModelMessage>(admin, 'GetModel', { name: 'm' });
  t.is(m.description, 'small');
  t.is((await etcd().client.get(keys.model('n')).exec()).kvs.length, 0);
});

test('owner, description and labels at their limits are stored; one byte more is refused naming the field', async (t) => {
  const { admin } = await startControlPlane(t, etcd().client);
  const owner = 'o'.repeat(RECORD_LIMITS.ownerBytes);
  // Multi-byte characters count as bytes: 2 bytes each.
  const description = 'é'.repeat(RECORD_LIMITS.descriptionBytes / 2);
  await unary(admin, 'CreateModel', { name: 'm', owner, description });
  await rejectsWithCode(t, unary(admin, 'CreateModel', { name: 'n', owner: `${owner}o` }), status.INVALID_ARGUMENT, /owner is 257 bytes; at most 256/);
  await rejectsWithCode(
    t,
    unary(admin, 'UpdateModel', { name: 'm', description: `${description}x`, update_mask: ['description'] }),
    status.INVALID_ARGUMENT,
    /description is 4097 bytes; at most 4096/,
  );
  // Only the masked fields are checked: a huge owner left out of the mask changes nothing and is not refused.
  await unary(admin, 'UpdateModel', { name: 'm', owner: 'x'.repeat(10_000), description: 'short', update_mask: ['description'] });

  const { sha256 } = await upload(admin, linearModel({ weights: [2], bias: 1 }));
  const create = (fields: object): Promise<unknown> => unary(admin, 'CreateVersion', { model: 'm', artifact_sha256: sha256, ...fields });
  const labels = Object.fromEntries(Array.from({ length: RECORD_LIMITS.labelCount }, (_, i) => [`k${i}`, 'v'.repeat(RECORD_LIMITS.labelValueBytes)]));
  await create({ labels, description });
  await rejectsWithCode(t, create({ description: `${description}x` }), status.INVALID_ARGUMENT, /description is 4097 bytes/);
  await rejectsWithCode(t, create({ labels: { ...labels, extra: '' } }), status.INVALID_ARGUMENT, /labels has 65 entries; at most 64/);
  await rejectsWithCode(t, create({ labels: { ['k'.repeat(129)]: 'v' } }), status.INVALID_ARGUMENT, /label key 'k+…' is 129 bytes; at most 128/);
  await rejectsWithCode(t, create({ labels: { team: 'v'.repeat(257) } }), status.INVALID_ARGUMENT, /label 'team' has a value of 257 bytes; at most 256/);
  await rejectsWithCode(t, create({ labels: { '': 'v' } }), status.INVALID_ARGUMENT, /empty key/);
  // Stored, it would be dropped on every read (issue #14): refused instead.
  await rejectsWithCode(t, create({ labels: JSON.parse('{"__proto__":"x","team":"ml"}') as Record<string, string> }), status.INVALID_ARGUMENT, /label key '__proto__' is reserved/);
  t.deepEqual((await unary<{ versions: unknown[] }>(admin, 'ListVersions', { model: 'm' })).versions.length, 1);
});

test('the guarded write refuses an oversized record itself (INVALID_ARGUMENT), but lets a rewrite keep what was stored before the limits', async (t) => {
  const s = new EtcdTables({ etcd: etcd().client, keys: freshKeys(), logger: capturingLogger().logger });
  const entry = (model: string) => historyEntry({ at, actor: 'test', action: 'Test', model, before: null, after: null });
  const model = (name: string, description: string): ModelRecord => ({ name, owner: '', description, defaultExpiresAfterSeconds: 0, createdAt: at, updatedAt: at });
  const err = await t.throwsAsync(s.models.create(model('m', 'x'.repeat(5000)), entry('m')), { instanceOf: SwitchyardError });
  t.is(err?.code, GrpcStatus.INVALID_ARGUMENT);
  t.regex(err?.message ?? '', /description is 5000 bytes.*nothing was written/);

  // A version with a huge signature: the whole record is bounded.
  const wide = versionRecord('m', 'v1', { createdAt: at });
  wide.signature.inputs = Array.from({ length: 5000 }, (_, i) => ({ name: `input-${i}-${'n'.repeat(40)}`, datatype: 'FP32' as const, shape: [-1, 1] }));
  const tooWide = await t.throwsAsync(s.versions.create(wide, { create: model('m', '') }, entry('m')), { instanceOf: SwitchyardError });
  t.is(tooWide?.code, GrpcStatus.INVALID_ARGUMENT);
  t.regex(tooWide?.message ?? '', /version record would be \d+ bytes; at most 262144/);

  // Stored before the limits existed (written behind the layer's back); a rewrite that keeps the description applies.
  const old = { ...versionRecord('m', 'v1', { createdAt: at }), description: 'd'.repeat(100_000) };
  await etcd().client.put(s.keys.version('m', 'v1')).value(JSON.stringify(old));
  const stored = await s.versions.get('m', 'v1');
  if (!stored) return t.fail('the version was not read back');
  const pinned = { ...stored.value, pinned: true };
  const outcome = await s.versions.stage(s.write(), stored, pinned).audit(entry('m')).commit();
  t.is(outcome.status, 'written');
  // Changing the oversized field itself is still refused.
  const again = await s.versions.get('m', 'v1');
  if (!again) return t.fail('the version was not read back');
  const refused = await s.versions.stage(s.write(), again, { ...again.value, description: `${again.value.description}!` }).audit(entry('m')).commit();
  t.like(refused, { status: 'refused', limit: true });
});
