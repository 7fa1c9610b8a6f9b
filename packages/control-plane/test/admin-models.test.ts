import anyTest, { type TestFn } from 'ava';
import { status } from '@grpc/grpc-js';
import type { ListHistoryResponse, ListModelsResponse, ModelMessage, RouteMessage } from '@switchyard/core';
import { linearModel } from '@switchyard/testkit';
import { encodePageToken } from '../src/index.js';
import { rejectsWithCode, startControlPlane, unary, upload, useEtcd } from './helpers/harness.js';

const test = anyTest as TestFn;
const etcd = useEtcd(test);

test('CreateModel stores the model and GetModel returns it with its versions, v2 before v10', async (t) => {
  const { admin, keys } = await startControlPlane(t, etcd().client);
  const created = await unary<ModelMessage>(admin, 'CreateModel', { name: 'iris', owner: 'ml-team', description: 'flowers', default_expires_after_seconds: 3600 });
  t.like(created, { name: 'iris', owner: 'ml-team', description: 'flowers', default_expires_after_seconds: '3600', versions: [] });
  t.is(created.created_at, created.updated_at);
  const kv = (await etcd().client.get(keys.model('iris')).exec()).kvs[0];
  t.is(String(created.revision), kv?.mod_revision ?? 'no model key');
  t.like(JSON.parse(kv?.value.toString() ?? '{}') as object, { name: 'iris', owner: 'ml-team', defaultExpiresAfterSeconds: 3600 });

  const { sha256 } = await upload(admin, linearModel({ weights: [1], bias: 0 }));
  await unary(admin, 'CreateVersion', { model: 'iris', artifact_sha256: sha256, version: 'v10' });
  await unary(admin, 'CreateVersion', { model: 'iris', artifact_sha256: sha256, version: 'v2' });
  const got = await unary<ModelMessage>(admin, 'GetModel', { name: 'iris' });
  t.deepEqual(got.versions, ['v2', 'v10']);
  t.is(got.revision, created.revision, 'creating versions does not change the model record');
});

test('CreateModel refuses a taken name, a bad name and a negative default expiration', async (t) => {
  const { admin } = await startControlPlane(t, etcd().client);
  await unary(admin, 'CreateModel', { name: 'm' });
  await rejectsWithCode(t, unary(admin, 'CreateModel', { name: 'm' }), status.ALREADY_EXISTS, /model m already exists; change it with UpdateModel/);
  await rejectsWithCode(t, unary(admin, 'CreateModel', { name: 'Bad Name' }), status.INVALID_ARGUMENT, /model name 'Bad Name' is not allowed/);
  await rejectsWithCode(t, unary(admin, 'CreateModel', { name: '' }), status.INVALID_ARGUMENT, /is required/);
  await rejectsWithCode(t, unary(admin, 'CreateModel', { name: 'n', default_expires_after_seconds: -5 }), status.INVALID_ARGUMENT, /default_expires_after_seconds is -5/);
  await rejectsWithCode(t, unary(admin, 'GetModel', { name: 'n' }), status.NOT_FOUND, /does not exist; list models with ListModels, or create it with CreateModel/);
});

test('ListModels pages through models in name order with a filter, three pages', async (t) => {
  const { admin } = await startControlPlane(t, etcd().client);
  // Seven matching models among others, created out of order.
  const names = ['fraud-7', 'alpha', 'fraud-1', 'fraud-3', 'zeta', 'fraud-2', 'fraud-6', 'beta-fraud', 'fraud-5', 'other', 'fraud-4'];
  for (const name of names) await unary(admin, 'CreateModel', { name });

  const seen: string[][] = [];
  let token = '';
  do {
    const page = await unary<ListModelsResponse>(admin, 'ListModels', { page_size: 3, page_token: token, name_filter: 'fraud' });
    seen.push(page.models.map((m) => m.name));
    token = page.next_page_token;
  } while (token !== '' && seen.length < 10);
  t.deepEqual(seen, [
    ['beta-fraud', 'fraud-1', 'fraud-2'],
    ['fraud-3', 'fraud-4', 'fraud-5'],
    ['fraud-6', 'fraud-7'],
  ]);

  const all = await unary<ListModelsResponse>(admin, 'ListModels', {});
  t.deepEqual(all.models.map((m) => m.name), [...names].sort());
  t.is(all.next_page_token, '', 'the default page size holds them all');

  // A page that ends exactly at the last model has no next page.
  const exact = await unary<ListModelsResponse>(admin, 'ListModels', { page_size: 11 });
  t.is(exact.models.length, 11);
  t.is(exact.next_page_token, '');
  const none = await unary<ListModelsResponse>(admin, 'ListModels', { name_filter: 'nothing-matches' });
  t.deepEqual(none, { models: [], next_page_token: '' });
});

test('ListModels refuses a page token it did not hand out', async (t) => {
  const { admin } = await startControlPlane(t, etcd().client);
  for (const token of ['not base64!', encodePageToken('Not A Name'), 'YWJj=']) {
    await rejectsWithCode(t, unary(admin, 'ListModels', { page_token: token }), status.INVALID_ARGUMENT, /page_token .* is not a token ListModels returned/);
  }
  // A token for a model deleted in between still resumes after its name.
  await unary(admin, 'CreateModel', { name: 'b' });
  const page = await unary<ListModelsResponse>(admin, 'ListModels', { page_token: encodePageToken('a') });
  t.deepEqual(page.models.map((m) => m.name), ['b']);
});

test('ListModels skips an invalid stored model and logs it', async (t) => {
  const { admin, keys, logs } = await startControlPlane(t, etcd().client);
  await unary(admin, 'CreateModel', { name: 'a' });
  await etcd().client.put(keys.model('b')).value('{"name":"b"}');
  await unary(admin, 'CreateModel', { name: 'c' });
  const page = await unary<ListModelsResponse>(admin, 'ListModels', { page_size: 1, page_token: encodePageToken('a') });
  t.deepEqual(page.models.map((m) => m.name), ['c']);
  t.true(logs.some((r) => r['level'] === 'warn' && r['key'] === keys.model('b')));
});

test('UpdateModel changes only the masked fields, and a stale expected_revision is ABORTED', async (t) => {
  const { admin } = await startControlPlane(t, etcd().client);
  const created = await unary<ModelMessage>(admin, 'CreateModel', { name: 'm', owner: 'alice', description: 'first' });
  const updated = await unary<ModelMessage>(admin, 'UpdateModel', {
    name: 'm',
    owner: 'bob',
    description: 'ignored: not in the mask',
    default_expires_after_seconds: 60,
    update_mask: ['owner', 'default_expires_after_seconds'],
    expected_revision: created.revision,
  });
  t.like(updated, { name: 'm', owner: 'bob', description: 'first', default_expires_after_seconds: '60', created_at: created.created_at });
  t.true(BigInt(updated.revision) > BigInt(created.revision));
  t.deepEqual(await unary<ModelMessage>(admin, 'GetModel', { name: 'm' }), updated);

  await rejectsWithCode(
    t,
    unary(admin, 'UpdateModel', { name: 'm', description: 'late', update_mask: ['description'], expected_revision: created.revision }),
    status.ABORTED,
    /model m changed since you read it; re-read it with GetModel and retry/,
  );
  t.is((await unary<ModelMessage>(admin, 'GetModel', { name: 'm' })).description, 'first');
  // Unconditional.
  t.is((await unary<ModelMessage>(admin, 'UpdateModel', { name: 'm', description: 'second', update_mask: ['description'] })).description, 'second');
});

test('UpdateModel refuses an unknown or empty mask, a negative expiration and a missing model', async (t) => {
  const { admin } = await startControlPlane(t, etcd().client);
  await unary(admin, 'CreateModel', { name: 'm' });
  await rejectsWithCode(t, unary(admin, 'UpdateModel', { name: 'm', update_mask: ['name'] }), status.INVALID_ARGUMENT, /'name', which UpdateModel cannot change; use owner, description, default_expires_after_seconds/);
  await rejectsWithCode(t, unary(admin, 'UpdateModel', { name: 'm', update_mask: [] }), status.INVALID_ARGUMENT, /update_mask is empty/);
  await rejectsWithCode(
    t,
    unary(admin, 'UpdateModel', { name: 'm', default_expires_after_seconds: -1, update_mask: ['default_expires_after_seconds'] }),
    status.INVALID_ARGUMENT,
    /default_expires_after_seconds is -1/,
  );
  await rejectsWithCode(t, unary(admin, 'UpdateModel', { name: 'ghost', owner: 'x', update_mask: ['owner'] }), status.NOT_FOUND, /ghost/);
});

test('DeleteModel is refused while the route carries traffic, then removes model, versions and route but keeps the history', async (t) => {
  const { admin, keys, cp } = await startControlPlane(t, etcd().client);
  const { sha256 } = await upload(admin, linearModel({ weights: [1], bias: 0 }));
  await unary(admin, 'CreateVersion', { model: 'm', artifact_sha256: sha256 });
  await unary(admin, 'CreateVersion', { model: 'm', artifact_sha256: sha256 });
  await unary(admin, 'CreateVersion', { model: 'other', artifact_sha256: sha256 });
  await unary(admin, 'SetRoute', { model: 'm', splits: [{ version: 'v1', weight: 7000 }, { version: 'v2', weight: 3000 }] });

  await rejectsWithCode(
    t,
    unary(admin, 'DeleteModel', { name: 'm' }),
    status.FAILED_PRECONDITION,
    /model m still routes traffic to v1 \(weight 7000\), v2 \(weight 3000\); move its traffic away first with SetRoute/,
  );
  t.truthy(await etcd().client.get(keys.model('m')).string());

  await unary<RouteMessage>(admin, 'SetRoute', { model: 'm', splits: [] });
  await unary(admin, 'DeleteModel', { name: 'm' });
  const client = etcd().client;
  t.is(await client.get(keys.model('m')).string(), null);
  t.is(await client.get(keys.route('m')).string(), null);
  t.deepEqual(await client.getAll().prefix(keys.versionsPrefix('m')).keys(), []);
  t.truthy(await client.get(keys.model('other')).string(), 'other models are untouched');
  t.truthy(await client.get(keys.version('other', 'v1')).string());
  t.true(await cp.artifacts.has(sha256), 'artifacts stay in the store');
  await rejectsWithCode(t, unary(admin, 'GetModel', { name: 'm' }), status.NOT_FOUND);
  await rejectsWithCode(t, unary(admin, 'DeleteModel', { name: 'm' }), status.NOT_FOUND);

  const history = await unary<ListHistoryResponse>(admin, 'ListHistory', { model: 'm' });
  t.deepEqual(
    history.entries.map((e) => e.action),
    ['DeleteModel', 'SetRoute', 'SetRoute', 'CreateVersion', 'CreateVersion'],
  );

  // The name can be used again, and starts over at v1.
  t.is((await unary<{ version: string }>(admin, 'CreateVersion', { model: 'm', artifact_sha256: sha256 })).version, 'v1');
});

test('DeleteModel of a model without versions or route, and of a bad name', async (t) => {
  const { admin, keys } = await startControlPlane(t, etcd().client);
  await unary(admin, 'CreateModel', { name: 'empty' });
  await unary(admin, 'DeleteModel', { name: 'empty' });
  t.is(await etcd().client.get(keys.model('empty')).string(), null);
  await rejectsWithCode(t, unary(admin, 'DeleteModel', { name: 'bad!' }), status.INVALID_ARGUMENT);
});
