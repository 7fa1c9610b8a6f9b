import { useState } from 'preact/hooks';
import { admin, nodeRates, usePoll } from '../api.js';
import type { Model, Rollout, Route, ShadowList, Version } from '../admin-types.js';
import { bytes, ms, percent, primaryOf, rate, relative, shape, share } from '../format.js';
import { ActionButton, Chart, ErrorBox, Loading, SplitBar, useAction, useHistory, type ChartPoint } from '../ui.js';
import { RouteEditor } from './route-editor.js';

interface ModelData {
  model: Model;
  versions: Version[];
  route: Route;
  shadows: ShadowList;
  rollout: Rollout | undefined;
}

async function loadModel(name: string): Promise<ModelData> {
  const [model, { versions }, route, shadows, rollout] = await Promise.all([
    admin<Model>('GetModel', { name }),
    admin<{ versions: Version[] }>('ListVersions', { model: name }),
    admin<Route>('GetRoute', { model: name }).catch(() => ({ model: name, splits: [], updated_at: '', revision: '0' })),
    admin<ShadowList>('ListShadows', { model: name }).catch(() => ({ model: name, shadows: [], revision: '0' })),
    admin<Rollout>('GetRollout', { model: name }).catch(() => undefined),
  ]);
  return { model, versions, route, shadows, rollout };
}

const ACTIVE_ROLLOUT = new Set(['PENDING', 'PROGRESSING', 'PAUSED']);

/** One model: its versions, route, shadows and live figures; the actions on them. */
export function ModelPage(props: { name: string }) {
  const { data, error, refresh } = usePoll(() => loadModel(props.name), [props.name], 2500);
  const rates = usePoll(nodeRates, [], 2000);
  const act = useAction();
  if (!data) return error ? <ErrorBox error={error} /> : <Loading what={props.name} />;
  const { model, versions, route, shadows, rollout } = data;
  const names = versions.map((v) => v.version);
  const primary = primaryOf(route.splits);
  const rolloutActive = rollout !== undefined && ACTIVE_ROLLOUT.has(rollout.state);
  return (
    <div>
      <h1>
        Model <span class="mono">{model.name}</span>
      </h1>
      <p class="muted">
        {model.description || 'No description.'} Owner: {model.owner || '—'}. {model.retired_at ? `Retired ${relative(model.retired_at)}.` : ''}
      </p>
      <nav class="subnav" aria-label="model pages">
        <a href={`#/model/${encodeURIComponent(model.name)}/rollout`}>Rollout{rollout ? ` (${rollout.state})` : ''}</a>
        <a href={`#/model/${encodeURIComponent(model.name)}/shadows`}>Shadow report</a>
        <a href={`#/history?model=${encodeURIComponent(model.name)}`}>History</a>
      </nav>
      <ErrorBox error={error} />
      <section aria-labelledby="route-h">
        <h2 id="route-h">Route</h2>
        {route.splits.length > 0 ? <SplitBar splits={route.splits} versions={names} /> : <p class="muted">No route: the model serves nothing.</p>}
        {rolloutActive && (
          <p class="note">
            A rollout {rollout.from_version} → {rollout.to_version} owns the weights now; change them on the <a href={`#/model/${encodeURIComponent(model.name)}/rollout`}>rollout page</a>.
          </p>
        )}
        <RouteEditor model={model.name} route={route} versions={versions} locked={rolloutActive} onDone={refresh} />
      </section>
      <LiveCharts model={model.name} versions={names} rates={rates.data} />
      <section aria-labelledby="versions-h">
        <h2 id="versions-h">Versions</h2>
        <div class="table-wrap">
          <table id="versions">
            <thead>
              <tr>
                <th>version</th>
                <th>weight</th>
                <th>validation</th>
                <th>retirement</th>
                <th>last used</th>
                <th>expires</th>
                <th>size</th>
                <th>labels</th>
                <th>signature</th>
                <th>samples</th>
                <th>actions</th>
              </tr>
            </thead>
            <tbody>
              {versions.map((v) => (
                <VersionRow key={v.version} v={v} route={route} primary={primary} rolloutActive={rolloutActive} act={act} refresh={refresh} />
              ))}
            </tbody>
          </table>
        </div>
      </section>
      <Shadows model={model.name} shadows={shadows} versions={versions} route={route} refresh={refresh} />
    </div>
  );
}

function VersionRow(props: { v: Version; route: Route; primary: string | undefined; rolloutActive: boolean; act: ReturnType<typeof useAction>; refresh: () => void }) {
  const { v, route, act, refresh } = props;
  const weight = route.splits.find((s) => s.version === v.version)?.weight ?? 0;
  const validation = v.validation;
  const sig = v.signature;
  const model = v.model;
  const retired = v.retirement_state === 'RETIRED';
  return (
    <tr data-version={v.version}>
      <td class="mono">{v.version}</td>
      <td>{weight > 0 ? share(weight) : '—'}</td>
      <td>
        <span class={`badge ${validation?.state === 'PASSED' ? 'ok' : 'bad'}`} title={validation?.reason || undefined}>
          {validation?.state ?? '—'}
        </span>
      </td>
      <td>
        <span class={`badge ${v.retirement_state === 'ACTIVE' ? 'ok' : v.retirement_state === 'WARNED' ? 'warn' : 'bad'}`}>{v.retirement_state || '—'}</span>
        {v.pinned && <span class="badge">pinned</span>}
      </td>
      <td>{relative(v.last_used_at)}</td>
      <td>{v.pinned ? 'never (pinned)' : relative(v.expires_at)}</td>
      <td>{bytes(v.artifact_size)}</td>
      <td>
        {Object.entries(v.labels ?? {}).map(([k, val]) => (
          <span key={k} class="badge">
            {k}={val}
          </span>
        ))}
      </td>
      <td class="signature">
        {sig ? (
          <>
            {sig.inputs.map((t) => (
              <div key={`i-${t.name}`}>
                in {t.name} {t.datatype}
                {shape(t.shape)}
              </div>
            ))}
            {sig.outputs.map((t) => (
              <div key={`o-${t.name}`}>
                out {t.name} {t.datatype}
                {shape(t.shape)}
              </div>
            ))}
          </>
        ) : (
          '—'
        )}
      </td>
      <td>
        {validation ? `${validation.samples} samples run${validation.golden_recorded ? ', golden recorded' : ''}${validation.samples > 0 ? `, max diff ${validation.max_abs_diff.toExponential(1)}` : ''}` : '—'}
      </td>
      <td class="actions">
        {v.version !== props.primary && validation?.state === 'PASSED' && !retired && (
          <ActionButton
            method="StartRollout"
            id={v.version}
            disabled={props.rolloutActive || props.primary === undefined}
            onClick={() =>
              act({
                title: `Start a rollout of ${model} to ${v.version}`,
                detail: (
                  <p>
                    Traffic moves from {props.primary} to {v.version} in steps of 1, 5, 25, 50 and 100%, each held 60 s and judged by the default gates; a failing gate rolls it back.
                  </p>
                ),
                model,
                run: () => admin('StartRollout', { model, to_version: v.version }),
                done: refresh,
              })
            }
          >
            Roll out
          </ActionButton>
        )}
        {!retired && (
          <ActionButton
            method="PinVersion"
            id={v.version}
            onClick={() =>
              act({
                title: `${v.pinned ? 'Unpin' : 'Pin'} ${model}:${v.version}`,
                detail: <p>{v.pinned ? 'Its expiry clock starts again from its last use.' : 'A pinned version never expires.'}</p>,
                model,
                run: () => admin('PinVersion', { model, version: v.version, pinned: !v.pinned }),
                done: refresh,
              })
            }
          >
            {v.pinned ? 'Unpin' : 'Pin'}
          </ActionButton>
        )}
        {!retired && weight === 0 && (
          <ActionButton
            method="Retire"
            id={v.version}
            danger
            onClick={() =>
              act({
                title: `Retire ${model}:${v.version}`,
                detail: <p>It is unloaded everywhere and its artifact deleted after the retention period; unretire brings it back until then.</p>,
                model,
                run: () => admin('Retire', { model, version: v.version }),
                done: refresh,
              })
            }
          >
            Retire
          </ActionButton>
        )}
        {retired && (
          <ActionButton
            method="Unretire"
            id={v.version}
            onClick={() =>
              act({
                title: `Unretire ${model}:${v.version}`,
                detail: <p>It becomes ACTIVE again, with no weight: route to it afterwards.</p>,
                model,
                run: () => admin('Unretire', { model, version: v.version }),
                done: refresh,
              })
            }
          >
            Unretire
          </ActionButton>
        )}
      </td>
    </tr>
  );
}

/** Request rate and p99 per version, from the nodes' own metrics, since the page opened. */
function LiveCharts(props: { model: string; versions: string[]; rates: Awaited<ReturnType<typeof nodeRates>> | undefined }) {
  const mine = props.rates?.versions.filter((r) => r.model === props.model);
  const history = useHistory(mine, props.rates?.at);
  const shown = props.versions.filter((v) => history.some((h) => h.value.some((r) => r.version === v)));
  const points = (pick: (r: { requestRate: number; p99Ms: number | null }) => number | null): ChartPoint[] =>
    history.map((h) => ({ t: h.t, values: shown.map((v) => { const r = h.value.find((x) => x.version === v); return r ? pick(r) : null; }) }));
  const latest = mine ?? [];
  return (
    <section aria-labelledby="live-h">
      <h2 id="live-h">Live traffic</h2>
      <p class="muted" id="live-now">
        {latest.length === 0
          ? 'No requests seen in the last few seconds.'
          : latest.map((r) => `${r.version}: ${rate(r.requestRate)}, errors ${r.requestRate > 0 ? percent(r.errorRate / r.requestRate) : '—'}, p99 ${ms(r.p99Ms)}`).join(' · ')}
      </p>
      <div class="charts">
        <Chart title="requests per second" unit="/s" series={shown} points={points((r) => r.requestRate)} />
        <Chart title="p99 latency" unit="ms" series={shown} points={points((r) => r.p99Ms)} />
      </div>
    </section>
  );
}

function Shadows(props: { model: string; shadows: ShadowList; versions: Version[]; route: Route; refresh: () => void }) {
  const act = useAction();
  const [version, setVersion] = useState('');
  const [fraction, setFraction] = useState('10');
  const routed = new Set(props.route.splits.filter((s) => s.weight > 0).map((s) => s.version));
  const candidates = props.versions.filter((v) => !routed.has(v.version) && v.validation?.state === 'PASSED' && v.retirement_state !== 'RETIRED');
  const chosen = version || candidates[0]?.version || '';
  const { model } = props;
  return (
    <section aria-labelledby="shadows-h">
      <h2 id="shadows-h">Shadows</h2>
      {props.shadows.shadows.length === 0 ? (
        <p class="muted">No shadow.</p>
      ) : (
        <ul id="shadows">
          {props.shadows.shadows.map((s) => (
            <li key={s.version} data-shadow={s.version}>
              <span class="mono">{s.version}</span> gets {percent(s.fraction, 0)} of the traffic mirrored{s.until ? `, until ${relative(s.until)}` : ''}
              {Number(s.budget) > 0 ? `, budget ${s.budget} requests` : ''}; added by {s.added_by}
              {s.auto ? ' (auto)' : ''}{' '}
              <ActionButton
                method="RemoveShadow"
                id={s.version}
                onClick={() =>
                  act({
                    title: `Stop mirroring ${model} to ${s.version}`,
                    detail: <p>Its figures stay readable in the shadow report.</p>,
                    model,
                    run: () => admin('RemoveShadow', { model, version: s.version, expected_revision: props.shadows.revision }),
                    done: props.refresh,
                  })
                }
              >
                Remove
              </ActionButton>
            </li>
          ))}
        </ul>
      )}
      {candidates.length > 0 && (
        <form class="inline-form" onSubmit={(e) => e.preventDefault()}>
          <label>
            version{' '}
            <select value={chosen} onChange={(e) => setVersion((e.target as HTMLSelectElement).value)}>
              {candidates.map((v) => (
                <option key={v.version} value={v.version}>
                  {v.version}
                </option>
              ))}
            </select>
          </label>
          <label>
            share mirrored (%){' '}
            <input type="number" min="1" max="100" step="1" value={fraction} onInput={(e) => setFraction((e.target as HTMLInputElement).value)} />
          </label>
          <ActionButton
            method="AddShadow"
            onClick={() =>
              act({
                title: `Mirror ${fraction}% of ${model}'s traffic to ${chosen}`,
                detail: <p>Nodes replay that share of unversioned requests against {chosen} after the primary answered, and compare the outputs. Clients see only the primary's answers.</p>,
                model,
                run: () => admin('AddShadow', { model, version: chosen, fraction: Number(fraction) / 100, expected_revision: props.shadows.revision }),
                done: props.refresh,
              })
            }
          >
            Add shadow
          </ActionButton>
        </form>
      )}
    </section>
  );
}
