/** The console's shell: sign-in until a credential is held, then the navigation and the pages, for what that credential may do. */
import { useEffect, useMemo, useSyncExternalStore } from 'react';
import { Provider, useQuery } from 'urql';
import { Link, Redirect, Route, Router, Switch } from 'wouter';
import { createConsoleClient, type ConsoleClient } from './client.ts';
import { ApiKeys } from './pages/ApiKeys.tsx';
import { Audit } from './pages/Audit.tsx';
import { License } from './pages/License.tsx';
import { Licenses } from './pages/Licenses.tsx';
import { Overview } from './pages/Overview.tsx';
import { SignIn } from './pages/SignIn.tsx';
import { Usage } from './pages/Usage.tsx';
import { Webhooks } from './pages/Webhooks.tsx';
import { errorMessage, REFRESH_AHEAD_MS, refreshSession, session, signOut, type Credential } from './session.ts';
import { EmptyState, ErrorMessage } from './ui.tsx';
import { VIEWER, ViewerProvider } from './viewer.tsx';

export function App() {
  const state = useSyncExternalStore(session.subscribe, session.get);
  if (!state.credential) return <SignIn notice={state.notice} />;
  return <SignedIn key={state.generation} credential={state.credential} />;
}

function SignedIn({ credential }: { credential: Credential }) {
  const consoleClient = useMemo(createConsoleClient, []);
  useEffect(() => consoleClient.dispose, [consoleClient]);
  useRefreshBeforeExpiry(credential, consoleClient);
  return (
    <Provider value={consoleClient.client}>
      <Shell credential={credential} />
    </Provider>
  );
}

/** Replaces the access token before it runs out, and reconnects live views under the new one. */
function useRefreshBeforeExpiry(credential: Credential, consoleClient: ConsoleClient) {
  const expiresAt = credential.kind === 'user' ? credential.accessTokenExpiresAt : null;
  useEffect(() => {
    if (!expiresAt) return;
    const timer = setTimeout(
      async () => {
        if (await refreshSession()) consoleClient.reconnect();
      },
      Math.max(Date.parse(expiresAt) - Date.now() - REFRESH_AHEAD_MS, 0),
    );
    return () => clearTimeout(timer);
  }, [expiresAt, consoleClient]);
}

const NAVIGATION = [
  { href: '/overview', label: 'Overview', scope: 'licenses:read' },
  { href: '/licenses', label: 'Licenses', scope: 'licenses:read' },
  { href: '/api-keys', label: 'API keys', scope: 'apikeys:read' },
  { href: '/webhooks', label: 'Webhooks', scope: 'webhooks:read' },
  { href: '/usage', label: 'Usage', scope: 'usage:read' },
  { href: '/audit', label: 'Audit log', scope: 'audit:read' },
] as const;

function Shell({ credential }: { credential: Credential }) {
  const [{ data, error }] = useQuery({ query: VIEWER });
  if (error) {
    return (
      <main className="sign-in">
        <ErrorMessage>{errorMessage(error)}</ErrorMessage>
        <button type="button" onClick={() => void signOut()}>
          Sign out
        </button>
      </main>
    );
  }
  if (!data) return <p aria-busy="true">Loading…</p>;
  const viewer = data.viewer;
  const who = credential.kind === 'user' ? `${credential.email} (${viewer.role})` : `API key ${viewer.apiKeyId ?? ''}`;
  return (
    <ViewerProvider viewer={viewer}>
      <Router base="/dashboard">
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        <header className="top">
          <Link href="/" className="brand">
            Leasehold
          </Link>
          <nav aria-label="Console">
            <ul>
              {NAVIGATION.filter((item) => viewer.scopes.includes(item.scope)).map((item) => (
                <li key={item.href}>
                  <Link href={item.href} className={(active) => (active ? 'active' : '')}>
                    {item.label}
                  </Link>
                </li>
              ))}
            </ul>
          </nav>
          <div className="who">
            <span>{who}</span>
            <button type="button" onClick={() => void signOut()}>
              Sign out
            </button>
          </div>
        </header>
        <main id="main" tabIndex={-1}>
          <Switch>
            <Route path="/">
              <Redirect to="/overview" replace />
            </Route>
            <Route path="/overview">
              <Overview />
            </Route>
            <Route path="/licenses">
              <Licenses />
            </Route>
            <Route path="/licenses/:id">{(params) => <License id={decodeURIComponent(params.id)} />}</Route>
            <Route path="/api-keys">
              <ApiKeys />
            </Route>
            <Route path="/webhooks">
              <Webhooks />
            </Route>
            <Route path="/usage">
              <Usage />
            </Route>
            <Route path="/audit">
              <Audit />
            </Route>
            <Route>
              <EmptyState title="There is no page here.">
                <Link href="/">Back to the console</Link>
              </EmptyState>
            </Route>
          </Switch>
        </main>
      </Router>
    </ViewerProvider>
  );
}
