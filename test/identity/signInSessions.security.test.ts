/**
 * A dashboard sign-in ends at once: after logout, a password change or a reused refresh token,
 * the session's access tokens are refused with UNAUTHENTICATED on HTTP and over graphql-ws, on
 * the instance that ended it at once and on every other within SESSION_CACHE_MS, and still after
 * the shared store forgot what it knew (Postgres is the record). A subscription the session
 * opened delivers nothing more once it has ended.
 */
import { exportPKCS8, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { SESSION_CACHE_MS } from '../../src/services/identity/signInSessions.ts';
import { connectRedis } from '../../src/stores/redisConnection.ts';
import { acquire, gql, REDIS_URL, sleep, startApp } from '../support/harness.ts';
import { seedOrganization } from '../support/organizations.ts';
import { collect, serve, wsClient } from '../support/server.ts';
import { createLicenseAs } from '../support/webhooks.ts';

const VIEWER = `{ viewer { userId } }`;
const LOGOUT = `mutation($t: String!) { logout(input: { refreshToken: $t }) }`;
const REFRESH = `mutation($t: String!) { refreshToken(input: { refreshToken: $t }) { __typename ... on SignedIn { accessToken refreshToken } } }`;
const CHANGE = `mutation($input: ChangePasswordInput!) { changePassword(input: $input) { __typename ... on SignedIn { accessToken } } }`;
const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { __typename ... on SignedIn { accessToken refreshToken } } }`;

let app: App;
/** A second instance on the same Postgres and Redis, as behind a load balancer. */
let other: App;
let server: Awaited<ReturnType<typeof serve>>;
const redis = await connectRedis(REDIS_URL);

beforeAll(async () => {
  const { privateKey } = await generateKeyPair('Ed25519', { extractable: true });
  const env = { ACCESS_TOKEN_KEY_PEM: await exportPKCS8(privateKey) };
  [app, other] = await Promise.all([startApp(env), startApp(env)]);
  server = await serve(app);
});
afterAll(async () => {
  await server.close();
  await Promise.all([app.close(), other.close()]);
  redis.disconnect();
});

const sid = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sid as string;

/** Who the token is, or the refusal's code and reason. */
async function whoIs(instance: App, token: string) {
  const r = await gql(instance, VIEWER, {}, token);
  return r.data?.viewer?.userId ?? `${r.errors?.[0]?.extensions?.code} ${r.errors?.[0]?.extensions?.reason}`;
}

/** The same question over graphql-ws, the credential in connection_init. */
async function whoIsOverWebSocket(token: string) {
  const client = wsClient(server.wsUrl, token);
  try {
    const result = await new Promise<Record<string, any>>((resolve, reject) => {
      let value: Record<string, any> = {};
      client.subscribe(
        { query: VIEWER },
        {
          next: (v) => (value = v),
          // An operation refused before it runs answers an error message: its list of GraphQL errors.
          error: (errors) => (Array.isArray(errors) ? resolve({ errors }) : reject(errors)),
          complete: () => resolve(value),
        },
      );
    });
    return result.data?.viewer?.userId ?? `${result.errors?.[0]?.extensions?.code} ${result.errors?.[0]?.extensions?.reason}`;
  } finally {
    await client.dispose();
  }
}

const ENDED = 'UNAUTHENTICATED SESSION_ENDED';

describe('an access token after its sign-in ended', () => {
  it('is refused at once after logout, on HTTP and over graphql-ws', async () => {
    const u = await seedOrganization(app, 'member');
    expect(await whoIs(app, u.token)).toBe(u.userId);
    expect(await whoIsOverWebSocket(u.token)).toBe(u.userId);

    expect((await gql(app, LOGOUT, { t: u.refreshToken })).data?.logout).toBe(true);
    expect(await whoIs(app, u.token)).toBe(ENDED);
    expect(await whoIsOverWebSocket(u.token)).toBe(ENDED);
  });

  it('is refused by another instance within SESSION_CACHE_MS of the logout', async () => {
    const u = await seedOrganization(app, 'member');
    // The other instance has just believed the session live, so its cache holds it.
    expect(await whoIs(other, u.token)).toBe(u.userId);
    await gql(app, LOGOUT, { t: u.refreshToken });
    await sleep(SESSION_CACHE_MS + 50);
    expect(await whoIs(other, u.token)).toBe(ENDED);
  });

  it('is refused for every session of the user after a password change, and the new sign-in works', async () => {
    const u = await seedOrganization(app, 'member');
    const elsewhere = (await gql(app, LOGIN, { input: { email: u.email, password: u.password } }, null, '198.51.100.7')).data!.login;
    expect(await whoIs(app, elsewhere.accessToken)).toBe(u.userId);

    const changed = await gql(app, CHANGE, { input: { currentPassword: u.password, newPassword: 'another long passphrase' } }, u.token);
    const fresh = changed.data!.changePassword.accessToken as string;
    expect(await whoIs(app, u.token)).toBe(ENDED);
    expect(await whoIs(app, elsewhere.accessToken)).toBe(ENDED);
    expect(await whoIsOverWebSocket(elsewhere.accessToken)).toBe(ENDED);
    expect(await whoIs(app, fresh)).toBe(u.userId);
  });

  it('is refused once a spent refresh token is used again: the whole family ends, access tokens included', async () => {
    const u = await seedOrganization(app, 'member');
    const rotated = (await gql(app, REFRESH, { t: u.refreshToken })).data!.refreshToken;
    // A rotation keeps the session: the new access token belongs to it and works, and so does the old one.
    expect(sid(rotated.accessToken)).toBe(sid(u.token));
    expect(await whoIs(app, rotated.accessToken)).toBe(u.userId);

    expect((await gql(app, REFRESH, { t: u.refreshToken })).data!.refreshToken.__typename).toBe('InvalidCredentials');
    expect(await whoIs(app, rotated.accessToken)).toBe(ENDED);
    expect(await whoIs(app, u.token)).toBe(ENDED);
  });

  it('stays refused when the shared store lost what it knew, on an instance that never saw the session', async () => {
    const u = await seedOrganization(app, 'member');
    await gql(app, LOGOUT, { t: u.refreshToken });
    await redis.del(`lh:sis:{${sid(u.token)}}`);
    expect(await whoIs(other, u.token)).toBe(ENDED);
  });

  it('leaves the user’s other sign-ins working after a logout of one', async () => {
    const u = await seedOrganization(app, 'member');
    const second = (await gql(app, LOGIN, { input: { email: u.email, password: u.password } }, null, '198.51.100.8')).data!.login;
    await gql(app, LOGOUT, { t: u.refreshToken });
    expect(await whoIs(app, u.token)).toBe(ENDED);
    expect(await whoIs(app, second.accessToken)).toBe(u.userId);
    expect(await whoIs(other, second.accessToken)).toBe(u.userId);
  });

  it('ends a subscription the session opened: its next event is UNAUTHENTICATED, not the data', async () => {
    const u = await seedOrganization(app, 'owner');
    const license = await createLicenseAs(app, u.token, { maxSeats: 3 });
    const client = wsClient(server.wsUrl, u.token);
    try {
      const feed = collect<{ seatCountChanged: { used: number } }>(client, `subscription($id: ID!) { seatCountChanged(licenseId: $id) { used } }`, {
        id: license.id,
      });
      expect(await feed.until(1)).toEqual([{ seatCountChanged: { used: 0 } }]);
      await gql(app, LOGOUT, { t: u.refreshToken });
      await acquire(app, license.key, 'after-logout');
      await expect(feed.until(2)).rejects.toThrow(/SESSION_ENDED/);
      expect(feed.events).toHaveLength(1);
    } finally {
      await client.dispose();
    }
  });

  it('answers logout again for an ended session, so a logout that failed half-way can be retried', async () => {
    const u = await seedOrganization(app, 'member');
    await gql(app, LOGOUT, { t: u.refreshToken });
    // The store forgot the end (as if writing it had failed); the retry writes it again.
    await redis.set(`lh:sis:{${sid(u.token)}}`, 'live');
    expect((await gql(app, LOGOUT, { t: u.refreshToken })).data?.logout).toBe(true);
    expect(await whoIs(other, u.token)).toBe(ENDED);
  });
});
