import { useState } from 'preact/hooks';
import { admin, usePoll } from '../api.js';
import type { HistoryEntry, Model } from '../admin-types.js';
import { when } from '../format.js';
import { ErrorBox, Loading } from '../ui.js';

/** Newest entries of each model (or of one), merged newest first. */
async function loadHistory(model: string): Promise<{ entries: HistoryEntry[]; models: string[] }> {
  const { models } = await admin<{ models: Model[] }>('ListModels', { page_size: 1000 });
  const names = models.map((m) => m.name);
  const wanted = model ? [model] : names;
  const pages = await Promise.all(wanted.map((m) => admin<{ entries: HistoryEntry[] }>('ListHistory', { model: m, page_size: 200 })));
  const entries = pages.flatMap((p) => p.entries).sort((a, b) => b.at.localeCompare(a.at));
  return { entries, models: names };
}

/** The audit log: every change, by whom and when; filter by model, actor and time. */
export function HistoryPage(props: { model: string }) {
  const [model, setModel] = useState(props.model);
  const [actor, setActor] = useState('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');
  const { data, error } = usePoll(() => loadHistory(model), [model], 5000);
  const [open, setOpen] = useState<string | undefined>(undefined);
  if (!data) return error ? <ErrorBox error={error} /> : <Loading what="the history" />;
  const actors = [...new Set(data.entries.map((e) => e.actor))].sort();
  const from = since ? Date.parse(since) : -Infinity;
  const to = until ? Date.parse(until) : Infinity;
  const shown = data.entries.filter((e) => (!actor || e.actor === actor) && Date.parse(e.at) >= from && Date.parse(e.at) <= to);
  return (
    <div>
      <h1>History</h1>
      <form class="inline-form filters" onSubmit={(e) => e.preventDefault()} aria-label="filters">
        <label>
          model{' '}
          <select id="history-model" value={model} onChange={(e) => setModel((e.target as HTMLSelectElement).value)}>
            <option value="">all models</option>
            {data.models.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
        <label>
          actor{' '}
          <select id="history-actor" value={actor} onChange={(e) => setActor((e.target as HTMLSelectElement).value)}>
            <option value="">anyone</option>
            {actors.map((a) => (
              <option key={a} value={a}>
                {a}
              </option>
            ))}
          </select>
        </label>
        <label>
          from <input type="datetime-local" value={since} onInput={(e) => setSince((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          until <input type="datetime-local" value={until} onInput={(e) => setUntil((e.target as HTMLInputElement).value)} />
        </label>
      </form>
      <ErrorBox error={error} />
      <div class="table-wrap">
        <table id="history">
          <thead>
            <tr>
              <th>when</th>
              <th>action</th>
              <th>model:version</th>
              <th>actor</th>
              <th>change</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((e, i) => {
              const key = `${e.at}-${e.model}-${e.action}-${i}`;
              return (
                <tr key={key} data-action={e.action}>
                  <td>{when(e.at)}</td>
                  <td>{e.action}</td>
                  <td class="mono">
                    {e.model}
                    {e.version ? `:${e.version}` : ''}
                  </td>
                  <td>{e.actor}</td>
                  <td>
                    <button type="button" class="link" aria-expanded={open === key} onClick={() => setOpen(open === key ? undefined : key)}>
                      {open === key ? 'hide' : 'before / after'}
                    </button>
                    {open === key && (
                      <div class="diff">
                        <pre>{pretty(e.before_json) || '(none)'}</pre>
                        <pre>{pretty(e.after_json) || '(none)'}</pre>
                      </div>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {shown.length === 0 && <p class="muted">No entry matches.</p>}
    </div>
  );
}

function pretty(json: string): string {
  if (!json) return '';
  try {
    return JSON.stringify(JSON.parse(json), null, 2);
  } catch {
    return json;
  }
}
