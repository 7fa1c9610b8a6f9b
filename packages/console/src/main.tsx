// The console's shell: sign-in, navigation, and the page for the hash route.
import 'uplot/dist/uPlot.min.css';
import './styles.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, currentSession, setSignedOutHandler, signIn, signOut, type Session } from './api.js';
import { HistoryPage } from './pages/history.js';
import { ModelPage } from './pages/model.js';
import { Overview } from './pages/overview.js';
import { RetirementPage } from './pages/retirement.js';
import { RolloutPage } from './pages/rollout.js';
import { ShadowReportPage } from './pages/shadow-report.js';
import { ActionContext, ActionDialog, SessionContext, type PendingAction } from './ui.js';

function useHashRoute(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const changed = (): void => setHash(location.hash);
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return hash;
}

function Page(props: { hash: string }) {
  const [path, query = ''] = props.hash.replace(/^#/, '').split('?');
  const parts = (path || '/').split('/').filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query);
  if (parts[0] === 'model' && parts[1]) {
    if (parts[2] === 'rollout') return <RolloutPage model={parts[1]} />;
    if (parts[2] === 'shadows') return <ShadowReportPage model={parts[1]} />;
    return <ModelPage name={parts[1]} />;
  }
  if (parts[0] === 'retirement') return <RetirementPage />;
  if (parts[0] === 'history') return <HistoryPage model={params.get('model') ?? ''} />;
  return <Overview />;
}

function SignIn(props: { onSignedIn: (s: Session) => void; notice?: string }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      props.onSignedIn(await signIn(token));
    } catch (err) {
      setError(err instanceof ApiError ? err.message : (err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin">
      <h1>Switchyard console</h1>
      <form onSubmit={(e) => void submit(e)} aria-label="sign in">
        <label for="token">Bearer token</label>
        <input id="token" type="password" autocomplete="off" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} autofocus />
        <p class="muted">
          The same token as for the CLI (<code>switchyard up</code> writes the local admin token to <code>.switchyard/token</code>). It stays on the control plane; this tab holds only a session that ends when the tab closes.
        </p>
        {props.notice && <p class="note">{props.notice}</p>}
        {error && (
          <p class="error" role="alert" id="signin-error">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          Sign in
        </button>
      </form>
    </main>
  );
}

function App() {
  const [session, setSession] = useState<Session | undefined | null>(null);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const [action, setAction] = useState<PendingAction | undefined>(undefined);
  const hash = useHashRoute();
  useEffect(() => {
    setSignedOutHandler(() => {
      setNotice('Your session ended; sign in again.');
      setSession(undefined);
    });
    currentSession().then(setSession, () => setSession(undefined));
  }, []);
  if (session === null) return <p class="muted">Loading…</p>;
  if (session === undefined) return <SignIn onSignedIn={setSession} {...(notice ? { notice } : {})} />;
  const current = (prefix: string): boolean => (prefix === '' ? !/^#\/(retirement|history)/.test(hash) : hash.startsWith(prefix));
  return (
    <SessionContext.Provider value={session}>
      <ActionContext.Provider value={setAction}>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <header>
          <a class="brand" href="#/">
            Switchyard
          </a>
          <nav aria-label="main">
            <a href="#/" aria-current={current('') ? 'page' : undefined}>
              Overview
            </a>
            <a href="#/retirement" aria-current={current('#/retirement') ? 'page' : undefined}>
              Retirement
            </a>
            <a href="#/history" aria-current={current('#/history') ? 'page' : undefined}>
              History
            </a>
          </nav>
          <span class="who" id="who">
            {session.name} <span class="badge">{session.role}</span>
            {!session.authEnabled && <span class="badge warn">auth off</span>}
          </span>
          <button
            type="button"
            onClick={() =>
              void signOut().finally(() => {
                setNotice(undefined);
                setSession(undefined);
              })
            }
          >
            Sign out
          </button>
        </header>
        <main id="main" tabIndex={-1}>
          <Page hash={hash} />
        </main>
        <ActionDialog action={action} close={() => setAction(undefined)} />
      </ActionContext.Provider>
    </SessionContext.Provider>
  );
}

render(<App />, document.getElementById('app')!);
