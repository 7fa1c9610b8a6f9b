import { useRef } from 'preact/hooks';
import { admin, consoleInfo, nodeRates, usePoll } from '../api.js';
import type { ClusterStatus, Model, Route } from '../admin-types.js';
import { bytes, percent, primaryOf, rate, relative } from '../format.js';
import { ErrorBox, Loading } from '../ui.js';

interface OverviewData {
  status: ClusterStatus;
  models: { model: Model; route: Route | undefined }[];
  rates: Awaited<ReturnType<typeof nodeRates>>;
  console: { controlPlaneId: string; leader: boolean };
}

async function loadOverview(): Promise<OverviewData> {
  const [status, list, rates, console] = await Promise.all([
    // One page: every node's summary and memory, and the first node × version states, which a small
    // cluster shows whole; a node with more than BADGES_PER_NODE versions shows counts instead.
    admin<ClusterStatus>('GetClusterStatus', { page_size: 200 }),
    admin<{ models: Model[] }>('ListModels', { page_size: 1000 }),
    nodeRates(),
    consoleInfo(),
  ]);
  const models = await Promise.all(
    list.models.map(async (model) => ({ model, route: await admin<Route>('GetRoute', { model: model.name }).catch(() => undefined) })),
  );
  return { status, models, rates, console };
}

/** Past this many versions on a node, the overview counts them by state instead of naming each. */
const BADGES_PER_NODE = 12;

/** Used of budget, e.g. "412 MiB of 1.5 GiB (27%)"; a node from before budgets shows what it holds only. */
function memoryCell(node: ClusterStatus['nodes'][number]['node']) {
  const budget = Number(node.memory_budget_bytes ?? 0);
  const used = Number(node.memory_used_bytes ?? 0);
  const title = `resident set ${bytes(node.memory_rss_bytes)}; ${node.evictions ?? '0'} eviction(s) since start`;
  if (budget <= 0) return <span title={title}>{bytes(used)}</span>;
  const share = Math.min(1, used / budget);
  return (
    <span title={title}>
      <meter min={0} max={1} high={0.9} value={share} aria-label="memory used of budget" /> {bytes(used)} of {bytes(budget)} ({percent(share, 0)})
    </span>
  );
}

/** The node's versions: each named with its state while few, else counted by state. */
function versionsCell(n: ClusterStatus['nodes'][number]) {
  const total = n.counts?.total ?? n.versions.length;
  if (total > BADGES_PER_NODE || n.versions.length < total) {
    const c = n.counts;
    return c ? `${c.ready} ready, ${c.loading} loading, ${c.failed} failed${c.unloading ? `, ${c.unloading} unloading` : ''}` : `${total}`;
  }
  return n.versions.map((v) => (
    <span key={`${v.model}:${v.state.version}`} class={`badge ${v.state.state === 'READY' ? 'ok' : v.state.state === 'FAILED' ? 'bad' : 'warn'}`} title={v.state.error || v.state.state}>
      {v.model}:{v.state.version} {v.state.state}
    </span>
  ));
}

/** The cluster at a glance: nodes, control planes, models with their primary and live rates. */
export function Overview() {
  const { data, error } = usePoll(loadOverview, [], 3000);
  // Nodes seen earlier in this tab that no longer report: gone (their lease ended).
  const seen = useRef(new Map<string, { build: string; address: string }>());
  if (!data) return error ? <ErrorBox error={error} /> : <Loading what="the cluster" />;
  const live = new Set(data.status.nodes.map((n) => n.node.node_id));
  for (const n of data.status.nodes) seen.current.set(n.node.node_id, { build: n.node.build_version, address: n.node.address });
  const gone = [...seen.current].filter(([id]) => !live.has(id));
  const byModel = new Map<string, { req: number; err: number }>();
  for (const r of data.rates.versions) {
    const t = byModel.get(r.model) ?? { req: 0, err: 0 };
    t.req += r.requestRate;
    t.err += r.errorRate;
    byModel.set(r.model, t);
  }
  return (
    <div>
      <h1>Overview</h1>
      <ErrorBox error={error} />
      <section aria-labelledby="nodes-h">
        <h2 id="nodes-h">Prediction nodes</h2>
        <div class="table-wrap">
          <table id="nodes">
            <thead>
              <tr>
                <th>node</th>
                <th>state</th>
                <th>address</th>
                <th>build</th>
                <th>up since</th>
                <th>memory</th>
                <th>versions loaded</th>
              </tr>
            </thead>
            <tbody>
              {data.status.nodes.map((n) => (
                <tr key={n.node.node_id} data-node={n.node.node_id}>
                  <td>{n.node.node_id}</td>
                  <td>
                    <span class="badge ok">live</span>
                  </td>
                  <td>{n.node.address}</td>
                  <td>{n.node.build_version}</td>
                  <td>{relative(n.node.started_at)}</td>
                  <td class="memory">{memoryCell(n.node)}</td>
                  <td>{versionsCell(n)}</td>
                </tr>
              ))}
              {gone.map(([id, n]) => (
                <tr key={id} data-node={id} class="gone">
                  <td>{id}</td>
                  <td>
                    <span class="badge bad">gone</span>
                  </td>
                  <td>{n.address}</td>
                  <td>{n.build}</td>
                  <td>—</td>
                  <td>—</td>
                  <td>—</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {data.status.nodes.length === 0 && <p class="muted">No node is registered.</p>}
      </section>
      <section aria-labelledby="cp-h">
        <h2 id="cp-h">Control planes</h2>
        <ul id="control-planes">
          {data.status.control_planes.map((cp) => (
            <li key={cp.id}>
              <strong>{cp.id}</strong> at {cp.address}, up {relative(cp.started_at)}
              {cp.id === data.console.controlPlaneId && (
                <>
                  {' '}
                  — serves this console, <span class={`badge ${data.console.leader ? 'ok' : ''}`}>{data.console.leader ? 'leader' : 'follower'}</span>
                </>
              )}
            </li>
          ))}
        </ul>
      </section>
      <section aria-labelledby="models-h">
        <h2 id="models-h">Models</h2>
        <div class="table-wrap">
          <table id="models">
            <thead>
              <tr>
                <th>model</th>
                <th>primary</th>
                <th>versions</th>
                <th>requests</th>
                <th>errors</th>
                <th>owner</th>
              </tr>
            </thead>
            <tbody>
              {data.models.map(({ model, route }) => {
                const r = byModel.get(model.name);
                return (
                  <tr key={model.name} data-model={model.name}>
                    <td>
                      <a href={`#/model/${encodeURIComponent(model.name)}`}>{model.name}</a>
                    </td>
                    <td>{(route && primaryOf(route.splits)) ?? (model.retired_at ? 'retired' : '—')}</td>
                    <td>{model.versions.length}</td>
                    <td>{rate(r?.req)}</td>
                    <td>{r && r.req > 0 ? percent(r.err / r.req) : '—'}</td>
                    <td>{model.owner || '—'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
        {data.models.length === 0 && <p class="muted">No model yet: deploy one with `switchyard deploy`.</p>}
      </section>
    </div>
  );
}
