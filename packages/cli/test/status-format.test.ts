import test from 'ava';
import type { ClusterStatusMessage, ModelStatusMessage } from '@switchyard/core';
import { formatPlacementSettings } from '../src/commands/models.js';
import { formatClusterStatus, formatStatus } from '../src/commands/status.js';

/** Two nodes holding 1,000 versions each, a few LOADING and one FAILED. */
function bigCluster(): ClusterStatusMessage {
  const node = (id: string) => ({
    node: { node_id: id, address: `127.0.0.1:${id === 'node-1' ? 8001 : 8002}`, build_version: '0.1.0', started_at: '', metrics_address: '' },
    versions: Array.from({ length: 1000 }, (_, i) => ({
      model: `model-${String(i).padStart(4, '0')}`,
      state: {
        version: 'v1',
        state: i < 3 ? 'LOADING' : i === 999 && id === 'node-2' ? 'FAILED' : 'READY',
        error: i === 999 && id === 'node-2' ? 'load failed: bad file' : '',
        updated_at: '',
        load_ms: 12,
      },
    })),
    counts: null,
    errors: [],
  });
  return {
    nodes: [node('node-1'), node('node-2')],
    control_planes: [{ id: 'cp-1', address: '127.0.0.1:7000', started_at: '2026-12-06T00:00:00Z' }],
    next_page_token: '',
  };
}

test('the cluster summary has one row per node whatever the number of versions, counted by state', (t) => {
  const text = formatClusterStatus(bigCluster());
  const width = Math.max(...text.split('\n').map((l) => l.length));
  t.true(width <= 120, `widest line ${width} characters`);
  t.regex(text, /node-1 .*│ 1000 .*│ 997 .*│ 3 .*│ 0 .*│ 0/);
  t.regex(text, /node-2 .*│ 1000 .*│ 996 .*│ 3 .*│ 1 .*│ 0/);
  t.regex(text, /errors:\n {2}node-2 model-0999:v1 FAILED: load failed: bad file/);
  t.notRegex(text, /model-0001/);
});

test('--versions adds one line per node and version, still narrow', (t) => {
  const text = formatClusterStatus(bigCluster(), { versions: true });
  const width = Math.max(...text.split('\n').map((l) => l.length));
  t.true(width <= 120, `widest line ${width} characters`);
  t.is(text.split('\n').filter((l) => /│ model-\d{4} /.test(l)).length, 2000);
});

test('the summary page: counts and errors as the control plane sent them, without any version detail', (t) => {
  const cluster = bigCluster();
  const node = cluster.nodes[1]!;
  const failed = node.versions[999]!;
  const summary: ClusterStatusMessage = {
    ...cluster,
    nodes: [{ ...node, versions: [], counts: { total: 100_000, ready: 99_990, loading: 9, failed: 1, other: 0 }, errors: [failed] }],
  };
  const text = formatClusterStatus(summary);
  t.regex(text, /node-2 .*│ 100000 .*│ 99990 .*│ 9 .*│ 1 .*│ 0/);
  t.regex(text, /errors:\n {2}node-2 model-0999:v1 FAILED: load failed: bad file/);
});

test('each node shows its memory used of its budget; a node without a budget shows a dash', (t) => {
  const cluster = bigCluster();
  cluster.nodes[0]!.node = { ...cluster.nodes[0]!.node, memory_budget_bytes: String(1.5 * 1024 ** 3), memory_used_bytes: String(300 * 1024 ** 2) };
  const text = formatClusterStatus(cluster);
  t.regex(text, /node-1 .*│ 300\.0 MiB of 1\.50 GiB │ 1000 /);
  t.regex(text, /node-2 .*│ - +│ 1000 /);
  const width = Math.max(...text.split('\n').map((l) => l.length));
  t.true(width <= 120, `widest line ${width} characters`);
});

test("a model's status lists where each version's copies are, what one costs, and why fewer than wanted", (t) => {
  const status: ModelStatusMessage = {
    model: 'm',
    route: null,
    nodes: [{ node_id: 'n1', address: 'a:1', build_version: '', versions: [{ version: 'v1', state: 'READY', error: '', updated_at: '', load_ms: 40, memory_bytes: String(31 * 1024 ** 2) }] }],
    placements: [
      { version: 'v1', copies: [{ node_id: 'n1', since: '' }], wanted_copies: 1, estimated_bytes: String(31 * 1024 ** 2), reason: '', updated_at: '' },
      { version: 'v2', copies: [], wanted_copies: 1, estimated_bytes: String(45 * 1024 ** 2), reason: '0 of 1 wanted copy placed: the nodes are full', updated_at: '' },
    ],
  };
  const text = formatStatus(status);
  t.regex(text, /n1 .*│ v1 .*│ READY .*│ 40 .*│ 31\.0 MiB/);
  t.regex(text, /placement \(docs\/placement\.md\):/);
  t.regex(text, /v1 .*│ n1 .*│ 1 .*│ 31\.0 MiB/);
  t.regex(text, /v2 .*│ none \(loads on its next request\) .*│ 1 .*│ 45\.0 MiB .*│ 0 of 1 wanted copy placed: the nodes are full/);
});

test('placement settings read as words', (t) => {
  t.is(formatPlacementSettings(undefined), '1 copy, up to one per node under load');
  t.is(formatPlacementSettings({ min_copies: 2, max_copies: 4, always_resident: true }), '2 copies, up to 4 under load, always resident');
  t.is(formatPlacementSettings({ min_copies: 0, max_copies: 0, always_resident: false }), 'no copy until a request, up to one per node under load');
  t.is(formatPlacementSettings({ min_copies: 0, max_copies: 3, always_resident: true }), '1 copy, up to 3 under load, always resident');
});

test('each node shows its REST address, or a dash when it serves none', (t) => {
  const cluster = bigCluster();
  cluster.nodes[0]!.node.http_address = '127.0.0.1:41203';
  const text = formatClusterStatus(cluster);
  t.regex(text, /REST/);
  t.regex(text, /node-1 .*│ 127\.0\.0\.1:8001 .*│ 127\.0\.0\.1:41203 /);
  t.regex(text, /node-2 .*│ 127\.0\.0\.1:8002 .*│ - /);
  t.true(Math.max(...text.split('\n').map((l) => l.length)) <= 120);
});

test('a draining node says so beside its id', (t) => {
  const cluster = bigCluster();
  cluster.nodes[0]!.node.draining = true;
  const text = formatClusterStatus(cluster);
  t.regex(text, /node-1 \(draining\) .*│ 1000 /);
  t.regex(text, /│ node-2 +│/);
  t.true(Math.max(...text.split('\n').map((l) => l.length)) <= 120);
});
