/** Sign-in: email and password, or an API key pasted by the user. Nothing is taken from the URL. */
import { useState, type FormEvent } from 'react';
import { signInWithApiKey, signInWithPassword } from '../session.ts';
import { ErrorMessage } from '../ui.tsx';

export function SignIn({ notice }: { notice: string | null }) {
  const [method, setMethod] = useState<'password' | 'apiKey'>('password');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>, attempt: (form: FormData) => Promise<string | null>) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    const failure = await attempt(new FormData(event.currentTarget));
    setBusy(false);
    if (failure) setError(failure);
  }

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
          <input type="radio" name="method" checked={method === 'password'} onChange={() => (setMethod('password'), setError(null))} />
          Email and password
        </label>
        <label>
          <input type="radio" name="method" checked={method === 'apiKey'} onChange={() => (setMethod('apiKey'), setError(null))} />
          An API key
        </label>
      </div>
      {method === 'password' ? (
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
      ) : (
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
