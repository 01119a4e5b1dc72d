/** Dashboard credentials: only our own, current, well-formed access tokens get in; refresh tokens are single use. */
import { eq } from 'drizzle-orm';
import { exportPKCS8, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { auditLogs } from '../../src/db/schema.ts';
import { gql, startApp } from '../support/harness.ts';
import { seedOrganization } from '../support/organizations.ts';

let app: App;
let ourKey: CryptoKey;
let ourKid: string;
let user: Awaited<ReturnType<typeof seedOrganization>>;

beforeAll(async () => {
  const pair = await generateKeyPair('Ed25519', { extractable: true });
  ourKey = pair.privateKey;
  app = await startApp({ ACCESS_TOKEN_KEY_PEM: await exportPKCS8(pair.privateKey) });
  user = await seedOrganization(app, 'viewer');
  ourKid = JSON.parse(Buffer.from(user.token.split('.')[0]!, 'base64url').toString()).kid;
});
afterAll(() => app.close());

const VIEWER = `{ viewer { kind organizationId userId role scopes } }`;
const code = (r: { errors?: { extensions?: Record<string, unknown> }[] }) => r.errors?.[0]?.extensions?.code;

function forge(claims: Record<string, unknown>, header: Record<string, unknown> = {}) {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ org: user.orgId, roles: ['owner'], ...claims })
    .setProtectedHeader({ alg: 'EdDSA', kid: ourKid, ...header } as { alg: string })
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

  it('refuses alg none, HS256, expired, wrong audience, wrong issuer and a key that is not ours', async () => {
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
      user.token.slice(0, -2) + (user.token.endsWith('AA') ? 'BB' : 'AA'),
    ];
    for (const token of tampered) {
      expect(code(await gql(app, VIEWER, {}, token))).toBe('UNAUTHENTICATED');
    }
    // The same forging code with every claim right is accepted: the refusals above are for the flaw.
    expect((await gql(app, VIEWER, {}, await forge({}).sign(ourKey))).data?.viewer.userId).toBe(user.userId);
  });
});

describe('sign-in and refresh tokens', () => {
  const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { __typename ... on SignedIn { accessToken refreshToken user { id role } } ... on Error { code } } }`;
  const REFRESH = `mutation($t: String!) { refreshToken(input: { refreshToken: $t }) { __typename ... on SignedIn { accessToken refreshToken } ... on Error { code message } } }`;

  it('signs in with the right password, refuses a wrong one, and audits the failure', async () => {
    const u = await seedOrganization(app, 'member');
    const ok = await gql(app, LOGIN, { input: { email: u.email.toUpperCase(), password: u.password } }, null, '10.0.0.1');
    expect(ok.data?.login).toMatchObject({ __typename: 'SignedIn', user: { id: u.userId, role: 'member' } });
    expect((await gql(app, VIEWER, {}, ok.data!.login.accessToken)).data?.viewer.userId).toBe(u.userId);

    const wrong = await gql(app, LOGIN, { input: { email: u.email, password: 'wrong password!' } }, null, '10.0.0.1');
    expect(wrong.data?.login).toEqual({ __typename: 'InvalidCredentials', code: 'INVALID_CREDENTIALS' });
    const audits = await app.services.db.select().from(auditLogs).where(eq(auditLogs.resourceId, u.userId));
    expect(audits.map((a) => a.action)).toContain('user.login_failed');
  });

  it('limits sign-in to 5 attempts a minute per account', async () => {
    const u = await seedOrganization(app, 'member');
    // At once, so the minute's refill cannot hand out a sixth attempt however slow each sign-in is.
    const attempts = await Promise.all(
      Array.from({ length: 6 }, (_, i) => gql(app, LOGIN, { input: { email: u.email, password: 'nope nope nope' } }, null, `10.1.0.${i}`)),
    );
    expect(attempts.filter((a) => a.data?.login.__typename === 'InvalidCredentials')).toHaveLength(5);
    const limited = attempts.filter((a) => code(a) === 'RATE_LIMITED');
    expect(limited).toHaveLength(1);
    expect(limited[0]!.errors![0]!.extensions!.retryAfter).toBeGreaterThan(0);
  });

  it('limits sign-in to 5 attempts a minute per address across accounts', async () => {
    const attempts = await Promise.all(
      Array.from({ length: 6 }, (_, i) => gql(app, LOGIN, { input: { email: `nobody${i}@example.test`, password: 'x'.repeat(12) } }, null, '10.2.0.1')),
    );
    expect(attempts.filter((a) => a.data?.login.__typename === 'InvalidCredentials')).toHaveLength(5);
    expect(attempts.filter((a) => code(a) === 'RATE_LIMITED')).toHaveLength(1);
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
