/**
 * The app with OIDC_PROVIDERS pointing at realms of a local issuer, and two organizations for
 * them to map to (made through a first app, since the providers' settings name them at start).
 */
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import type { App } from '../../src/app.ts';
import { gql, startApp, testConfig } from './harness.ts';
import { startLocalIssuer, type LocalIssuer, type Realm } from './oidcIssuer.ts';
import { seedOrganization } from './organizations.ts';

export const SIGN_IN_WITH_ID_TOKEN = `mutation($input: SignInWithIdTokenInput!) { signInWithIdToken(input: $input) {
  __typename
  ... on SignedIn { accessToken refreshToken user { id organizationId email role } }
  ... on IdTokenInvalid { reason }
  ... on Error { code message } } }`;

export const SIGN_IN_WITH_CODE = `mutation($input: SignInWithAuthorizationCodeInput!) { signInWithAuthorizationCode(input: $input) {
  __typename
  ... on SignedIn { accessToken refreshToken user { id organizationId email role } }
  ... on IdTokenInvalid { reason }
  ... on InvalidInput { field }
  ... on Error { code message } } }`;

/** A port nothing listens on: connections to it are refused at once. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface Issuers {
  issuer: LocalIssuer;
  realms: Record<'main' | 'strict' | 'hanging' | 'unavailable' | 'closed', Realm>;
  acme: Awaited<ReturnType<typeof seedOrganization>>;
  beta: Awaited<ReturnType<typeof seedOrganization>>;
  /** OIDC_PROVIDERS and the rest of the environment of an app that signs in with them. */
  env: Record<string, string>;
  close(): Promise<void>;
}

export interface SingleSignOn extends Issuers {
  app: App;
}

export const OIDC_TIMEOUT_MS = 500;

/** The issuer's realms, the organizations they map to, and the settings naming them. */
export async function startIssuers(): Promise<Issuers> {
  const issuer = await startLocalIssuer();
  const seeding = await startApp();
  const [acme, beta] = [await seedOrganization(seeding, 'owner'), await seedOrganization(seeding, 'owner')];
  const realms = {
    main: await issuer.addRealm('main'),
    strict: await issuer.addRealm('strict'),
    hanging: await issuer.addRealm('hanging'),
    unavailable: await issuer.addRealm('unavailable'),
    closed: await issuer.addRealm('closed'),
  };
  realms.hanging.keySet = 'hanging';
  realms.unavailable.keySet = 'unavailable';
  const fixed = { organization: { id: acme.orgId }, newUserRole: 'viewer', audience: 'console' };
  const providers = [
    {
      id: 'keycloak',
      name: 'Keycloak',
      issuer: realms.main.issuer,
      audience: ['console', 'another-client'],
      organization: { claim: 'tenant', map: { acme: acme.orgId, beta: beta.orgId, ghost: 'org_00000000000000000000ghost' } },
      newUserRole: 'member',
      linkByEmail: true,
      console: { clientId: 'console' },
    },
    {
      id: 'strict',
      name: 'Strict',
      issuer: realms.strict.issuer,
      audience: 'strict-client',
      jwksUri: `${realms.strict.issuer}/protocol/openid-connect/certs`,
      organization: { id: acme.orgId },
      emailDomains: ['example.test'],
    },
    { id: 'hanging', issuer: realms.hanging.issuer, ...fixed },
    { id: 'unavailable', issuer: realms.unavailable.issuer, ...fixed },
    { id: 'closed', issuer: realms.closed.issuer, jwksUri: `http://127.0.0.1:${await closedPort()}/certs`, ...fixed },
  ];
  const env = {
    OIDC_PROVIDERS: JSON.stringify(providers),
    OIDC_TIMEOUT_MS: String(OIDC_TIMEOUT_MS),
    // Every sign-in of these suites comes from one address; the limits test sets its own.
    RATE_LIMITS: JSON.stringify({ ...testConfig().rateLimits, signInAddress: '1000000/min' }),
  };
  return {
    issuer,
    realms,
    acme,
    beta,
    env,
    async close() {
      await seeding.close();
      await issuer.close();
    },
  };
}

export async function startSingleSignOn(env: Record<string, string> = {}): Promise<SingleSignOn> {
  const issuers = await startIssuers();
  const app = await startApp({ ...issuers.env, ...env });
  return {
    ...issuers,
    app,
    async close() {
      await app.close();
      await issuers.close();
    },
  };
}

/** What one sign-in with an ID token answers: its result (reason or code included), or the request error. */
export async function signInWith(app: App, idToken: string, address = '127.0.0.1') {
  const r = await gql(app, SIGN_IN_WITH_ID_TOKEN, { input: { idToken } }, null, address);
  return r.data?.signInWithIdToken ?? { __typename: 'RequestError', code: r.errors?.[0]?.extensions?.code, message: r.errors?.[0]?.message };
}
