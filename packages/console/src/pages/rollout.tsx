import { useState } from 'preact/hooks';
import { admin, ApiError, usePoll } from '../api.js';
import type { Rollout, RolloutFigures, Version } from '../admin-types.js';
import { ms, percent, relative } from '../format.js';
import { ActionButton, Chart, ErrorBox, Loading, useAction, useHistory } from '../ui.js';

const ACTIVE = new Set(['PENDING', 'PROGRESSING', 'PAUSED']);

async function loadRollout(model: string): Promise<{ rollout: Rollout | undefined; versions: Version[]; at: string }> {
  const [rollout, { versions }] = await Promise.all([
    admin<Rollout>('GetRollout', { model }).catch((err: unknown) => {
      if (err instanceof ApiError && err.code === 'NOT_FOUND') return undefined;
      throw err;
    }),
    admin<{ versions: Version[] }>('ListVersions', { model }),
  ]);
  return { rollout, versions, at: new Date().toISOString() };
}

/** A gate: the figure now, its limit, and whether it holds. */
function Gate(props: { name: string; value: string; limit: string; ok: boolean | undefined }) {
  return (
    <tr>
      <th scope="row">{props.name}</th>
      <td>{props.value}</td>
      <td>{props.limit}</td>
      <td>{props.ok === undefined ? <span class="badge">not judged yet</span> : props.ok ? <span class="badge ok">within</span> : <span class="badge bad">over</span>}</td>
    </tr>
  );
}

function figuresOf(f: RolloutFigures | null): { requests: number; errors: number; rate: number; p99: number | null } | undefined {
  if (!f) return undefined;
  return { requests: Number(f.requests), errors: Number(f.errors), rate: f.error_rate, p99: f.p99_ms ?? null };
}

/** One model's rollout: steps as a timeline, the step's figures against the gates, and the controls. */
export function RolloutPage(props: { model: string }) {
  const { data, error, refresh } = usePoll(() => loadRollout(props.model), [props.model], 1000);
  const act = useAction();
  const r = data?.rollout;
  const trend = useHistory(r ? { to: figuresOf(r.current_to), from: figuresOf(r.current_from) } : undefined, data?.at);
  if (!data) return error ? <ErrorBox error={error} /> : <Loading what="the rollout" />;
  const model = props.model;
  const active = r !== undefined && ACTIVE.has(r.state);
  const gates = r?.gates ?? {};
  const from = figuresOf(active ? r!.current_from : (r?.last_from ?? null));
  const to = figuresOf(active ? r!.current_to : (r?.last_to ?? null));
  // New over old error rate; undefined until both have taken requests and one failed.
  const errorRatio = to && from && to.requests > 0 && from.requests > 0 && (to.rate > 0 || from.rate > 0) ? (from.rate > 0 ? to.rate / from.rate : Infinity) : undefined;
  const control = (method: string, verb: string, what: string, danger = false) => (
    <ActionButton
      method={method}
      danger={danger}
      onClick={() =>
        act({ title: `${verb} the rollout of ${model}`, detail: <p>{what}</p>, model, run: () => admin(method, { model, reason: `from the console` }), done: refresh })
      }
    >
      {verb}
    </ActionButton>
  );
  return (
    <div>
      <h1>
        Rollout of <a href={`#/model/${encodeURIComponent(model)}`}>{model}</a>
      </h1>
      <ErrorBox error={error} />
      {!r ? (
        <p class="muted">This model has had no rollout. Start one from a version on the model page.</p>
      ) : (
        <>
          <p id="rollout-summary">
            <span class={`badge state-${r.state}`} id="rollout-state">
              {r.state}
            </span>{' '}
            {r.from_version} → {r.to_version}, started {relative(r.started_at)} by {r.started_by}
          </p>
          {r.reason && (
            <p class={r.state === 'ROLLED_BACK' ? 'error' : 'muted'} id="rollout-reason">
              {r.reason}
            </p>
          )}
          {active && r.waiting_for && <p class="muted">Waiting for: {r.waiting_for}</p>}
          <ol class="timeline" id="rollout-steps" aria-label="steps">
            {r.steps.map((pct, i) => {
              const state = i < r.step_index ? 'done' : i === r.step_index ? (active ? 'current' : r.state === 'SUCCEEDED' ? 'done' : 'failed') : 'pending';
              return (
                <li key={i} class={`step ${state}`} data-step={i} aria-current={state === 'current' ? 'step' : undefined}>
                  <span class="pct">{pct}%</span>
                  <span class="label">{state}</span>
                </li>
              );
            })}
          </ol>
          <div class="buttons">
            {active && r.state !== 'PAUSED' && control('PauseRollout', 'Pause', 'Traffic stays as it is until resumed.')}
            {r.state === 'PAUSED' && control('ResumeRollout', 'Resume', 'Steps go on as the gates allow.')}
            {active && control('PromoteRollout', 'Promote', `All traffic goes to ${r.to_version} now.`)}
            {active && control('AbortRollout', 'Abort', `All traffic goes back to ${r.from_version} now.`, true)}
          </div>
          <h2>{active ? 'This step, live' : 'Last step'}</h2>
          <div class="table-wrap">
            <table id="rollout-figures">
              <thead>
                <tr>
                  <th>version</th>
                  <th>requests</th>
                  <th>errors</th>
                  <th>error rate</th>
                  <th>p99</th>
                </tr>
              </thead>
              <tbody>
                {[
                  [r.from_version, from],
                  [r.to_version, to],
                ].map(([v, f]) => (
                  <tr key={v as string}>
                    <td class="mono">{v as string}</td>
                    <td>{(f as typeof from)?.requests ?? '—'}</td>
                    <td>{(f as typeof from)?.errors ?? '—'}</td>
                    <td>{percent((f as typeof from)?.rate, 2)}</td>
                    <td>{ms((f as typeof from)?.p99)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <h2>Gates</h2>
          <div class="table-wrap">
            <table id="rollout-gates">
              <thead>
                <tr>
                  <th>gate</th>
                  <th>{r.to_version} now</th>
                  <th>limit</th>
                  <th>verdict</th>
                </tr>
              </thead>
              <tbody>
                {gates.max_error_rate != null && <Gate name="error rate" value={percent(to?.rate, 2)} limit={percent(gates.max_error_rate, 2)} ok={to && to.requests > 0 ? to.rate <= gates.max_error_rate : undefined} />}
                {gates.max_error_rate_ratio != null && (
                  <Gate
                    name="error rate vs old"
                    value={errorRatio === undefined ? '—' : Number.isFinite(errorRatio) ? `${errorRatio.toFixed(2)}×` : '∞× (old had no error)'}
                    limit={`${gates.max_error_rate_ratio}×`}
                    ok={errorRatio === undefined ? undefined : errorRatio <= gates.max_error_rate_ratio}
                  />
                )}
                {gates.max_p99_ratio != null && (
                  <Gate
                    name="p99 vs old"
                    value={to?.p99 != null && from?.p99 ? `${(to.p99 / from.p99).toFixed(2)}×` : '—'}
                    limit={`${gates.max_p99_ratio}× (differences under ${gates.p99_tolerance_ms ?? 5} ms ignored)`}
                    ok={to?.p99 != null && from?.p99 != null ? to.p99 - from.p99 <= (gates.p99_tolerance_ms ?? 5) || to.p99 / from.p99 <= gates.max_p99_ratio : undefined}
                  />
                )}
                {gates.min_shadow_agreement != null && (
                  <Gate
                    name="shadow agreement"
                    value={Number(r.shadow_compared) > 0 ? percent(Number(r.shadow_agreed) / Number(r.shadow_compared)) : '—'}
                    limit={`≥ ${percent(gates.min_shadow_agreement)}`}
                    ok={Number(r.shadow_compared) > 0 ? Number(r.shadow_agreed) / Number(r.shadow_compared) >= gates.min_shadow_agreement : undefined}
                  />
                )}
                <Gate name="requests in this step" value={String(to?.requests ?? 0)} limit={`≥ ${r.min_step_requests}, ≥ ${r.min_step_seconds} s`} ok={to ? to.requests >= r.min_step_requests : undefined} />
              </tbody>
            </table>
          </div>
          {active && (
            <div class="charts">
              <Chart
                title="error rate this step"
                unit="%"
                series={[r.from_version, r.to_version]}
                points={trend.map((p) => ({ t: p.t, values: [p.value.from ? p.value.from.rate * 100 : null, p.value.to ? p.value.to.rate * 100 : null] }))}
              />
              <Chart title="p99 this step" unit="ms" series={[r.from_version, r.to_version]} points={trend.map((p) => ({ t: p.t, values: [p.value.from?.p99 ?? null, p.value.to?.p99 ?? null] }))} />
            </div>
          )}
        </>
      )}
      {!active && <StartRollout model={model} versions={data.versions} current={r} onDone={refresh} />}
    </div>
  );
}

function StartRollout(props: { model: string; versions: Version[]; current: Rollout | undefined; onDone: () => void }) {
  const act = useAction();
  const candidates = props.versions.filter((v) => v.validation?.state === 'PASSED' && v.retirement_state !== 'RETIRED').map((v) => v.version);
  const [to, setTo] = useState('');
  const [steps, setSteps] = useState('1, 5, 25, 50, 100');
  const [holdSeconds, setHoldSeconds] = useState('60');
  const [stepRequests, setStepRequests] = useState('100');
  const [judgeP99, setJudgeP99] = useState(true);
  const chosen = to || candidates.at(-1) || '';
  const parsed = steps.split(/[ ,]+/).filter(Boolean).map(Number);
  return (
    <section aria-labelledby="start-h">
      <h2 id="start-h">Start a rollout</h2>
      <form class="inline-form" onSubmit={(e) => e.preventDefault()}>
        <label>
          to version{' '}
          <select id="rollout-to" value={chosen} onChange={(e) => setTo((e.target as HTMLSelectElement).value)}>
            {candidates.map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
          </select>
        </label>
        <label>
          steps (%){' '}
          <input id="rollout-steps-input" value={steps} onInput={(e) => setSteps((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          hold each step (s){' '}
          <input id="rollout-hold" type="number" min="0" value={holdSeconds} onInput={(e) => setHoldSeconds((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          requests per step{' '}
          <input id="rollout-requests" type="number" min="1" value={stepRequests} onInput={(e) => setStepRequests((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          <input id="rollout-judge-p99" type="checkbox" checked={judgeP99} onChange={(e) => setJudgeP99((e.target as HTMLInputElement).checked)} /> judge p99 (off for
          sub-millisecond models, where p99 is noise)
        </label>
        <ActionButton
          method="StartRollout"
          disabled={chosen === '' || parsed.some((n) => !Number.isFinite(n))}
          onClick={() =>
            act({
              title: `Start a rollout of ${props.model} to ${chosen}`,
              detail: (
                <p>
                  Traffic moves from the version with the most weight now to {chosen} in steps of {parsed.join(', ')}%, each held at least {holdSeconds} s and {stepRequests}{' '}
                  requests, judged by the default gates{judgeP99 ? '' : ' except p99'}; a failing gate sends all traffic back.
                </p>
              ),
              model: props.model,
              run: () =>
                admin('StartRollout', {
                  model: props.model,
                  to_version: chosen,
                  steps: parsed,
                  min_step_seconds: Number(holdSeconds),
                  min_step_requests: Number(stepRequests),
                  ...(judgeP99 ? {} : { gates: { max_p99_ratio: -1 } }),
                }),
              done: props.onDone,
            })
          }
        >
          Start rollout
        </ActionButton>
      </form>
    </section>
  );
}
