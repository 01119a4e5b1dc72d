/**
 * Single sign-on against a local OpenID Connect issuer: an ID token of a configured provider
 * signs a user in with the same session `login` gives (access token, single-use refresh
 * token), found by issuer and subject; the console's redirect flow (authorization code with
 * PKCE) ends in the same sign-in.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLogs, userIdentities, users } from '../../src/db/schema.ts';
import { gql } from '../support/harness.ts';
import { SIGN_IN_WITH_CODE, signInWith, startSingleSignOn, type SingleSignOn } from '../support/singleSignOn.ts';

let sso: SingleSignOn;
beforeAll(async () => {
  sso = await startSingleSignOn();
});
afterAll(() => sso.close());

const VIEWER = `{ viewer { kind organizationId userId role } }`;
const REFRESH = `mutation($input: RefreshTokenInput!) { refreshToken(input: $input) { __typename ... on SignedIn { accessToken } } }`;
const fresh = (tenant = 'acme') => ({
  sub: crypto.randomUUID(),
  email: `sso-${crypto.randomUUID()}@example.test`,
  email_verified: true,
  tenant,
});

const s256 = async (verifier: string) =>
  Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))).toString('base64url');

describe('single sign-on with an ID token', () => {
  it("makes a first-time user of the provider's role in the organization its claim maps to, and signs them in", async () => {
    const who = fresh('beta');
    const signedIn = await signInWith(sso.app, await sso.realms.main.sign(who));
    expect(signedIn).toMatchObject({ __typename: 'SignedIn', user: { organizationId: sso.beta.orgId, email: who.email, role: 'member' } });

    const viewer = await gql(sso.app, VIEWER, {}, signedIn.accessToken);
    expect(viewer.data?.viewer).toEqual({ kind: 'user', organizationId: sso.beta.orgId, userId: signedIn.user.id, role: 'member' });
    const [user] = await sso.app.services.db.select().from(users).where(eq(users.id, signedIn.user.id));
    expect(user?.passwordHash).toBeNull();
    const identities = await sso.app.services.db.select().from(userIdentities).where(eq(userIdentities.userId, signedIn.user.id));
    expect(identities).toMatchObject([{ issuer: sso.realms.main.issuer, subject: who.sub, orgId: sso.beta.orgId }]);
  });

  it('finds the same user again by issuer and subject, even when the provider now gives another email', async () => {
    const who = fresh();
    const first = await signInWith(sso.app, await sso.realms.main.sign(who));
    const again = await signInWith(sso.app, await sso.realms.main.sign({ ...who, email: `renamed-${who.email}` }));
    expect(again).toMatchObject({ __typename: 'SignedIn', user: { id: first.user.id, email: who.email } });
    const [identity] = await sso.app.services.db.select().from(userIdentities).where(eq(userIdentities.subject, who.sub));
    expect(identity?.email).toBe(`renamed-${who.email}`);
  });

  it('gives a session like any sign-in: its refresh token rotates, and the sign-ins are in the audit log', async () => {
    const signedIn = await signInWith(sso.app, await sso.realms.main.sign(fresh()));
    const refreshed = await gql(sso.app, REFRESH, { input: { refreshToken: signedIn.refreshToken } });
    expect(refreshed.data?.refreshToken.__typename).toBe('SignedIn');
    const audit = await sso.app.services.db
      .select({ action: auditLogs.action, data: auditLogs.data })
      .from(auditLogs)
      .where(and(eq(auditLogs.orgId, sso.acme.orgId), eq(auditLogs.resourceId, signedIn.user.id)));
    expect(audit.map((a) => a.action).sort()).toEqual(['user.created', 'user.logged_in']);
    expect(audit.find((a) => a.action === 'user.logged_in')?.data).toMatchObject({ provider: 'keycloak' });
  });

  it("links a first sign-in to the organization's user of the same verified email, when the provider is set to", async () => {
    const signedIn = await signInWith(sso.app, await sso.realms.main.sign({ sub: crypto.randomUUID(), email: sso.acme.email.toUpperCase(), email_verified: true, tenant: 'acme' }));
    expect(signedIn).toMatchObject({ __typename: 'SignedIn', user: { id: sso.acme.userId, role: 'owner' } });
  });

  it('accepts a token for any of the audiences configured', async () => {
    const signedIn = await signInWith(sso.app, await sso.realms.main.sign(fresh(), { audience: 'another-client' }));
    expect(signedIn.__typename).toBe('SignedIn');
  });

  it('makes exactly one user and one link when 50 first sign-ins of one new identity arrive at once', async () => {
    const who = fresh();
    const token = await sso.realms.main.sign(who);
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => signInWith(sso.app, token, `10.77.0.${i + 1}`)));
    expect(answers.map((a) => a.__typename)).toEqual(Array(50).fill('SignedIn'));
    expect(new Set(answers.map((a) => a.user.id)).size).toBe(1);
    expect(await sso.app.services.db.select().from(users).where(eq(users.email, who.email))).toHaveLength(1);
    expect(await sso.app.services.db.select().from(userIdentities).where(eq(userIdentities.subject, who.sub))).toHaveLength(1);
  }, 60_000);

  it('fetches the key set once for many sign-ins', async () => {
    const before = sso.realms.main.keySetRequests;
    for (let i = 0; i < 5; i++) expect((await signInWith(sso.app, await sso.realms.main.sign(fresh()))).__typename).toBe('SignedIn');
    expect(sso.realms.main.keySetRequests - before).toBe(0);
  });
});

describe("the console's redirect sign-in (authorization code with PKCE)", () => {
  const PROVIDERS = `{ signInProviders { id name issuer redirect { authorizationEndpoint clientId scopes } } }`;

  it('lists the providers, with where the redirect flow starts for those that have one', async () => {
    const r = await gql(sso.app, PROVIDERS);
    const providers = r.data?.signInProviders;
    expect(providers.map((p: { id: string }) => p.id)).toEqual(['keycloak', 'strict', 'hanging', 'unavailable', 'closed']);
    expect(providers[0]).toEqual({
      id: 'keycloak',
      name: 'Keycloak',
      issuer: sso.realms.main.issuer,
      redirect: {
        authorizationEndpoint: `${sso.realms.main.issuer}/protocol/openid-connect/auth`,
        clientId: 'console',
        scopes: ['openid', 'email', 'profile'],
      },
    });
    expect(providers[1].redirect).toBeNull();
  });

  it('swaps the code it came back with, and its verifier, for a sign-in', async () => {
    const who = fresh('beta');
    sso.realms.main.nextSignIn = who;
    const verifier = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('base64url');
    const nonce = crypto.randomUUID();
    const redirectUri = 'http://leasehold.test/dashboard/';
    const authorize = new URL(`${sso.realms.main.issuer}/protocol/openid-connect/auth`);
    for (const [k, v] of Object.entries({
      response_type: 'code',
      client_id: 'console',
      redirect_uri: redirectUri,
      scope: 'openid email',
      code_challenge: await s256(verifier),
      code_challenge_method: 'S256',
      state: 'st',
      nonce,
    }))
      authorize.searchParams.set(k, v);
    const back = new URL((await fetch(authorize, { redirect: 'manual' })).headers.get('location')!);
    const code = back.searchParams.get('code')!;

    const r = await gql(sso.app, SIGN_IN_WITH_CODE, { input: { provider: 'keycloak', code, codeVerifier: verifier, redirectUri, nonce } });
    expect(r.data?.signInWithAuthorizationCode).toMatchObject({
      __typename: 'SignedIn',
      user: { organizationId: sso.beta.orgId, email: who.email, role: 'member' },
    });
  });
});
