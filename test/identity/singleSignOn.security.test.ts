/**
 * What single sign-on refuses, each as a typed answer with a code (IdTokenInvalid with its
 * reason, OrganizationUnknown, AccountNotProvisioned) or, when the issuer cannot be asked, a
 * fast SERVICE_UNAVAILABLE: never a stack, never a user or link half made.
 */
import { count, inArray } from 'drizzle-orm';
import postgres from 'postgres';
import { base64url, SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.ts';
import { userIdentities, users } from '../../src/db/schema.ts';
import { DATABASE_URL, gql, testConfig } from '../support/harness.ts';
import { OIDC_TIMEOUT_MS, SIGN_IN_WITH_CODE, signInWith, startSingleSignOn, type SingleSignOn } from '../support/singleSignOn.ts';

let sso: SingleSignOn;
beforeAll(async () => {
  sso = await startSingleSignOn();
});
afterAll(() => sso.close());

const fresh = (tenant = 'acme') => ({ sub: crypto.randomUUID(), email: `sso-${crypto.randomUUID()}@example.test`, email_verified: true, tenant });
const now = () => Math.floor(Date.now() / 1000);

/** The users and links of this suite's organizations (other suites make theirs at the same time). */
async function rows() {
  const orgs = [sso.acme.orgId, sso.beta.orgId];
  const [u] = await sso.app.services.db.select({ n: count() }).from(users).where(inArray(users.orgId, orgs));
  const [i] = await sso.app.services.db.select({ n: count() }).from(userIdentities).where(inArray(userIdentities.orgId, orgs));
  return { users: u!.n, identities: i!.n };
}

/** The answer, checked to carry no trace of the server's insides. */
async function refused(idToken: string) {
  const answer = await signInWith(sso.app, idToken);
  expect(JSON.stringify(answer)).not.toMatch(/\n\s+at |node_modules|\.ts:\d/);
  return answer;
}

describe('single sign-on refuses the token itself', () => {
  const forged = async () => {
    const token = await sso.realms.main.sign(fresh());
    const [header, , signature] = token.split('.');
    return { header: header!, signature: signature! };
  };

  const cases: [string, () => Promise<string>, string][] = [
    ['garbage', async () => 'not a token', 'MALFORMED'],
    ['three parts of nothing', async () => 'a.b.c', 'MALFORMED'],
    ['an issuer nobody configured', async () => sso.realms.main.sign({ ...fresh(), iss: 'https://evil.example' }), 'UNKNOWN_ISSUER'],
    ['another client’s token', async () => sso.realms.main.sign(fresh(), { audience: 'someone-else' }), 'AUDIENCE_MISMATCH'],
    ['an expired token', async () => sso.realms.main.sign({ ...fresh(), iat: now() - 7200 }, { expiresIn: now() - 3600 }), 'EXPIRED'],
    ['a token issued more than a day ago, whatever its exp', async () => sso.realms.main.sign({ ...fresh(), iat: now() - 2 * 86_400 }, { expiresIn: now() + 3600 }), 'EXPIRED'],
    ['a token not valid before tomorrow', async () => sso.realms.main.sign({ ...fresh(), nbf: now() + 86_400 }), 'NOT_YET_VALID'],
    ['a token issued in an hour', async () => sso.realms.main.sign({ ...fresh(), iat: now() + 3600 }, { expiresIn: now() + 7200 }), 'NOT_YET_VALID'],
    ['alg none', async () => new UnsecuredJWT(fresh()).setIssuer(sso.realms.main.issuer).setAudience('console').setIssuedAt().setExpirationTime('1h').encode(), 'ALGORITHM_NOT_ALLOWED'],
    [
      'an HMAC keyed with something public',
      async () =>
        new SignJWT(fresh())
          .setProtectedHeader({ alg: 'HS256', kid: 'any' })
          .setIssuer(sso.realms.main.issuer)
          .setAudience('console')
          .setIssuedAt()
          .setExpirationTime('1h')
          .sign(new TextEncoder().encode('the-public-modulus-as-a-secret')),
      'ALGORITHM_NOT_ALLOWED',
    ],
    ['a key the key set does not have', async () => sso.realms.main.sign(fresh(), { key: 'unpublished' }), 'KEY_NOT_FOUND'],
    [
      'a key of its own under a published key id',
      async () => sso.realms.main.sign(fresh(), { key: 'unpublished', kid: sso.realms.main.kid }),
      'SIGNATURE_INVALID',
    ],
    [
      'a payload changed after signing',
      async () => {
        const { header, signature } = await forged();
        return `${header}.${base64url.encode(JSON.stringify({ ...fresh(), iss: sso.realms.main.issuer, aud: 'console', iat: now(), exp: now() + 600, role: 'owner' }))}.${signature}`;
      },
      'SIGNATURE_INVALID',
    ],
    ['no subject', async () => sso.realms.main.sign({ email: 'x@example.test', email_verified: true, tenant: 'acme' }), 'CLAIM_MISSING'],
    ['an unverified email', async () => sso.realms.main.sign({ ...fresh(), email_verified: false }), 'EMAIL_NOT_VERIFIED'],
    ['an email that is not one', async () => sso.realms.main.sign({ ...fresh(), email: 'not an email' }), 'CLAIM_MISSING'],
    ['an email outside the allowed domains', async () => sso.realms.strict.sign({ ...fresh(), email: 'x@elsewhere.test' }, { audience: 'strict-client' }), 'EMAIL_DOMAIN_NOT_ALLOWED'],
    ['no email where domains are required', async () => sso.realms.strict.sign({ sub: crypto.randomUUID() }, { audience: 'strict-client' }), 'CLAIM_MISSING'],
  ];

  it.each(cases)('%s', async (_name, token, reason) => {
    const before = await rows();
    const answer = await refused(await token());
    expect(answer).toMatchObject({ __typename: 'IdTokenInvalid', code: 'ID_TOKEN_INVALID', reason });
    expect(answer.message).toEqual(expect.any(String));
    expect(await rows()).toEqual(before);
  });

  it('a token longer than any ID token, as BAD_USER_INPUT before it is parsed', async () => {
    expect(await refused(`${'a'.repeat(20_000)}.b.c`)).toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('costs no request to the issuer for alg none or an HMAC', async () => {
    const before = sso.realms.main.keySetRequests;
    await refused(await cases.find(([n]) => n === 'alg none')![1]());
    expect(sso.realms.main.keySetRequests).toBe(before);
  });
});

describe('single sign-on refuses a good token that maps to no account', () => {
  it('ORGANIZATION_UNKNOWN when the claim names an organization the provider does not map, or none', async () => {
    const before = await rows();
    for (const claims of [{ ...fresh(), tenant: 'nobody' }, { ...fresh(), tenant: undefined }, { ...fresh(), tenant: ['acme', 'beta'] }, { ...fresh(), tenant: 'ghost' }]) {
      expect(await refused(await sso.realms.main.sign(claims))).toMatchObject({ __typename: 'OrganizationUnknown', code: 'ORGANIZATION_UNKNOWN' });
    }
    expect(await rows()).toEqual(before);
  });

  it('ORGANIZATION_UNKNOWN when a linked identity comes back naming another organization', async () => {
    const who = fresh('acme');
    expect((await signInWith(sso.app, await sso.realms.main.sign(who))).__typename).toBe('SignedIn');
    expect(await refused(await sso.realms.main.sign({ ...who, tenant: 'beta' }))).toMatchObject({ code: 'ORGANIZATION_UNKNOWN' });
  });

  it('ACCOUNT_NOT_PROVISIONED when the provider makes no users and none is linked', async () => {
    const before = await rows();
    const answer = await refused(await sso.realms.strict.sign(fresh(), { audience: 'strict-client' }));
    expect(answer).toMatchObject({ __typename: 'AccountNotProvisioned', code: 'ACCOUNT_NOT_PROVISIONED' });
    expect(await rows()).toEqual(before);
  });

  it("ACCOUNT_NOT_PROVISIONED for the organization's own user of the same email when the provider is not set to link", async () => {
    const before = await rows();
    const answer = await refused(await sso.realms.strict.sign({ sub: crypto.randomUUID(), email: sso.acme.email, email_verified: true }, { audience: 'strict-client' }));
    expect(answer).toMatchObject({ code: 'ACCOUNT_NOT_PROVISIONED', message: expect.stringMatching(/not set to link/) });
    expect(await rows()).toEqual(before);
  });

  it("ACCOUNT_NOT_PROVISIONED for another organization's user of the same email: an email alone never hands over an account", async () => {
    const before = await rows();
    // beta's owner, but the token says acme: linking only ever happens inside the mapped organization.
    const answer = await refused(await sso.realms.main.sign({ sub: crypto.randomUUID(), email: sso.beta.email, email_verified: true, tenant: 'acme' }));
    expect(answer).toMatchObject({ code: 'ACCOUNT_NOT_PROVISIONED' });
    expect(await rows()).toEqual(before);
  });

  it('a user of single sign-on has no password to sign in with or change', async () => {
    const who = fresh();
    const signedIn = await signInWith(sso.app, await sso.realms.main.sign(who));
    const login = await gql(sso.app, `mutation($i: LoginInput!) { login(input: $i) { __typename } }`, { i: { email: who.email, password: '' } });
    expect(login.data?.login.__typename).toBe('InvalidCredentials');
    const change = await gql(
      sso.app,
      `mutation($i: ChangePasswordInput!) { changePassword(input: $i) { __typename ... on Error { message } } }`,
      { i: { currentPassword: 'anything at all here', newPassword: 'a brand new password' } },
      signedIn.accessToken,
    );
    expect(change.data?.changePassword).toMatchObject({ __typename: 'InvalidCredentials', message: expect.stringMatching(/single sign-on/) });
  });
});

describe("users' issuer accounts", () => {
  it("are another organization's to see or plant only inside it (row-level security)", async () => {
    const who = fresh('acme');
    const signedIn = await signInWith(sso.app, await sso.realms.main.sign(who));
    const sql = postgres(DATABASE_URL, { max: 1, onnotice: () => {} });
    try {
      await sql.begin(async (tx) => {
        await tx`select set_config('app.org_id', ${sso.beta.orgId}, true), set_config('role', 'leasehold_app', true)`;
        expect(await tx`select id from user_identities where subject = ${who.sub}`).toHaveLength(0);
        expect((await tx`update user_identities set user_id = ${sso.beta.userId} where subject = ${who.sub}`).count).toBe(0);
      });
      await expect(
        sql.begin(async (tx) => {
          await tx`select set_config('app.org_id', ${sso.beta.orgId}, true), set_config('role', 'leasehold_app', true)`;
          await tx`insert into user_identities (id, org_id, user_id, issuer, subject) values ('uid_planted', ${sso.acme.orgId}, ${signedIn.user.id}, 'https://planted', 'x')`;
        }),
      ).rejects.toThrow(/row-level security/);
    } finally {
      await sql.end();
    }
  });
});

describe('single sign-on when the issuer cannot be asked', () => {
  const token = (realm: 'hanging' | 'unavailable' | 'closed') => sso.realms[realm].sign(fresh());

  it.each(['hanging', 'unavailable', 'closed'] as const)('answers SERVICE_UNAVAILABLE within the timeout when the key set is %s', async (realm) => {
    const before = await rows();
    const started = performance.now();
    const answer = await refused(await token(realm));
    expect(answer).toMatchObject({ __typename: 'RequestError', code: 'SERVICE_UNAVAILABLE', message: expect.stringMatching(/identity provider/) });
    expect(performance.now() - started).toBeLessThan(OIDC_TIMEOUT_MS + 1000);
    expect(await rows()).toEqual(before);
  });
});

describe("the console's redirect flow refuses", () => {
  const input = { provider: 'keycloak', code: 'code', codeVerifier: 'v'.repeat(43), redirectUri: 'http://leasehold.test/dashboard/', nonce: crypto.randomUUID() };
  const exchange = async (overrides: Partial<typeof input>) =>
    (await gql(sso.app, SIGN_IN_WITH_CODE, { input: { ...input, ...overrides } })).data?.signInWithAuthorizationCode;

  async function authorize(nonce: string, verifier: string) {
    const challenge = Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))).toString('base64url');
    const url = new URL(`${sso.realms.main.issuer}/protocol/openid-connect/auth`);
    url.search = new URLSearchParams({ response_type: 'code', client_id: 'console', redirect_uri: input.redirectUri, code_challenge: challenge, code_challenge_method: 'S256', nonce }).toString();
    return new URL((await fetch(url, { redirect: 'manual' })).headers.get('location')!).searchParams.get('code')!;
  }

  it('a provider without a console client, or none at all, as InvalidInput', async () => {
    expect(await exchange({ provider: 'strict' })).toMatchObject({ __typename: 'InvalidInput', field: 'provider' });
    expect(await exchange({ provider: 'nope' })).toMatchObject({ __typename: 'InvalidInput', field: 'provider' });
    expect(await exchange({ codeVerifier: 'short' })).toMatchObject({ __typename: 'InvalidInput', field: 'codeVerifier' });
    expect(await exchange({ redirectUri: 'javascript:alert(1)' })).toMatchObject({ __typename: 'InvalidInput', field: 'redirectUri' });
  });

  it('a code with the wrong verifier, as CODE_REFUSED', async () => {
    sso.realms.main.nextSignIn = fresh();
    const code = await authorize(input.nonce, 'a'.repeat(43));
    expect(await exchange({ code, codeVerifier: 'b'.repeat(43) })).toMatchObject({ __typename: 'IdTokenInvalid', reason: 'CODE_REFUSED' });
  });

  it('a token that does not carry the nonce of this sign-in, as NONCE_MISMATCH', async () => {
    sso.realms.main.nextSignIn = fresh();
    const verifier = 'c'.repeat(43);
    const code = await authorize(crypto.randomUUID(), verifier);
    expect(await exchange({ code, codeVerifier: verifier })).toMatchObject({ __typename: 'IdTokenInvalid', reason: 'NONCE_MISMATCH' });
  });
});

describe('OIDC_PROVIDERS', () => {
  const base = { id: 'p', issuer: 'https://idp.example', audience: 'client', organization: { id: 'org_x' } };
  const load = (providers: unknown) => () => loadConfig({ ...envOf(), OIDC_PROVIDERS: JSON.stringify(providers) });
  const envOf = () => ({ NODE_ENV: 'test' });

  it.each([
    ['alg none', [{ ...base, algorithms: ['none'] }], /"none" is not allowed/],
    ['an HMAC', [{ ...base, algorithms: ['HS256'] }], /"HS256" is not allowed/],
    ['http off loopback', [{ ...base, issuer: 'http://idp.example' }], /https URL/],
    ['one issuer twice', [base, { ...base, id: 'q' }], /configured twice/],
    ['a setting nobody knows', [{ ...base, roleClaim: 'x' }], /unknown roleClaim/],
    ['no organization', [{ ...base, organization: undefined }], /organization/],
    ['a role that is none', [{ ...base, newUserRole: 'superuser' }], /newUserRole/],
    ['a console client that is not an audience', [{ ...base, console: { clientId: 'other' } }], /audiences/],
  ])('refuses %s, naming the variable', (_name, providers, message) => {
    expect(load(providers)).toThrow(/^OIDC_PROVIDERS: /);
    expect(load(providers)).toThrow(message);
  });

  it('reads a valid list, with its defaults', () => {
    const [p] = testConfig({ OIDC_PROVIDERS: JSON.stringify([base]) }).identityProviders;
    expect(p).toMatchObject({ name: 'p', algorithms: ['RS256'], requireVerifiedEmail: true, newUserRole: null, linkByEmail: false, console: undefined });
  });
});

describe('single sign-on limits', () => {
  it("counts against the address's sign-in bound, shared with password sign-in", async () => {
    const limited = await startSingleSignOn({ RATE_LIMITS: JSON.stringify({ ...testConfig().rateLimits, signInAddress: '3/day' }) });
    try {
      const token = await limited.realms.main.sign(fresh());
      // An address of its own: the buckets live in Redis, past this run.
      const address = `10.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}.1`;
      const answers = [];
      const answer = async () => {
        const a = await signInWith(limited.app, token, address);
        return a.__typename === 'SignedIn' ? 'SignedIn' : a.code;
      };
      answers.push(await answer(), await answer());
      const login = await gql(limited.app, `mutation($i: LoginInput!) { login(input: $i) { __typename } }`, { i: { email: 'x@example.test', password: 'wrong' } }, null, address);
      answers.push(login.data?.login.__typename, await answer());
      expect(answers).toEqual(['SignedIn', 'SignedIn', 'InvalidCredentials', 'RATE_LIMITED']);
    } finally {
      await limited.close();
    }
  }, 60_000);
});
