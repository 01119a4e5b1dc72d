/**
 * Sign-in: email and password, single sign-on with the server's OpenID Connect providers (their
 * redirect flow, or a pasted ID token), or an API key pasted by the user. Nothing is taken from
 * the URL but the code a provider sends back, and that leaves the URL as the page loads.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { anonymous, errorMessage, signInWithApiKey, signInWithPassword } from '../session.ts';
import { finishRedirectSignIn, PROVIDERS, returnedFromProvider, returningFrom, signInWithIdToken, startRedirectSignIn, type SignInProvider } from '../singleSignOn.ts';
import { ErrorMessage } from '../ui.tsx';

type Method = 'password' | 'sso' | 'apiKey';

/** The server's providers, asked once per page load (an issuer that is down only loses its button). */
function useProviders(): { providers: SignInProvider[]; problem: string | null } {
  const [state, setState] = useState<{ providers: SignInProvider[]; problem: string | null }>({ providers: [], problem: null });
  useEffect(() => {
    let live = true;
    void anonymous
      .query(PROVIDERS, {})
      .toPromise()
      .then((result) => {
        if (!live) return;
        setState({
          providers: result.data?.signInProviders ?? [],
          problem: result.error ? `Single sign-on is partly unavailable: ${errorMessage(result.error)}` : null,
        });
      });
    return () => {
      live = false;
    };
  }, []);
  return state;
}

export function SignIn({ notice }: { notice: string | null }) {
  const [method, setMethod] = useState<Method>(returnedFromProvider ? 'sso' : 'password');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(returnedFromProvider);
  /** Why the sign-in the tab came back from a provider with did not finish. */
  const [returnError, setReturnError] = useState<string | null>(null);
  const { providers, problem } = useProviders();

  useEffect(() => {
    if (!returnedFromProvider) return;
    void finishRedirectSignIn().then((failure) => {
      setBusy(false);
      if (failure) setReturnError(failure);
    });
  }, []);

  async function submit(event: FormEvent<HTMLFormElement>, attempt: (form: FormData) => Promise<string | null>) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const failure = await attempt(new FormData(event.currentTarget));
    setBusy(false);
    if (failure) setError(failure);
  }

  const choose = (next: Method) => {
    setMethod(next);
    setError(null);
  };
  const redirecting = providers.filter((p): p is typeof p & { redirect: NonNullable<SignInProvider['redirect']> } => p.redirect !== null);
  const pasting = providers.filter((p) => p.redirect === null).map((p) => p.name);

  return (
    <main className="sign-in">
      <h1>Leasehold</h1>
      <p className="muted">Sign in to the license server's console.</p>
      {notice && !error && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <div role="radiogroup" aria-label="Sign in with" className="segmented">
        <label>
          <input type="radio" name="method" checked={method === 'password'} onChange={() => choose('password')} />
          Email and password
        </label>
        {providers.length > 0 && (
          <label>
            <input type="radio" name="method" checked={method === 'sso'} onChange={() => choose('sso')} />
            Single sign-on
          </label>
        )}
        <label>
          <input type="radio" name="method" checked={method === 'apiKey'} onChange={() => choose('apiKey')} />
          An API key
        </label>
      </div>
      {method === 'password' && (
        <form
          onSubmit={(e) => submit(e, (f) => signInWithPassword(String(f.get('email')), String(f.get('password'))))}
          aria-label="Sign in with email and password"
        >
          <label htmlFor="email">Email</label>
          <input id="email" name="email" type="email" autoComplete="username" required autoFocus />
          <label htmlFor="password">Password</label>
          <input id="password" name="password" type="password" autoComplete="current-password" required />
          <ErrorMessage>{error}</ErrorMessage>
          <button type="submit" className="primary" disabled={busy}>
            Sign in
          </button>
        </form>
      )}
      {method === 'sso' && (
        <section aria-label="Single sign-on" className="sso">
          {returnedFromProvider && busy && (
            <p role="status" aria-busy="true">
              Signing you in with {returningFrom ?? 'your provider'}…
            </p>
          )}
          {redirecting.map((provider) => (
            <button key={provider.id} type="button" className="primary" disabled={busy} onClick={() => void startRedirectSignIn(provider)}>
              Sign in with {provider.name}
            </button>
          ))}
          <ErrorMessage>{returnError}</ErrorMessage>
          <ErrorMessage>{problem}</ErrorMessage>
          <form onSubmit={(e) => submit(e, (f) => signInWithIdToken(String(f.get('idToken'))))} aria-label="Sign in with an ID token">
            <label htmlFor="idToken">ID token</label>
            <textarea id="idToken" name="idToken" rows={4} autoComplete="off" spellCheck={false} required placeholder="eyJhbGciOi…" />
            <p className="hint">
              {pasting.length > 0 ? `From ${pasting.join(', ')}` : 'From your provider'}: the ID token (a JWT) its sign-in gave you,
              such as Firebase's <code>getIdToken()</code>. It is sent to this server only, and not kept.
            </p>
            <ErrorMessage>{error}</ErrorMessage>
            <button type="submit" disabled={busy}>
              Sign in with ID token
            </button>
          </form>
        </section>
      )}
      {method === 'apiKey' && (
        <form onSubmit={(e) => submit(e, (f) => signInWithApiKey(String(f.get('apiKey'))))} aria-label="Sign in with an API key">
          <label htmlFor="apiKey">API key</label>
          <input
            id="apiKey"
            name="apiKey"
            type="password"
            autoComplete="off"
            spellCheck={false}
            placeholder="pk_live_…"
            required
            autoFocus
          />
          <p className="hint">The key stays in this tab only and is forgotten when the tab closes.</p>
          <ErrorMessage>{error}</ErrorMessage>
          <button type="submit" className="primary" disabled={busy}>
            Sign in
          </button>
        </form>
      )}
    </main>
  );
}
