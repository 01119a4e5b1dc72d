/** Dashboard credentials: only our own, current, well-formed access tokens get in; refresh tokens are single use. */
import { eq } from 'drizzle-orm';
import { exportPKCS8, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { createClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { App } from '../../src/app.ts';
import { auditLogs } from '../../src/db/schema.ts';
import { ADMIN_TOKEN, gql, startApp } from '../support/harness.ts';
import { seedOrganization } from '../support/organizations.ts';
import { serve } from '../support/server.ts';

let app: App;
let ourKey: CryptoKey;
let ourKid: string;
/** The sign-in session of the seeded user's token: a forged token needs a live one too. */
let ourSid: string;
let user: Awaited<ReturnType<typeof seedOrganization>>;

beforeAll(async () => {
  const pair = await generateKeyPair('Ed25519', { extractable: true });
  ourKey = pair.privateKey;
  app = await startApp({ ACCESS_TOKEN_KEY_PEM: await exportPKCS8(pair.privateKey) });
  user = await seedOrganization(app, 'viewer');
  ourKid = JSON.parse(Buffer.from(user.token.split('.')[0]!, 'base64url').toString()).kid;
  ourSid = JSON.parse(Buffer.from(user.token.split('.')[1]!, 'base64url').toString()).sid;
});
afterAll(() => app.close());

const VIEWER = `{ viewer { kind organizationId userId role scopes } }`;
const code = (r: { errors?: { extensions?: Record<string, unknown> }[] }) => r.errors?.[0]?.extensions?.code;

function forge(claims: Record<string, unknown>, header: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ org: user.orgId, roles: ['owner'], sid: ourSid, ...claims })
    .setProtectedHeader({ alg: 'EdDSA', kid: ourKid, typ: 'at+jwt', ...header } as { alg: string })
    .setSubject(user.userId)
    .setIssuer((claims.iss as string) ?? 'leasehold')
    .setAudience((claims.aud as string) ?? 'leasehold-api')
    .setIssuedAt(now)
    .setExpirationTime((claims.exp as number) ?? now + 600);
}

describe('access tokens', () => {
  it('lets a valid token in with the scopes of its role', async () => {
    const r = await gql(app, VIEWER, {}, user.token);
    expect(r.data?.viewer).toMatchObject({ kind: 'user', organizationId: user.orgId, userId: user.userId, role: 'viewer' });
    expect(r.data?.viewer.scopes).not.toContain('licenses:write');
  });

  it('refuses a viewer a write with FORBIDDEN', async () => {
    const r = await gql(app, `mutation { createLicense(input: { tier: "x", features: [], maxSeats: 1 }) { __typename } }`, {}, user.token);
    expect(code(r)).toBe('FORBIDDEN');
  });

  it('refuses alg none, HS256, expired, wrong audience, wrong issuer, a key that is not ours and no sign-in session', async () => {
    const [header, payload] = user.token.split('.');
    const unsignedHeader = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
    const otherKey = (await generateKeyPair('Ed25519')).privateKey;
    const tampered = [
      `${unsignedHeader}.${payload}.`,
      await new SignJWT({ org: user.orgId, roles: ['owner'] })
        .setProtectedHeader({ alg: 'HS256', kid: ourKid })
        .setSubject(user.userId)
        .setIssuer('leasehold')
        .setAudience('leasehold-api')
        .setExpirationTime('10m')
        .sign(new TextEncoder().encode(header)),
      await forge({ exp: Math.floor(Date.now() / 1000) - 60 }).sign(ourKey),
      await forge({ aud: 'someone-else' }).sign(ourKey),
      await forge({ iss: 'evil' }).sign(ourKey),
      await forge({}, { kid: 'not-our-key' }).sign(ourKey),
      await forge({}).sign(otherKey),
      await forge({ sid: undefined }).sign(ourKey),
      await forge({ sid: 'rtf_never_signed_in' }).sign(ourKey),
      await forge({}, { typ: 'lease+jwt' }).sign(ourKey),
      await forge({}, { typ: undefined }).sign(ourKey),
      user.token.slice(0, -2) + (user.token.endsWith('AA') ? 'BB' : 'AA'),
    ];
    for (const token of tampered) {
      expect(code(await gql(app, VIEWER, {}, token))).toBe('UNAUTHENTICATED');
    }
    // The same forging code with every claim right is accepted: the refusals above are for the flaw.
    expect((await gql(app, VIEWER, {}, await forge({}).sign(ourKey))).data?.viewer.userId).toBe(user.userId);
    // As are the tokens issued before access tokens named their type, while a key of their own signs them.
    expect((await gql(app, VIEWER, {}, await forge({}, { typ: 'JWT' }).sign(ourKey))).data?.viewer.userId).toBe(user.userId);
  });

  it('names its type, at+jwt, in the header', () => {
    expect(JSON.parse(Buffer.from(user.token.split('.')[0]!, 'base64url').toString())).toEqual({
      alg: 'EdDSA',
      kid: ourKid,
      typ: 'at+jwt',
    });
  });
});

describe('sign-in and refresh tokens', () => {
  const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { __typename ... on SignedIn { accessToken refreshToken user { id role } } ... on Error { code } } }`;
  const REFRESH = `mutation($t: String!) { refreshToken(input: { refreshToken: $t }) { __typename ... on SignedIn { accessToken refreshToken } ... on Error { code message } } }`;

  it('signs in with the right password and refuses a wrong one', async () => {
    const u = await seedOrganization(app, 'member');
    const ok = await gql(app, LOGIN, { input: { email: u.email.toUpperCase(), password: u.password } }, null, '10.0.0.1');
    expect(ok.data?.login).toMatchObject({ __typename: 'SignedIn', user: { id: u.userId, role: 'member' } });
    expect((await gql(app, VIEWER, {}, ok.data!.login.accessToken)).data?.viewer.userId).toBe(u.userId);

    const wrong = await gql(app, LOGIN, { input: { email: u.email, password: 'wrong password!' } }, null, '10.0.0.1');
    expect(wrong.data?.login).toEqual({ __typename: 'InvalidCredentials', code: 'INVALID_CREDENTIALS' });
    const audits = await app.services.db.select().from(auditLogs).where(eq(auditLogs.resourceId, u.userId));
    expect(audits.map((a) => a.action).sort()).toEqual(['user.created', 'user.logged_in']);
  });

  it('rotates refresh tokens, and a spent one used again revokes the whole family', async () => {
    const u = await seedOrganization(app, 'member');
    const first = (await gql(app, LOGIN, { input: { email: u.email, password: u.password } }, null, '10.3.0.1')).data!.login;
    const second = (await gql(app, REFRESH, { t: first.refreshToken })).data!.refreshToken;
    expect(second.__typename).toBe('SignedIn');
    expect(second.refreshToken).not.toBe(first.refreshToken);

    const replay = (await gql(app, REFRESH, { t: first.refreshToken })).data!.refreshToken;
    expect(replay).toMatchObject({ __typename: 'InvalidCredentials' });
    // The thief's replay also burned the legitimate newest token of the family.
    expect((await gql(app, REFRESH, { t: second.refreshToken })).data!.refreshToken.__typename).toBe('InvalidCredentials');
  });

  it('logs out by revoking the refresh token family', async () => {
    const u = await seedOrganization(app, 'member');
    const signed = (await gql(app, LOGIN, { input: { email: u.email, password: u.password } }, null, '10.4.0.1')).data!.login;
    expect((await gql(app, `mutation($t: String!) { logout(input: { refreshToken: $t }) }`, { t: signed.refreshToken })).data?.logout).toBe(
      true,
    );
    expect((await gql(app, REFRESH, { t: signed.refreshToken })).data!.refreshToken.__typename).toBe('InvalidCredentials');
  });
});

describe('blank credentials', () => {
  // `{ __typename }` is answered to anyone, an anonymous caller included: only a refused credential gets an error.
  const QUERY = '{ __typename }';
  const answer = (body: { data?: unknown; errors?: readonly { extensions?: Record<string, unknown> }[] }) =>
    body.errors ? (body.errors[0]?.extensions?.code as string) : 'answered';

  async function overHttp(authorization: string) {
    const response = await app.yoga.fetch('http://leasehold.test/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization },
      body: JSON.stringify({ query: QUERY }),
    });
    return answer(await response.json());
  }

  /** The same over graphql-ws, with this value as connectionParams.authorization. */
  async function overWebSocket(wsUrl: string, authorization: unknown) {
    const client = createClient({ url: wsUrl, webSocketImpl: WebSocket, connectionParams: { authorization }, retryAttempts: 0 });
    try {
      return await new Promise<string>((resolve, reject) => {
        let result = 'nothing';
        client.subscribe(
          { query: QUERY },
          {
            next: (value) => (result = answer(value)),
            // An operation refused before it runs answers an error message: its list of GraphQL errors.
            error: (errors) => (Array.isArray(errors) ? resolve(answer({ errors })) : reject(errors)),
            complete: () => resolve(result),
          },
        );
      });
    } finally {
      await client.dispose();
    }
  }

  // Header values are bytes, so over HTTP only Latin-1 blanks can be sent; connectionParams carry any text.
  const httpBlanks = ['', 'Bearer', 'Bearer \u00a0', 'Bearer \t', 'Bearer \u00a0\u00a0 \u00a0'];
  const wsBlanks = [...httpBlanks, 'Bearer \u2003', 'Bearer \u3000\u200a', 'Bearer \ufeff', 42, true, {}, ['Bearer x']];

  it('refuses an empty or whitespace-only bearer credential on HTTP with UNAUTHENTICATED', async () => {
    for (const authorization of httpBlanks)
      expect([authorization, await overHttp(authorization)]).toEqual([authorization, 'UNAUTHENTICATED']);
    // The same request with a real credential is answered: the refusals are for the blank.
    expect(await overHttp(`Bearer ${ADMIN_TOKEN}`)).toBe('answered');
  });

  it('takes an operator token set with a trailing newline (a mounted secret file) as the token without it', async () => {
    const mounted = await startApp({ LEASEHOLD_ADMIN_TOKEN: `${ADMIN_TOKEN}\n` });
    try {
      expect((await gql(mounted, '{ viewer { kind } }', {}, ADMIN_TOKEN)).data?.viewer.kind).toBe('operator');
    } finally {
      await mounted.close();
    }
  });

  it('refuses them in graphql-ws connectionParams too, and a value that is not a string', async () => {
    const server = await serve(app);
    try {
      for (const authorization of wsBlanks) {
        expect([authorization, await overWebSocket(server.wsUrl, authorization)]).toEqual([authorization, 'UNAUTHENTICATED']);
      }
      expect(await overWebSocket(server.wsUrl, `Bearer ${ADMIN_TOKEN}`)).toBe('answered');
      expect(await overWebSocket(server.wsUrl, undefined)).toBe('answered');
    } finally {
      await server.close();
    }
  });
});
