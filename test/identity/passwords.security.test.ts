/**
 * Passwords: stored with scrypt at OWASP's minimum work or more, made again with today's
 * parameters when a user with an older hash signs in, and changed only by proving the current
 * one, which ends every other sign-in of the user.
 */
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { auditLogs, users } from '../../src/db/schema.ts';
import { hashPassword } from '../../src/services/identity/passwords.ts';
import { gql, startApp } from '../support/harness.ts';
import { seedOrganization } from '../support/organizations.ts';

const LOGIN = `mutation($input: LoginInput!) { login(input: $input) {
  __typename ... on SignedIn { accessToken refreshToken } ... on Error { code } } }`;
const REFRESH = `mutation($input: RefreshTokenInput!) { refreshToken(input: $input) { __typename } }`;
const CHANGE = `mutation($input: ChangePasswordInput!) { changePassword(input: $input) {
  __typename ... on SignedIn { accessToken refreshToken user { id } } ... on InvalidInput { field } ... on Error { code message } } }`;
const NEW_PASSWORD = 'a brand new passphrase';

let app: App;
beforeAll(async () => {
  app = await startApp();
});
afterAll(() => app.close());

/** Each test signs in from an address of its own: sign-in is limited per address. */
const address = () => `192.0.2.${1 + Math.floor(Math.random() * 254)}`;
const login = (email: string, password: string) => gql(app, LOGIN, { input: { email, password } }, null, address());
const storedHash = async (userId: string) =>
  (await app.services.db.select({ hash: users.passwordHash }).from(users).where(eq(users.id, userId)))[0]!.hash!;
const params = (hash: string) => {
  const [, log2N, r, p] = hash.split('$').map(Number);
  return { N: 2 ** log2N!, r: r!, p: p! };
};

describe('stored passwords', () => {
  it("cost at least OWASP's scrypt minimum (the work of N = 2^17, r = 8, p = 1) and verify", async () => {
    const u = await seedOrganization(app, 'member');
    const { N, r, p } = params(await storedHash(u.userId));
    expect(N * r * p).toBeGreaterThanOrEqual(2 ** 17 * 8);
    expect(r).toBeGreaterThanOrEqual(8);
    expect((await login(u.email, u.password)).data?.login.__typename).toBe('SignedIn');
  });

  it("are hashed again with today's parameters when a user with an older hash signs in, and not on a failed sign-in", async () => {
    const u = await seedOrganization(app, 'member');
    const old = await hashPassword(u.password, { log2N: 14, r: 8, p: 1 });
    await app.services.db.update(users).set({ passwordHash: old }).where(eq(users.id, u.userId));

    expect((await login(u.email, 'not the password at all')).data?.login.__typename).toBe('InvalidCredentials');
    expect(await storedHash(u.userId)).toBe(old);

    expect((await login(u.email, u.password)).data?.login.__typename).toBe('SignedIn');
    const rehashed = await storedHash(u.userId);
    expect(rehashed).not.toBe(old);
    const { N, r, p } = params(rehashed);
    expect(N * r * p).toBeGreaterThanOrEqual(2 ** 17 * 8);
    expect((await login(u.email, u.password)).data?.login.__typename).toBe('SignedIn');
  });
});

describe('changePassword', () => {
  it('replaces the password, ends every other sign-in of the user, answers a new one and leaves an audit row', async () => {
    const u = await seedOrganization(app, 'viewer');
    const elsewhere = (await login(u.email, u.password)).data!.login;

    const changed = await gql(app, CHANGE, { input: { currentPassword: u.password, newPassword: NEW_PASSWORD } }, u.token);
    expect(changed.data?.changePassword).toMatchObject({ __typename: 'SignedIn', user: { id: u.userId } });

    expect((await gql(app, REFRESH, { input: { refreshToken: elsewhere.refreshToken } })).data?.refreshToken.__typename).toBe(
      'InvalidCredentials',
    );
    const mine = changed.data!.changePassword;
    expect((await gql(app, REFRESH, { input: { refreshToken: mine.refreshToken } })).data?.refreshToken.__typename).toBe('SignedIn');
    expect((await login(u.email, u.password)).data?.login.__typename).toBe('InvalidCredentials');
    expect((await login(u.email, NEW_PASSWORD)).data?.login.__typename).toBe('SignedIn');
    const audits = await app.services.db
      .select()
      .from(auditLogs)
      .where(and(eq(auditLogs.resourceId, u.userId), eq(auditLogs.action, 'user.password_changed')));
    expect(audits).toHaveLength(1);
  });

  it('refuses a wrong current password and a new one out of bounds, and changes nothing', async () => {
    const u = await seedOrganization(app, 'member');
    const before = await storedHash(u.userId);
    const change = (currentPassword: string, newPassword: string) =>
      gql(app, CHANGE, { input: { currentPassword, newPassword } }, u.token).then((r) => r.data?.changePassword);

    expect(await change('not my password!', NEW_PASSWORD)).toMatchObject({ __typename: 'InvalidCredentials', code: 'INVALID_CREDENTIALS' });
    expect(await change(u.password, 'short')).toMatchObject({ __typename: 'InvalidInput', field: 'newPassword' });
    expect(await change(u.password, 'x'.repeat(1025))).toMatchObject({ __typename: 'InvalidInput', field: 'newPassword' });
    expect(await storedHash(u.userId)).toBe(before);
  });

  it('is refused to an API key, which has no password', async () => {
    const u = await seedOrganization(app, 'owner');
    const key = await gql(
      app,
      `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { ... on ApiKeyCreated { secret } } }`,
      { input: { name: 'integration', environment: 'LIVE', scopes: ['licenses:read'] } },
      u.token,
    );
    const r = await gql(app, CHANGE, { input: { currentPassword: u.password, newPassword: NEW_PASSWORD } }, key.data!.createApiKey.secret);
    expect(r.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('lets exactly one of five concurrent changes with the same current password win', async () => {
    const u = await seedOrganization(app, 'member');
    const answers = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        gql(app, CHANGE, { input: { currentPassword: u.password, newPassword: `${NEW_PASSWORD} ${i}` } }, u.token),
      ),
    );
    const won = answers.map((a, i) => [a.data?.changePassword.__typename, i] as const).filter(([t]) => t === 'SignedIn');
    expect(won).toHaveLength(1);
    expect(answers.filter((a) => a.data?.changePassword.__typename === 'InvalidCredentials')).toHaveLength(4);
    expect((await login(u.email, `${NEW_PASSWORD} ${won[0]![1]}`)).data?.login.__typename).toBe('SignedIn');
  });
});
