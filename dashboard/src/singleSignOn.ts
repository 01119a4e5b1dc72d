/**
 * Single sign-on from the console, with the vendor's OpenID Connect provider. Providers with a
 * console client run the authorization-code flow with PKCE (RFC 7636): the tab goes to the
 * provider's authorization endpoint with a fresh verifier's S256 challenge, a state and a
 * nonce kept in session storage, and comes back to /dashboard/ with a code. The code is taken
 * out of the URL before the page renders anything, and the server swaps it (with the verifier)
 * at the provider's token endpoint, so no token of the provider ever reaches the page and the
 * page talks to no origin but its own. Providers without one (Firebase, whose ID tokens come from
 * its own SDK) take a pasted ID token.
 */
import { graphql, type ResultOf } from './graphql.ts';
import { anonymous, completeSignIn, SIGNED_IN } from './session.ts';

export const PROVIDERS = graphql(`
  query SignInProviders {
    signInProviders {
      id
      name
      redirect {
        authorizationEndpoint
        clientId
        scopes
      }
    }
  }
`);

export type SignInProvider = ResultOf<typeof PROVIDERS>['signInProviders'][number];

const WITH_CODE = graphql(
  `
    mutation SignInWithAuthorizationCode($input: SignInWithAuthorizationCodeInput!) {
      signInWithAuthorizationCode(input: $input) {
        __typename
        ...SignedInTokens
        ... on Error {
          message
        }
      }
    }
  `,
  [SIGNED_IN],
);

const WITH_ID_TOKEN = graphql(
  `
    mutation SignInWithIdToken($input: SignInWithIdTokenInput!) {
      signInWithIdToken(input: $input) {
        __typename
        ...SignedInTokens
        ... on Error {
          message
        }
      }
    }
  `,
  [SIGNED_IN],
);

/** The flow under way in this tab, from leaving for the provider to coming back. */
const PENDING_KEY = 'leasehold.sso';

interface Pending {
  provider: string;
  name: string;
  verifier: string;
  state: string;
  nonce: string;
  redirectUri: string;
}

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

const random = (bytes: number) => base64url(crypto.getRandomValues(new Uint8Array(bytes)));

/** Leaves for the provider's sign-in page; the tab comes back to /dashboard/ with a code. */
export async function startRedirectSignIn(provider: SignInProvider & { redirect: NonNullable<SignInProvider['redirect']> }) {
  const pending: Pending = {
    provider: provider.id,
    name: provider.name,
    verifier: random(32),
    state: random(16),
    nonce: random(16),
    redirectUri: `${location.origin}/dashboard/`,
  };
  sessionStorage.setItem(PENDING_KEY, JSON.stringify(pending));
  const challenge = base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(pending.verifier))));
  const url = new URL(provider.redirect.authorizationEndpoint);
  for (const [name, value] of Object.entries({
    response_type: 'code',
    client_id: provider.redirect.clientId,
    redirect_uri: pending.redirectUri,
    scope: provider.redirect.scopes.join(' '),
    state: pending.state,
    nonce: pending.nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }))
    url.searchParams.set(name, value);
  location.assign(url.href);
}

type Returned = { pending: Pending | null; state: string; code: string | null; error: string | null };

/**
 * What the provider sent back, read once as the page loads: the code leaves the URL (and the
 * tab's history entry) before anything renders, and the pending flow leaves session storage,
 * so a reload or a second tab cannot spend either again.
 */
function takeReturn(): Returned | null {
  const params = new URLSearchParams(location.search);
  const state = params.get('state');
  if (!state || (!params.has('code') && !params.has('error'))) return null;
  history.replaceState(history.state, '', `${location.pathname}${location.hash}`);
  let pending: Pending | null = null;
  try {
    pending = JSON.parse(sessionStorage.getItem(PENDING_KEY) ?? 'null') as Pending | null;
  } catch {}
  sessionStorage.removeItem(PENDING_KEY);
  return { pending, state, code: params.get('code'), error: params.get('error') };
}

const returned = takeReturn();

/** Whether the page loaded with a provider's answer to finish; and that provider's name, when this tab started the flow. */
export const returnedFromProvider = returned !== null;
export const returningFrom: string | null = returned?.pending?.name ?? null;

let finishing: Promise<string | null> | undefined;

/** Finishes the sign-in the tab came back from (once); the error message, or null when signed in or nothing was under way. */
export function finishRedirectSignIn(): Promise<string | null> {
  finishing ??= (async () => {
    if (!returned) return null;
    const { pending, state, code, error } = returned;
    // A state this tab did not send is someone else's sign-in: never finished here.
    if (!pending || pending.state !== state) return 'This sign-in was not started in this tab; start it again.';
    if (error || !code) return `${pending.name} did not sign you in (${(error ?? 'no code').slice(0, 64)}).`;
    const input = { provider: pending.provider, code, codeVerifier: pending.verifier, redirectUri: pending.redirectUri, nonce: pending.nonce };
    return completeSignIn(await anonymous.mutation(WITH_CODE, { input }).toPromise());
  })();
  return finishing;
}

/** Signs in with an ID token the user pasted; answers the error message, or null when signed in. */
export async function signInWithIdToken(idToken: string): Promise<string | null> {
  const trimmed = idToken.trim();
  if (!/^[\w-]+\.[\w-]+\.[\w-]+$/.test(trimmed)) return 'An ID token is a JWT: three parts joined by dots.';
  return completeSignIn(await anonymous.mutation(WITH_ID_TOKEN, { input: { idToken: trimmed } }).toPromise());
}
