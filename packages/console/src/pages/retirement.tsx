import { admin, usePoll } from '../api.js';
import type { Model, RetirementEntry, Version } from '../admin-types.js';
import { relative, when } from '../format.js';
import { ActionButton, ErrorBox, Loading, useAction } from '../ui.js';

const ORDER: Record<string, number> = { RETIRE: 0, WARN: 1, COLLECT: 2, CLEAR: 3, KEEP: 4 };

async function loadRetirement(): Promise<{ plan: { now: string; entries: RetirementEntry[] }; versions: Version[] }> {
  const [plan, { models }] = await Promise.all([
    admin<{ now: string; entries: RetirementEntry[] }>('RetirementPlan', {}),
    admin<{ models: Model[] }>('ListModels', { page_size: 1000 }),
  ]);
  const lists = await Promise.all(models.map((m) => admin<{ versions: Version[] }>('ListVersions', { model: m.name })));
  return { plan, versions: lists.flatMap((l) => l.versions) };
}

/**
 * Auto-retirement: the sweeper's dry run (what it would warn, retire and
 * collect if it ran now), then every live version by when it expires, with
 * pin and unpin.
 */
export function RetirementPage() {
  const { data, error, refresh } = usePoll(loadRetirement, [], 5000);
  const act = useAction();
  if (!data) return error ? <ErrorBox error={error} /> : <Loading what="the retirement plan" />;
  const planned = [...data.plan.entries].sort((a, b) => (ORDER[a.action] ?? 9) - (ORDER[b.action] ?? 9));
  const live = data.versions
    .filter((v) => v.retirement_state !== 'RETIRED')
    .sort((a, b) => Number(a.pinned) - Number(b.pinned) || (a.expires_at || '~').localeCompare(b.expires_at || '~'));
  const pin = (v: { model: string; version: string; pinned: boolean }) =>
    act({
      title: `${v.pinned ? 'Unpin' : 'Pin'} ${v.model}:${v.version}`,
      detail: <p>{v.pinned ? 'Its expiry clock starts again from its last use.' : 'It will never expire while pinned.'}</p>,
      model: v.model,
      run: () => admin('PinVersion', { model: v.model, version: v.version, pinned: !v.pinned }),
      done: refresh,
    });
  return (
    <div>
      <h1>Retirement</h1>
      <ErrorBox error={error} />
      <section aria-labelledby="plan-h">
        <h2 id="plan-h">If the sweeper ran now</h2>
        <p class="muted">The dry run at {when(data.plan.now)}: nothing changes until the leader's sweeper runs.</p>
        {planned.length === 0 ? (
          <p class="muted" id="plan-empty">
            Nothing to warn, retire or collect now.
          </p>
        ) : (
          <div class="table-wrap">
            <table id="plan">
              <thead>
                <tr>
                  <th>model:version</th>
                  <th>action</th>
                  <th>why</th>
                  <th>state</th>
                  <th>last used</th>
                  <th>retires</th>
                  <th>owner</th>
                </tr>
              </thead>
              <tbody>
                {planned.map((e) => (
                  <tr key={`${e.model}:${e.version}`} data-entry={`${e.model}:${e.version}`}>
                    <td class="mono">
                      <a href={`#/model/${encodeURIComponent(e.model)}`}>{e.model}</a>:{e.version}
                    </td>
                    <td>
                      <span class={`badge ${e.action === 'RETIRE' ? 'bad' : e.action === 'WARN' ? 'warn' : ''}`}>{e.action}</span>
                    </td>
                    <td>{e.reason}</td>
                    <td>{e.state}</td>
                    <td>{relative(e.last_used_at)}</td>
                    <td>{relative(e.retire_at)}</td>
                    <td>{e.owner || '—'}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section aria-labelledby="next-h">
        <h2 id="next-h">Next to expire</h2>
        <div class="table-wrap">
          <table id="retirement">
            <thead>
              <tr>
                <th>model:version</th>
                <th>state</th>
                <th>last used</th>
                <th>expires</th>
                <th>pin</th>
              </tr>
            </thead>
            <tbody>
              {live.map((v) => (
                <tr key={`${v.model}:${v.version}`} data-entry={`${v.model}:${v.version}`}>
                  <td class="mono">
                    <a href={`#/model/${encodeURIComponent(v.model)}`}>{v.model}</a>:{v.version}
                  </td>
                  <td>
                    <span class={`badge ${v.retirement_state === 'WARNED' ? 'warn' : 'ok'}`}>{v.retirement_state}</span>
                  </td>
                  <td>{relative(v.last_used_at)}</td>
                  <td>{v.pinned ? 'never (pinned)' : relative(v.expires_at)}</td>
                  <td>
                    <ActionButton method="PinVersion" id={`${v.model}-${v.version}`} onClick={() => pin(v)}>
                      {v.pinned ? 'Unpin' : 'Pin'}
                    </ActionButton>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {live.length === 0 && <p class="muted">No live version.</p>}
      </section>
    </div>
  );
}
