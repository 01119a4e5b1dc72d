/**
 * The credential this tab holds: a signed-in user's tokens, or an API key the user pasted.
 * It lives in memory and in sessionStorage (so a reload keeps the tab signed in, and closing
 * the tab forgets it); never in a URL, never in localStorage, never written by the server.
 * Access tokens are refreshed before they run out; a refresh token is single use, so one
 * refresh at a time: two with the same token would revoke the whole sign-in.
 */
import { Client, fetchExchange } from '@urql/core';
import { graphql, readFragment, type FragmentOf } from './graphql.ts';

export type Credential =
  | {
      kind: 'user';
      email: string;
      accessToken: string;
      accessTokenExpiresAt: string;
      refreshToken: string;
    }
  | { kind: 'apiKey'; secret: string };

export interface SessionState {
  credential: Credential | null;
  /** Changes on every sign-in (not on a refresh): a new sign-in gets a fresh client and cache. */
  generation: number;
  /** Why the last session ended, when it was not the user's choice. */
  notice: string | null;
}

const STORAGE_KEY = 'leasehold.credential';

function stored(): Credential | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    return raw ? (JSON.parse(raw) as Credential) : null;
  } catch {
    return null;
  }
}

let state: SessionState = { credential: stored(), generation: 1, notice: null };
const listeners = new Set<() => void>();

function set(next: SessionState) {
  state = next;
  if (next.credential) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(next.credential));
  else sessionStorage.removeItem(STORAGE_KEY);
  for (const listener of listeners) listener();
}

export const session = {
  get: () => state,
  subscribe(listener: () => void) {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  authorization(): string | null {
    const c = state.credential;
    return c ? `Bearer ${c.kind === 'user' ? c.accessToken : c.secret}` : null;
  },
  signIn(credential: Credential) {
    set({ credential, generation: state.generation + 1, notice: null });
  },
  end(notice: string | null) {
    if (state.credential) set({ credential: null, generation: state.generation + 1, notice });
  },
};

/** Sign-in, refresh and sign-out need no credential of their own: a client without one. */
export const anonymous = new Client({ url: '/graphql', exchanges: [fetchExchange], preferGetMethod: false });

export const SIGNED_IN = graphql(`
  fragment SignedInTokens on SignedIn {
    accessToken
    accessTokenExpiresAt
    refreshToken
    user {
      email
    }
  }
`);

const LOGIN = graphql(
  `
    mutation Login($input: LoginInput!) {
      login(input: $input) {
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

const REFRESH = graphql(
  `
    mutation Refresh($input: RefreshTokenInput!) {
      refreshToken(input: $input) {
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

function userCredential(signedIn: FragmentOf<typeof SIGNED_IN>): Credential {
  const tokens = readFragment(SIGNED_IN, signedIn);
  return {
    kind: 'user',
    email: tokens.user.email,
    accessToken: tokens.accessToken,
    accessTokenExpiresAt: tokens.accessTokenExpiresAt,
    refreshToken: tokens.refreshToken,
  };
}

const LOGOUT = graphql(`
  mutation Logout($input: RefreshTokenInput!) {
    logout(input: $input)
  }
`);

const VIEWER = graphql(`
  query ApiKeyViewer {
    viewer {
      kind
    }
  }
`);

export interface RequestFailure {
  graphQLErrors: { message: string }[];
  networkError?: Error | undefined;
  message: string;
}

/** The message to show for a failed request: the server's own words when it gave any. */
export function errorMessage(error: RequestFailure): string {
  if (error.graphQLErrors[0]) return error.graphQLErrors[0].message;
  if (error.networkError) return 'The server cannot be reached. Check your connection and try again.';
  return error.message;
}

/** A sign-in mutation's one root field: the tokens, or an error with its message. */
type SignInAnswer = { __typename: 'SignedIn' } & FragmentOf<typeof SIGNED_IN>;

/** Signs the tab in with a sign-in mutation's result; answers the error message, or null when signed in. */
export function completeSignIn(result: {
  error?: RequestFailure | undefined;
  data?: Record<string, SignInAnswer | { __typename: string; message: string }> | null | undefined;
}): string | null {
  if (result.error) return errorMessage(result.error);
  const answer = Object.values(result.data ?? {})[0];
  if (!answer) return 'The server gave no answer; try again.';
  if (answer.__typename !== 'SignedIn') return (answer as { message: string }).message;
  session.signIn(userCredential(answer as SignInAnswer));
  return null;
}

/** Signs in with email and password; answers the error message, or null when signed in. */
export async function signInWithPassword(email: string, password: string): Promise<string | null> {
  return completeSignIn(await anonymous.mutation(LOGIN, { input: { email, password } }).toPromise());
}

/** Checks a pasted API key by asking who it is; answers the error message, or null when it works. */
export async function signInWithApiKey(secret: string): Promise<string | null> {
  const trimmed = secret.trim();
  if (!/^pk_(live|test)_\S+$/.test(trimmed)) return 'An API key starts with pk_live_ or pk_test_.';
  const result = await anonymous
    .query(VIEWER, {}, { fetchOptions: { headers: { authorization: `Bearer ${trimmed}` } }, requestPolicy: 'network-only' })
    .toPromise();
  if (result.error) return errorMessage(result.error);
  session.signIn({ kind: 'apiKey', secret: trimmed });
  return null;
}

let refreshing: Promise<boolean> | undefined;

/** Swaps the refresh token for new tokens, once at a time; a refused refresh ends the session. */
export function refreshSession(): Promise<boolean> {
  refreshing ??= (async () => {
    const c = state.credential;
    if (c?.kind !== 'user') return false;
    const result = await anonymous.mutation(REFRESH, { input: { refreshToken: c.refreshToken } }).toPromise();
    // The server could not be asked: keep the tokens and try again later.
    if (result.error?.networkError) return false;
    const refreshed = result.data?.refreshToken;
    if (refreshed?.__typename !== 'SignedIn') {
      session.end('Your session has ended. Sign in again.');
      return false;
    }
    // Only the tokens change: the same sign-in goes on with the same client.
    set({ ...state, credential: userCredential(refreshed) });
    return true;
  })().finally(() => (refreshing = undefined));
  return refreshing;
}

/** How long before its expiry an access token is replaced. */
export const REFRESH_AHEAD_MS = 120_000;

export function needsRefresh(now = Date.now()): boolean {
  const c = state.credential;
  return c?.kind === 'user' && Date.parse(c.accessTokenExpiresAt) - now < REFRESH_AHEAD_MS;
}

export async function signOut(): Promise<void> {
  const c = state.credential;
  session.end(null);
  // The refresh token's whole family is revoked; the access token runs out within its hour.
  if (c?.kind === 'user') await anonymous.mutation(LOGOUT, { input: { refreshToken: c.refreshToken } }).toPromise();
}
