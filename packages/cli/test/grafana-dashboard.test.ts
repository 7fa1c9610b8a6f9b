/**
 * deploy/grafana/switchyard-dashboard.json must only query metrics the code
 * exports: the names come from what a real prediction node (and the control
 * plane's process metrics) serve at /metrics, so renaming a metric without
 * the dashboard fails here.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { createEtcdClient } from '@switchyard/core/etcd';
import { silentLogger } from '@switchyard/core/logging';
import { ControlPlane } from '@switchyard/control-plane';
import { PredictionNode } from '@switchyard/prediction-node';
import { makeTempDir, removeDir, startEtcd } from '@switchyard/testkit';
import { serveProcessMetrics } from '../src/process-metrics.js';

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const DASHBOARD = join(REPO_ROOT, 'deploy', 'grafana', 'switchyard-dashboard.json');

interface Panel {
  id?: number;
  type: string;
  title?: string;
  datasource?: { uid?: string };
  gridPos?: { x: number; y: number; w: number; h: number };
  targets?: { expr?: string; datasource?: { uid?: string } }[];
  panels?: Panel[];
}

interface Dashboard {
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; type: string; query?: unknown; definition?: string }[] };
}

/** Every series name a Prometheus text exposition offers, from its `# TYPE` lines (histograms add _bucket, _sum, _count). */
function seriesNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const match = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (!match) continue;
    const [, name, type] = match as unknown as [string, string, string];
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(name + suffix);
  }
  return names;
}

async function exportedSeries(): Promise<Set<string>> {
  const etcd = await startEtcd();
  const dir = await makeTempDir('switchyard-dashboard-');
  const client = createEtcdClient({ endpoints: etcd.endpoint });
  let node: PredictionNode | undefined;
  let controlPlane: ControlPlane | undefined;
  let controlPlaneMetrics: Awaited<ReturnType<typeof serveProcessMetrics>> | undefined;
  try {
    node = await PredictionNode.create({
      etcd: client,
      dataDir: dir,
      logger: silentLogger(),
      metricsListen: '127.0.0.1:0',
      processMetrics: true,
      drainGraceMs: 0,
    });
    // What `switchyard control-plane --metrics-listen` serves: process metrics and the control plane's registries.
    controlPlane = await ControlPlane.create({ etcd: client, dataDir: join(dir, 'control-plane'), logger: silentLogger(), auth: { disabled: true } });
    controlPlaneMetrics = await serveProcessMetrics('127.0.0.1:0', { instance: 'test' }, controlPlane.metrics);
    const texts = await Promise.all(
      [node.metricsAddress!, controlPlaneMetrics.address].map(async (address) => (await fetch(`http://${address}/metrics`)).text()),
    );
    return new Set(texts.flatMap((text) => [...seriesNames(text)]));
  } finally {
    await node?.stop(1000);
    await controlPlane?.stop();
    await new Promise<void>((resolve) => (controlPlaneMetrics ? controlPlaneMetrics.server.close(() => resolve()) : resolve()));
    client.close();
    await etcd.destroy();
    await removeDir(dir);
  }
}

function allPanels(panels: Panel[]): Panel[] {
  return panels.flatMap((p) => [p, ...allPanels(p.panels ?? [])]);
}

/** Every PromQL string of the dashboard: panel targets and template variable queries. */
function queries(dashboard: Dashboard): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const panel of allPanels(dashboard.panels)) {
    for (const target of panel.targets ?? []) if (target.expr) out.push({ where: `panel '${panel.title}'`, expr: target.expr });
  }
  for (const variable of dashboard.templating.list) {
    if (variable.type !== 'query') continue;
    const query = typeof variable.query === 'string' ? variable.query : (variable.query as { query?: string } | undefined)?.query;
    if (query) out.push({ where: `variable '${variable.name}'`, expr: query });
  }
  return out;
}

test('every metric the Grafana dashboard queries is exported by the code', async (t) => {
  t.timeout(60_000);
  const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as Dashboard;
  const exported = await exportedSeries();
  t.true(exported.has('switchyard_requests_total'), 'the scrape found the node metrics');
  const used = queries(dashboard);
  t.true(used.length > 10);
  const unknown: string[] = [];
  const names = new Set<string>();
  for (const { where, expr } of used) {
    for (const [name] of expr.matchAll(/\bswitchyard_[a-z0-9_]+\b/g)) {
      names.add(name);
      if (!exported.has(name)) unknown.push(`${where}: ${name}`);
    }
  }
  t.deepEqual(unknown, [], `metrics not exported by any node or control plane: ${unknown.join('; ')}`);
  t.log(`${names.size} metric names in ${used.length} queries, all exported`);
});

test('the dashboard is well formed: unique panel ids, every query on the datasource variable, panels inside the 24-column grid', async (t) => {
  const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as Dashboard;
  t.is(dashboard.uid, 'switchyard');
  t.truthy(dashboard.templating.list.find((v) => v.name === 'datasource' && v.type === 'datasource'));
  const panels = allPanels(dashboard.panels);
  const ids = panels.map((p) => p.id);
  t.is(new Set(ids).size, ids.length, 'panel ids are unique');
  for (const panel of panels) {
    t.truthy(panel.gridPos, `panel '${panel.title}' has a position`);
    t.true(panel.gridPos!.x + panel.gridPos!.w <= 24, `panel '${panel.title}' fits the grid`);
    if (panel.type === 'row') continue;
    t.is(panel.datasource?.uid, '${datasource}', `panel '${panel.title}' uses the datasource variable`);
    for (const target of panel.targets ?? []) t.is(target.datasource?.uid, '${datasource}');
  }
});
