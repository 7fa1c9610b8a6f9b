import anyTest, { type TestFn } from 'ava';
import type { Etcd3 } from 'etcd3';
import type { ClusterStatusMessage, ListVersionsResponse } from '@switchyard/core';
import { cli, useCliCluster, type CliContext } from './helpers/cli-fixture.js';

const test = anyTest as TestFn<CliContext>;

useCliCluster(test, { nodes: 0 });

const at = '2026-12-06T00:00:00.000Z';
const MIB4 = 4 * 1024 * 1024;

async function putAll(client: Etcd3, entries: Iterable<[string, string]>): Promise<number> {
  let bytes = 0;
  let batch: Promise<unknown>[] = [];
  for (const [key, value] of entries) {
    bytes += value.length;
    batch.push(client.put(key).value(value).exec());
    if (batch.length === 500) {
      await Promise.all(batch);
      batch = [];
    }
  }
  await Promise.all(batch);
  return bytes;
}

// Answers past gRPC's 4 MiB message limit, written straight into etcd (the
// admin API and real nodes would take minutes to fill them): a node reporting
// 6,000 versions with long errors, and one model with 6,000 versions. Unpaged,
// GetClusterStatus and ListVersions were one message each and failed every
// time at the client (RESOURCE_EXHAUSTED … vs 4194304).
test.serial('past 4 MiB: GetClusterStatus and ListVersions page, and status, status --versions and versions list work', async (t) => {
  t.timeout(240_000);
  const { client, keys, admin } = t.context.cluster;
  const count = 6000;
  await client.put(keys.node('node-big')).value(JSON.stringify({ id: 'node-big', address: '127.0.0.1:1', metricsAddress: '127.0.0.1:2', buildVersion: '1', startedAt: at }));
  const error = `load failed: ${'e'.repeat(800)}`;
  const statusBytes = await putAll(
    client,
    Array.from({ length: count }, (_, i): [string, string] => [
      keys.status('node-big', `model-${i}`, 'v1'),
      JSON.stringify({ nodeId: 'node-big', model: `model-${i}`, version: 'v1', state: i % 10 === 0 ? 'LOADING' : 'FAILED', error: i % 10 === 0 ? '' : error, attempts: 1, updatedAt: at, loadMs: 3 }),
    ]),
  );
  const versionBytes = await putAll(client, [
    [keys.model('big'), JSON.stringify({ name: 'big', owner: '', description: '', defaultExpiresAfterSeconds: 0, createdAt: at, updatedAt: at })],
    ...Array.from({ length: count }, (_, i): [string, string] => [
      keys.version('big', `v${i + 1}`),
      JSON.stringify({
        model: 'big',
        version: `v${i + 1}`,
        artifact: { sha256: 'a'.repeat(64), size: 1 },
        signature: { inputs: [{ name: 'x', datatype: 'FP32', shape: [-1, 1] }], outputs: [{ name: 'y', datatype: 'FP32', shape: [-1, 1] }] },
        createdAt: at,
        createdBy: 'test',
        description: 'd'.repeat(700),
        labels: {},
        expiresAfterSeconds: 0,
        samples: null,
      }),
    ]),
  ]);
  t.true(statusBytes > MIB4 && versionBytes > MIB4, `${statusBytes} and ${versionBytes} bytes`);

  // The API: the summary is small, the detail comes in pages, each well under 4 MiB.
  const summary = await admin.getClusterStatusPage({ summary_only: true });
  t.deepEqual(summary.nodes.map((n) => n.counts), [{ total: count, ready: 0, loading: count / 10, failed: count - count / 10, other: 0 }]);
  t.true(JSON.stringify(summary).length < 100_000);
  let page: ClusterStatusMessage = await admin.getClusterStatusPage({ page_size: 5000 });
  let detail = 0;
  let pages = 0;
  for (;;) {
    pages++;
    t.true(JSON.stringify(page).length < MIB4 / 2);
    detail += page.nodes.reduce((n, node) => n + node.versions.length, 0);
    if (page.next_page_token === '') break;
    page = await admin.getClusterStatusPage({ page_size: 5000, page_token: page.next_page_token });
  }
  t.is(detail, count);
  t.true(pages > 1);
  const versions: ListVersionsResponse = await admin.listVersionsPage({ model: 'big' });
  t.true(versions.versions.length < count && versions.next_page_token !== '');
  t.deepEqual(versions.versions.slice(0, 3).map((v) => v.version), ['v1', 'v2', 'v3']);
  const all = await admin.listVersions('big');
  t.is(all.versions.length, count);
  t.is(new Set(all.versions.map((v) => v.version)).size, count);
  t.is(all.versions[count - 1]?.version, `v${count}`);

  // The CLI.
  const status = await cli(t, 'status');
  t.is(status.code, 0, status.stderr);
  t.regex(status.stdout, /node-big .*│ 6000 .*│ 0 .*│ 600 .*│ 5400 .*│ 0/);
  t.regex(status.stdout, /only its first 20 errors are listed/);
  const everything = await cli(t, 'status', '--versions', '-o', 'json');
  t.is(everything.code, 0, everything.stderr);
  t.is((JSON.parse(everything.stdout) as ClusterStatusMessage).nodes[0]?.versions.length, count);
  const firstPage = await cli(t, 'versions', 'list', 'big');
  t.is(firstPage.code, 0, firstPage.stderr);
  t.regex(firstPage.stdout, /more: --page-token \S+ \(or --all\)/);
  const listed = await cli(t, 'versions', 'list', 'big', '--all', '--page-size', '1000', '-o', 'json');
  t.is(listed.code, 0, listed.stderr);
  t.is((JSON.parse(listed.stdout) as ListVersionsResponse).versions.length, count);
});
