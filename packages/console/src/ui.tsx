// Shared pieces: buttons that say why they are disabled, the confirmation
// dialog every action goes through, the route's split bar and live charts.
import { createContext, type ComponentChildren } from 'preact';
import { useContext, useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { ApiError, latestHistory, type Session } from './api.js';
import type { HistoryEntry } from './admin-types.js';
import { share, when } from './format.js';

export const SessionContext = createContext<Session | undefined>(undefined);

/** An action to confirm: what it does in words, and the admin call that does it. */
export interface PendingAction {
  title: string;
  /** What will change, shown before the person confirms. */
  detail: ComponentChildren;
  /** The model whose history shows the result. */
  model: string;
  run: () => Promise<unknown>;
  /** Called after it succeeded, e.g. to refresh the page's data. */
  done?: () => void;
}

export const ActionContext = createContext<(action: PendingAction) => void>(() => undefined);

/** Asks for confirmation of an action, then runs it through the admin API. */
export function useAction(): (action: PendingAction) => void {
  return useContext(ActionContext);
}

/**
 * A button for an admin method: disabled, with the reason next to it, when
 * the signed-in role may not call it. The admin API checks again anyway.
 */
export function ActionButton(props: { method: string; onClick: () => void; children: ComponentChildren; disabled?: boolean; danger?: boolean; id?: string }) {
  const session = useContext(SessionContext);
  const access = session?.methods[props.method];
  const allowed = access?.allowed ?? false;
  const why = allowed ? undefined : `${props.method} needs the ${access?.needs ?? 'admin'} role; you are ${session?.role ?? 'signed out'}`;
  const reasonId = `why-${props.method}-${props.id ?? ''}`.replace(/[^a-zA-Z0-9_-]/g, '-');
  return (
    <span class="action">
      <button
        type="button"
        class={props.danger ? 'danger' : undefined}
        data-method={props.method}
        disabled={!allowed || props.disabled}
        title={why}
        aria-describedby={why ? reasonId : undefined}
        onClick={props.onClick}
      >
        {props.children}
      </button>
      {why && (
        <span class="why" id={reasonId}>
          {why}
        </span>
      )}
    </span>
  );
}

type DialogState = { kind: 'confirm' } | { kind: 'running' } | { kind: 'done'; entry: HistoryEntry | undefined } | { kind: 'failed'; message: string };

/** The modal every action goes through: confirm, run, then the audit entry it wrote. */
export function ActionDialog(props: { action: PendingAction | undefined; close: () => void }) {
  const ref = useRef<HTMLDialogElement>(null);
  const [state, setState] = useState<DialogState>({ kind: 'confirm' });
  const { action } = props;
  const session = useContext(SessionContext);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (action && !dialog.open) {
      setState({ kind: 'confirm' });
      dialog.showModal();
    } else if (!action && dialog.open) dialog.close();
  }, [action]);
  const confirm = async (): Promise<void> => {
    if (!action) return;
    setState({ kind: 'running' });
    try {
      await action.run();
      const entry = await latestHistory(action.model, session?.name ?? '').catch(() => undefined);
      setState({ kind: 'done', entry });
      action.done?.();
    } catch (err) {
      const message = err instanceof ApiError ? `${err.code}: ${err.message}` : (err as Error).message;
      setState({ kind: 'failed', message });
    }
  };
  return (
    <dialog ref={ref} class="action-dialog" aria-labelledby="action-title" onClose={props.close}>
      {action && (
        <div>
          <h2 id="action-title">{action.title}</h2>
          <div class="detail">{action.detail}</div>
          {state.kind === 'running' && <p role="status">Working…</p>}
          {state.kind === 'failed' && (
            <p class="error" role="alert">
              Refused: {state.message}
            </p>
          )}
          {state.kind === 'done' && (
            <div class="result" role="status">
              <p>Done. The history now records:</p>
              {state.entry ? <HistoryLine entry={state.entry} /> : <p>(no history entry could be read)</p>}
            </div>
          )}
          <div class="buttons">
            {state.kind === 'confirm' && (
              <button type="button" class="primary" onClick={() => void confirm()} autofocus>
                Confirm
              </button>
            )}
            <button type="button" onClick={props.close}>
              {state.kind === 'done' || state.kind === 'failed' ? 'Close' : 'Cancel'}
            </button>
          </div>
        </div>
      )}
    </dialog>
  );
}

export function HistoryLine(props: { entry: HistoryEntry }) {
  const e = props.entry;
  return (
    <p class="history-line" data-action={e.action}>
      <strong>{e.action}</strong> of {e.model}
      {e.version ? `:${e.version}` : ''} by <em>{e.actor}</em> at {when(e.at)}
    </p>
  );
}

const COLORS = ['#2563eb', '#d97706', '#059669', '#dc2626', '#7c3aed', '#0891b2', '#be185d', '#4d7c0f'];

export function colorOf(index: number): string {
  return COLORS[index % COLORS.length]!;
}

/** The route as a bar: one segment per version, as wide as its share. */
export function SplitBar(props: { splits: { version: string; weight: number }[]; versions: string[]; label?: string; highlight?: string[] }) {
  const total = props.splits.reduce((sum, s) => sum + s.weight, 0) || 1;
  return (
    <div class="split-bar" role="img" aria-label={props.label ?? `route: ${props.splits.map((s) => `${s.version} ${share(s.weight)}`).join(', ')}`}>
      {props.splits
        .filter((s) => s.weight > 0)
        .map((s) => (
          <div
            key={s.version}
            class={`segment${props.highlight?.includes(s.version) ? ' moving' : ''}`}
            style={{ width: `${(s.weight / total) * 100}%`, background: colorOf(Math.max(0, props.versions.indexOf(s.version))) }}
          >
            {s.version} {share(s.weight)}
          </div>
        ))}
    </div>
  );
}

/** An axis label short enough to fit: 4 significant digits, exponent form for tiny values. */
function tick(v: number): string {
  if (v === 0) return '0';
  const abs = Math.abs(v);
  if (abs < 0.01) return v.toExponential(2);
  return abs >= 1000 ? String(Math.round(v)) : String(Number(v.toPrecision(4)));
}

/** A point of a live chart: when, and one value per series (null: no figure). */
export interface ChartPoint {
  t: number;
  values: (number | null)[];
}

/** A live time-series chart (uPlot); keeps its width to its container. */
export function Chart(props: { title: string; series: string[]; points: ChartPoint[]; unit: string; colors?: string[] }) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const key = props.series.join('\u0000');
  const data = (): uPlot.AlignedData => [
    props.points.map((p) => p.t / 1000),
    ...props.series.map((_, i) => props.points.map((p) => p.values[i] ?? null)),
  ];
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height: 180,
      legend: { show: true },
      scales: { x: { time: true } },
      axes: [{}, { values: (_u, ticks) => ticks.map((v) => `${tick(v)}${props.unit ? ` ${props.unit}` : ''}`), size: 80 }],
      series: [{}, ...props.series.map((label, i) => ({ label, stroke: props.colors?.[i] ?? colorOf(i), width: 2, spanGaps: true }))],
    };
    plot.current = new uPlot(opts, data(), el);
    const observer = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(el.clientWidth, 200), height: 180 }));
    observer.observe(el);
    return () => {
      observer.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [key, props.unit]);
  useEffect(() => {
    plot.current?.setData(data());
  }, [props.points]);
  return (
    <figure class="chart">
      <figcaption>{props.title}</figcaption>
      <div ref={box} />
    </figure>
  );
}

/** Keeps the last `max` values of something polled, for a chart. */
export function useHistory<T>(value: T | undefined, at: string | undefined, max = 90): { t: number; value: T }[] {
  const [points, setPoints] = useState<{ t: number; value: T }[]>([]);
  useEffect(() => {
    if (value === undefined || at === undefined) return;
    const t = Date.parse(at);
    setPoints((old) => (old.length > 0 && old[old.length - 1]!.t === t ? old : [...old, { t, value }].slice(-max)));
  }, [at]);
  return points;
}

export function ErrorBox(props: { error: Error | undefined }) {
  if (!props.error) return null;
  const e = props.error;
  return (
    <p class="error" role="alert">
      {e instanceof ApiError ? `${e.code}: ${e.message}` : e.message}
    </p>
  );
}

export function Loading(props: { what: string }) {
  return <p class="muted">Loading {props.what}…</p>;
}
