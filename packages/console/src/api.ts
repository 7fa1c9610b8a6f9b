// The console's only way out: same-origin JSON calls to the control plane
// that served the page. The session cookie is HttpOnly; the CSRF value the
// server hands back at sign-in lives in this module's memory only.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { HistoryEntry } from './admin-types.js';

/** What the server tells the page about its session (never the token). */
export interface Session {
  name: string;
  role: 'viewer' | 'deployer' | 'admin';
  authEnabled: boolean;
  csrf: string;
  /** For each admin method: whether this role may call it, and which role it needs. */
  methods: Record<string, { allowed: boolean; needs: string }>;
}

/** A refused or failed call, with the admin API's gRPC status name and message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrf = '';
/** Called when a call finds the session gone, so the app can show sign-in again. */
let onSignedOut: () => void = () => undefined;

export function setSignedOutHandler(handler: () => void): void {
  onSignedOut = handler;
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-switchyard-csrf': csrf },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await response.text();
  const parsed = text ? (JSON.parse(text) as unknown) : {};
  if (!response.ok) {
    const error = parsed as { code?: string; message?: string };
    if (response.status === 401 && path !== '/api/session') onSignedOut();
    throw new ApiError(response.status, error.code ?? 'UNKNOWN', error.message ?? response.statusText);
  }
  return parsed as T;
}

export async function signIn(token: string): Promise<Session> {
  const session = await request<Session>('POST', '/api/session', { token });
  csrf = session.csrf;
  return session;
}

/** The session of this tab, when the cookie is still good (after a reload). */
export async function currentSession(): Promise<Session | undefined> {
  try {
    const session = await request<Session>('GET', '/api/session');
    csrf = session.csrf;
    return session;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return undefined;
    throw err;
  }
}

export async function signOut(): Promise<void> {
  await request('DELETE', '/api/session');
  csrf = '';
}

/** One admin API call by its proto name, e.g. admin('GetRoute', { model }). */
export function admin<T>(method: string, body: object = {}): Promise<T> {
  return request<T>('POST', `/api/admin/${method}`, body);
}

/** Per-version rates from the nodes' metrics, between the server's last two scrapes. */
export interface VersionRates {
  model: string;
  version: string;
  requestRate: number;
  errorRate: number;
  p99Ms: number | null;
}

export function nodeRates(): Promise<{ at: string; versions: VersionRates[] }> {
  return request('POST', '/api/node-rates', {});
}

/** Which control plane serves this console, and whether it leads the cluster's leader-only work. */
export function consoleInfo(): Promise<{ controlPlaneId: string; leader: boolean }> {
  return request('POST', '/api/console-info', {});
}

/**
 * What an action just recorded: the newest audit entry of the model by this
 * actor (a rollout's controller may have written more since).
 */
export async function latestHistory(model: string, actor: string): Promise<HistoryEntry | undefined> {
  const { entries } = await admin<{ entries: HistoryEntry[] }>('ListHistory', { model, page_size: 50 });
  return entries.find((e) => e.actor === actor);
}

/** Result of {@link usePoll}: the last good answer, the last error, and a way to fetch now. */
export interface Polled<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  refresh: () => void;
}

/**
 * Calls `load` now and every `intervalMs` while the component is shown (and
 * the tab visible); `deps` restart it. Only the newest answer is kept.
 */
export function usePoll<T>(load: () => Promise<T>, deps: unknown[], intervalMs = 2000): Polled<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [tick, setTick] = useState(0);
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    let cancelled = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async (): Promise<void> => {
      if (document.visibilityState !== 'hidden') {
        try {
          const value = await loadRef.current();
          if (!cancelled) {
            setData(value);
            setError(undefined);
          }
        } catch (err) {
          if (!cancelled) setError(err as Error);
        }
      }
      if (!cancelled) timer = setTimeout(() => void run(), intervalMs);
    };
    void run();
    return () => {
      cancelled = true;
      clearTimeout(timer);
    };
  }, [...deps, tick]);
  useEffect(() => setData(undefined), deps);
  return { data, error, refresh: () => setTick((t) => t + 1) };
}
