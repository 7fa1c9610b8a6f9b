import { admin, usePoll } from '../api.js';
import type { ShadowPairReport, ShadowReport } from '../admin-types.js';
import { ms, percent, relative } from '../format.js';
import { Chart, ErrorBox, Loading, useHistory } from '../ui.js';

async function loadReport(model: string): Promise<ShadowReport & { at: string }> {
  return { ...(await admin<ShadowReport>('GetShadowReport', { model })), at: new Date().toISOString() };
}

/** Every shadow's figures against its primary, with agreement and difference per output over time. */
export function ShadowReportPage(props: { model: string }) {
  const { data, error } = usePoll(() => loadReport(props.model), [props.model], 2000);
  const history = useHistory(data?.pairs, data?.at);
  if (!data) return error ? <ErrorBox error={error} /> : <Loading what="the shadow report" />;
  return (
    <div>
      <h1>
        Shadow report of <a href={`#/model/${encodeURIComponent(props.model)}`}>{props.model}</a>
      </h1>
      <ErrorBox error={error} />
      {data.shadows.length > 0 && (
        <p class="muted">
          Mirroring now: {data.shadows.map((s) => `${s.version} (${percent(s.fraction, 0)}${s.until ? `, until ${relative(s.until)}` : ''})`).join(', ')}
        </p>
      )}
      {data.pairs.length === 0 && <p class="muted">No shadow figures yet: add a shadow on the model page and send the model some traffic.</p>}
      {data.pairs.map((pair) => (
        <Pair key={`${pair.primary}>${pair.shadow}`} pair={pair} history={history} />
      ))}
    </div>
  );
}

function Pair(props: { pair: ShadowPairReport; history: { t: number; value: ShadowPairReport[] }[] }) {
  const p = props.pair;
  const failed = Number(p.failed_error) + Number(p.failed_timeout) + Number(p.failed_shape);
  const mine = props.history.map((h) => ({ t: h.t, pair: h.value.find((x) => x.primary === p.primary && x.shadow === p.shadow) }));
  const outputs = p.outputs.map((o) => o.name);
  return (
    <section class="pair" data-pair={`${p.primary}>${p.shadow}`} aria-label={`${p.shadow} shadowing ${p.primary}`}>
      <h2>
        {p.shadow} shadowing {p.primary} {p.active ? <span class="badge ok">active</span> : <span class="badge">ended</span>}
      </h2>
      <dl class="counts">
        <div>
          <dt>mirrored</dt>
          <dd>{p.mirrored}</dd>
        </div>
        <div>
          <dt>compared</dt>
          <dd>{p.compared}</dd>
        </div>
        <div>
          <dt>agreed</dt>
          <dd>{percent(p.agreement, 2)}</dd>
        </div>
        <div>
          <dt>dropped</dt>
          <dd>{p.dropped}</dd>
        </div>
        <div>
          <dt>failed</dt>
          <dd title={`errors ${p.failed_error}, timeouts ${p.failed_timeout}, other shapes ${p.failed_shape}`}>{failed}</dd>
        </div>
        <div>
          <dt>shadow p99</dt>
          <dd>{ms(p.latency_p99_ms)}</dd>
        </div>
      </dl>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th>output</th>
              <th>elements</th>
              <th>mean |diff|</th>
              <th>max |diff|</th>
              <th>within tolerance</th>
              <th>top-1 agreement</th>
            </tr>
          </thead>
          <tbody>
            {p.outputs.map((o) => (
              <tr key={o.name}>
                <td class="mono">{o.name}</td>
                <td>{o.elements}</td>
                <td>{o.mean_abs_diff.toExponential(2)}</td>
                <td>{o.max_abs_diff.toExponential(2)}</td>
                <td>{percent(o.within_tolerance, 2)}</td>
                <td>{Number(o.top1_compared) > 0 ? percent(o.top1_agreement, 2) : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div class="charts">
        <Chart
          title="agreement over time (share of elements within tolerance)"
          unit="%"
          series={['all outputs', ...outputs]}
          points={mine.map((m) => ({ t: m.t, values: [m.pair ? m.pair.agreement * 100 : null, ...outputs.map((n) => { const o = m.pair?.outputs.find((x) => x.name === n); return o ? o.within_tolerance * 100 : null; })] }))}
        />
        <Chart
          title="mean absolute difference over time"
          unit=""
          series={outputs}
          points={mine.map((m) => ({ t: m.t, values: outputs.map((n) => m.pair?.outputs.find((x) => x.name === n)?.mean_abs_diff ?? null) }))}
        />
      </div>
    </section>
  );
}
