import { useEffect, useState } from 'preact/hooks';
import { admin } from '../api.js';
import type { Route, Version } from '../admin-types.js';
import { primaryOf, share } from '../format.js';
import { ActionButton, SplitBar, useAction } from '../ui.js';

/**
 * Moves traffic between two versions with a slider; every other version
 * keeps its weight. The preview bar marks the two shares that move, the text
 * says how much moves which way, and applying goes through SetRoute on the
 * route's revision (so a concurrent change is refused, not overwritten).
 */
export function RouteEditor(props: { model: string; route: Route; versions: Version[]; locked: boolean; onDone: () => void }) {
  const act = useAction();
  const routable = props.versions.filter((v) => v.validation?.state === 'PASSED' && v.retirement_state !== 'RETIRED').map((v) => v.version);
  const weightOf = (version: string): number => props.route.splits.find((s) => s.version === version)?.weight ?? 0;
  const primary = primaryOf(props.route.splits) ?? routable[0] ?? '';
  const secondDefault = props.route.splits.find((s) => s.version !== primary)?.version ?? routable.filter((v) => v !== primary).at(-1) ?? '';
  const [from, setFrom] = useState(primary);
  const [to, setTo] = useState(secondDefault);
  const pool = weightOf(from) + weightOf(to) || (props.route.splits.length === 0 ? 10_000 : 0);
  const [toWeight, setToWeight] = useState(weightOf(to));
  // A new revision (someone else's change, a rollout) resets the slider to what is stored.
  useEffect(() => setToWeight(weightOf(to)), [props.route.revision, to, from]);
  if (routable.length < 2 && props.route.splits.length > 0) return <p class="muted">Only one routable version: deploy another to split traffic.</p>;
  const preview = [
    ...props.route.splits.filter((s) => s.version !== from && s.version !== to),
    { version: from, weight: pool - toWeight },
    { version: to, weight: toWeight },
  ].filter((s) => s.weight > 0);
  const moved = toWeight - weightOf(to);
  const movement =
    moved === 0 ? 'nothing moves yet' : moved > 0 ? `moves ${share(moved)} of the traffic from ${from} to ${to}` : `moves ${share(-moved)} of the traffic from ${to} to ${from}`;
  const apply = (): void =>
    act({
      title: `Change the route of ${props.model}`,
      detail: (
        <>
          <p>This {movement}.</p>
          <SplitBar splits={preview} versions={props.versions.map((v) => v.version)} highlight={[from, to]} />
        </>
      ),
      model: props.model,
      run: () => admin('SetRoute', { model: props.model, splits: preview, expected_revision: props.route.revision }),
      done: props.onDone,
    });
  return (
    <form class="route-editor" onSubmit={(e) => e.preventDefault()} aria-label="change the route">
      <div class="inline-form">
        <label>
          from{' '}
          <select id="route-from" value={from} onChange={(e) => setFrom((e.target as HTMLSelectElement).value)} disabled={props.locked}>
            {routable.map((v) => (
              <option key={v} value={v} disabled={v === to}>
                {v}
              </option>
            ))}
          </select>
        </label>
        <label>
          to{' '}
          <select id="route-to" value={to} onChange={(e) => setTo((e.target as HTMLSelectElement).value)} disabled={props.locked}>
            {routable.map((v) => (
              <option key={v} value={v} disabled={v === from}>
                {v}
              </option>
            ))}
          </select>
        </label>
      </div>
      <label class="slider">
        <span>
          {to}: {share(toWeight)} · {from}: {share(pool - toWeight)}
        </span>
        <input
          id="route-slider"
          type="range"
          min={0}
          max={pool}
          step={100}
          value={toWeight}
          disabled={props.locked || pool === 0 || from === to}
          aria-valuetext={`${to} ${share(toWeight)}, ${from} ${share(pool - toWeight)}`}
          onInput={(e) => setToWeight(Number((e.target as HTMLInputElement).value))}
        />
      </label>
      <p class="movement" id="route-movement" aria-live="polite">
        Preview: {movement}.
      </p>
      <SplitBar splits={preview} versions={props.versions.map((v) => v.version)} highlight={moved !== 0 ? [from, to] : []} label="preview of the new route" />
      <ActionButton method="SetRoute" id="apply" disabled={props.locked || moved === 0} onClick={apply}>
        Apply route
      </ActionButton>
    </form>
  );
}
