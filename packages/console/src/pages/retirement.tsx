import { admin, usePoll } from '../api.js';
import type { RetirementEntry } from '../admin-types.js';
import { relative, when } from '../format.js';
import { ActionButton, ErrorBox, Loading, useAction } from '../ui.js';

const ORDER: Record<string, number> = { RETIRE: 0, WARN: 1, COLLECT: 2, CLEAR: 3, KEEP: 4 };

/** The retirement sweeper's dry run: what it would warn, retire and collect now; pin and unpin. */
export function RetirementPage() {
  const { data, error, refresh } = usePoll(() => admin<{ now: string; entries: RetirementEntry[] }>('RetirementPlan', {}), [], 5000);
  const act = useAction();
  if (!data) return error ? <ErrorBox error={error} /> : <Loading what="the retirement plan" />;
  const entries = [...data.entries].sort((a, b) => (ORDER[a.action] ?? 9) - (ORDER[b.action] ?? 9) || (a.expires_at || '~').localeCompare(b.expires_at || '~'));
  return (
    <div>
      <h1>Retirement</h1>
      <p class="muted">What the sweeper would do if it ran now ({when(data.now)}); nothing changes until it runs. Pinned versions never expire.</p>
      <ErrorBox error={error} />
      <div class="table-wrap">
        <table id="retirement">
          <thead>
            <tr>
              <th>model:version</th>
              <th>next</th>
              <th>why</th>
              <th>state</th>
              <th>last used</th>
              <th>expires</th>
              <th>retires</th>
              <th>owner</th>
              <th>pin</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
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
                <td>{e.pinned ? 'never (pinned)' : relative(e.expires_at)}</td>
                <td>{relative(e.retire_at)}</td>
                <td>{e.owner || '—'}</td>
                <td>
                  {e.state !== 'RETIRED' && (
                    <ActionButton
                      method="PinVersion"
                      id={`${e.model}-${e.version}`}
                      onClick={() =>
                        act({
                          title: `${e.pinned ? 'Unpin' : 'Pin'} ${e.model}:${e.version}`,
                          detail: <p>{e.pinned ? 'Its expiry clock starts again.' : 'It will never expire while pinned.'}</p>,
                          model: e.model,
                          run: () => admin('PinVersion', { model: e.model, version: e.version, pinned: !e.pinned }),
                          done: refresh,
                        })
                      }
                    >
                      {e.pinned ? 'Unpin' : 'Pin'}
                    </ActionButton>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {entries.length === 0 && <p class="muted">No version to consider.</p>}
    </div>
  );
}
