/**
 * Sign-in attempts are limited per account and address together, per address across accounts
 * and per account from every address, and a stranger cannot lock the owner out: not from one
 * address, and not from many, since an address the account signed in from lately passes the
 * per-account bound. The buckets are the defaults' order of sizes made smaller (each failed
 * attempt costs a scrypt) with refills slowed to a day, so no token comes back while a test runs
 * however loaded the machine: counts are exact.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { gql, startApp, testConfig } from '../support/harness.ts';
import { seedOrganization } from '../support/organizations.ts';

const LOGIN = `mutation($input: LoginInput!) { login(input: $input) { __typename ... on Error { code } } }`;

let app: App;
const LIMITS = { accountAddress: 5, address: 8, account: 10 };
beforeAll(async () => {
  const { rateLimits } = testConfig();
  app = await startApp({
    RATE_LIMITS: JSON.stringify({
      ...rateLimits,
      signInAccountAddress: `${LIMITS.accountAddress}/day`,
      signInAddress: `${LIMITS.address}/day`,
      signInAccount: `${LIMITS.account}/day`,
    }),
  });
});
afterAll(() => app.close());

/** A /16 of its own per test, so tests of this file and others never share an address's bucket. */
const network = () => `10.${100 + Math.floor(Math.random() * 150)}.${Math.floor(Math.random() * 250)}`;

/** What one sign-in answers: its result type, or the refusal's code. */
async function signIn(email: string, password: string, address: string) {
  const r = await gql(app, LOGIN, { input: { email, password } }, null, address);
  return (r.data?.login?.__typename as string | undefined) ?? (r.errors?.[0]?.extensions?.code as string);
}

const tally = (answers: string[]) => answers.reduce<Record<string, number>>((t, a) => ({ ...t, [a]: (t[a] ?? 0) + 1 }), {});

// Each failed attempt is a scrypt: on a loaded machine a test's few dozen take a while.
describe('sign-in limits', () => {
  it('allow a few attempts for one account from one address, and the owner still signs in from hers', async () => {
    const owner = await seedOrganization(app, 'owner');
    const net = network();
    const attacker = await Promise.all(Array.from({ length: LIMITS.accountAddress + 1 }, () => signIn(owner.email, 'a wrong password', `${net}.1`)));
    expect(tally(attacker)).toEqual({ InvalidCredentials: LIMITS.accountAddress, RATE_LIMITED: 1 });
    expect(await signIn(owner.email, owner.password, `${net}.2`)).toBe('SignedIn');
  }, 120_000);

  it('allow a bound per account from every address together, past which only an address the owner signed in from gets in', async () => {
    const owner = await seedOrganization(app, 'owner');
    const net = network();
    const home = `${net}.250`;
    expect(await signIn(owner.email, owner.password, home)).toBe('SignedIn');

    // One wrong password from each of many addresses: no address reaches its own bound.
    const spread = await Promise.all(
      Array.from({ length: LIMITS.account - 1 }, (_, i) => signIn(owner.email, 'a wrong password', `${net}.${i + 1}`)),
    );
    expect(tally(spread)).toEqual({ InvalidCredentials: LIMITS.account - 1 });
    expect(await signIn(owner.email, 'a wrong password', `${net}.100`)).toBe('RATE_LIMITED');
    // A new address is refused even with the right password: the account's attempts are spent.
    expect(await signIn(owner.email, owner.password, `${net}.101`)).toBe('RATE_LIMITED');
    // The owner's own address is known, so she still signs in.
    expect(await signIn(owner.email, owner.password, home)).toBe('SignedIn');
  }, 120_000);

  it('allow a bound per address across accounts', async () => {
    const address = `${network()}.1`;
    const answers = await Promise.all(
      Array.from({ length: LIMITS.address + 1 }, (_, i) => signIn(`sprayed-${i}-${crypto.randomUUID()}@example.test`, 'Summer2026!!', address)),
    );
    expect(tally(answers)).toEqual({ InvalidCredentials: LIMITS.address, RATE_LIMITED: 1 });
  }, 120_000);

  it('say when to try again', async () => {
    const owner = await seedOrganization(app, 'member');
    const address = `${network()}.1`;
    const answers = await Promise.all(
      Array.from({ length: LIMITS.accountAddress + 1 }, () => gql(app, LOGIN, { input: { email: owner.email, password: 'a wrong password' } }, null, address)),
    );
    const limited = answers.find((a) => a.errors?.[0]?.extensions?.code === 'RATE_LIMITED')!;
    expect(limited.errors![0]!.extensions!.retryAfter).toBeGreaterThan(0);
    expect(limited.errors![0]!.message).toMatch(/^Too many sign-in attempts; try again in \d+ s\.$/);
  }, 120_000);
});
