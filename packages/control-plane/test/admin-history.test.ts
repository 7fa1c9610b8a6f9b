import anyTest, { type TestFn } from 'ava';
import { status } from '@grpc/grpc-js';
import type { HistoryEntryMessage, ListHistoryResponse, RouteMessage, VersionMessage } from '@switchyard/core';
import { linearModel } from '@switchyard/testkit';
import { encodePageToken } from '../src/index.js';
import { rejectsWithCode, startControlPlane, unary, upload, useEtcd } from './helpers/harness.js';

const test = anyTest as TestFn;
const etcd = useEtcd(test);

const parse = (json: string): unknown => (json === '' ? null : JSON.parse(json));

test('every change is in the history, newest first, with the records before and after', async (t) => {
  const { admin } = await startControlPlane(t, etcd().client);
  const { sha256 } = await upload(admin, linearModel({ weights: [1], bias: 0 }));
  const version = await unary<VersionMessage>(admin, 'CreateVersion', { model: 'm', artifact_sha256: sha256, description: 'first' });
  const route = await unary<RouteMessage>(admin, 'SetRoute', { model: 'm', splits: [{ version: 'v1', weight: 10000 }] });
  await unary(admin, 'UpdateModel', { name: 'm', owner: 'team-a', update_mask: ['owner'] });
  await unary(admin, 'SetRoute', { model: 'm', splits: [] });
  await unary(admin, 'DeleteVersion', { model: 'm', version: 'v1' });
  await unary(admin, 'DeleteModel', { name: 'm' });

  const { entries, next_page_token } = await unary<ListHistoryResponse>(admin, 'ListHistory', { model: 'm' });
  t.is(next_page_token, '');
  t.deepEqual(
    entries.map((e) => [e.action, e.model, e.version, e.actor]),
    [
      ['DeleteModel', 'm', '', 'anonymous'],
      ['DeleteVersion', 'm', 'v1', 'anonymous'],
      ['SetRoute', 'm', '', 'anonymous'],
      ['UpdateModel', 'm', '', 'anonymous'],
      ['SetRoute', 'm', '', 'anonymous'],
      ['CreateVersion', 'm', 'v1', 'anonymous'],
    ],
  );
  const [deleteModel, deleteVersion, emptyRoute, update, firstRoute, create] = entries as [HistoryEntryMessage, ...HistoryEntryMessage[]];
  t.like(parse(create!.after_json) as object, { model: 'm', version: 'v1', description: 'first', artifact: { sha256 } });
  t.is(create!.before_json, '');
  t.is(firstRoute!.before_json, '');
  t.like(parse(firstRoute!.after_json) as object, { model: 'm', splits: [{ version: 'v1', weight: 10000 }], updatedBy: 'anonymous' });
  t.like(parse(update!.before_json) as object, { name: 'm', owner: '' });
  t.like(parse(update!.after_json) as object, { name: 'm', owner: 'team-a' });
  t.like(parse(emptyRoute!.before_json) as object, { splits: [{ version: 'v1', weight: 10000 }] });
  t.like(parse(emptyRoute!.after_json) as object, { splits: [] });
  t.like(parse(deleteVersion!.before_json) as object, { version: 'v1', createdAt: version.created_at });
  t.is(deleteVersion!.after_json, '');
  t.like(parse(deleteModel.before_json) as object, { name: 'm', owner: 'team-a' });
  t.is(deleteModel.after_json, '');
  for (const entry of entries) t.false(Number.isNaN(Date.parse(entry.at)));
  t.true(entries.every((e, i) => i === 0 || e.at <= entries[i - 1]!.at));
  t.truthy(route);
});

test('a refused or lost change leaves no history entry', async (t) => {
  const { admin } = await startControlPlane(t, etcd().client);
  const { sha256 } = await upload(admin, linearModel({ weights: [1], bias: 0 }));
  await unary(admin, 'CreateVersion', { model: 'm', artifact_sha256: sha256 });
  const first = await unary<RouteMessage>(admin, 'SetRoute', { model: 'm', splits: [{ version: 'v1', weight: 10000 }] });
  await unary(admin, 'SetRoute', { model: 'm', splits: [{ version: 'v1', weight: 10000 }], expected_revision: first.revision });
  await rejectsWithCode(t, unary(admin, 'SetRoute', { model: 'm', splits: [{ version: 'v1', weight: 10000 }], expected_revision: first.revision }), status.ABORTED);
  await rejectsWithCode(t, unary(admin, 'DeleteModel', { name: 'm' }), status.FAILED_PRECONDITION);
  await rejectsWithCode(t, unary(admin, 'CreateVersion', { model: 'm', artifact_sha256: sha256, version: 'v1' }), status.ALREADY_EXISTS);
  const { entries } = await unary<ListHistoryResponse>(admin, 'ListHistory', { model: 'm' });
  t.deepEqual(entries.map((e) => e.action), ['SetRoute', 'SetRoute', 'CreateVersion']);
});

test('ListHistory pages newest first with an opaque token', async (t) => {
  const { admin } = await startControlPlane(t, etcd().client);
  await unary(admin, 'CreateModel', { name: 'm', description: 'd0' });
  for (let i = 1; i < 7; i++) await unary(admin, 'UpdateModel', { name: 'm', description: `d${i}`, update_mask: ['description'] });
  const pages: string[][] = [];
  let token = '';
  do {
    const page = await unary<ListHistoryResponse>(admin, 'ListHistory', { model: 'm', page_size: 3, page_token: token });
    pages.push(page.entries.map((e) => (parse(e.after_json) as { description: string }).description));
    token = page.next_page_token;
  } while (token !== '' && pages.length < 10);
  t.deepEqual(pages, [['d6', 'd5', 'd4'], ['d3', 'd2', 'd1'], ['d0']]);

  t.deepEqual(await unary<ListHistoryResponse>(admin, 'ListHistory', { model: 'never-existed' }), { entries: [], next_page_token: '' });
  await rejectsWithCode(t, unary(admin, 'ListHistory', { model: 'm', page_token: encodePageToken('m') }), status.INVALID_ARGUMENT, /not a token ListHistory returned/);
  await rejectsWithCode(t, unary(admin, 'ListHistory', { model: 'no such' }), status.INVALID_ARGUMENT);
  // Past the maximum page size the page is cut to it rather than refused.
  t.is((await unary<ListHistoryResponse>(admin, 'ListHistory', { model: 'm', page_size: 5000 })).entries.length, 7);
});
