/**
 * Who may call what: every root field of the built schema (Query, Mutation, Subscription)
 * against every role and every API-key scope. The tables below are the reviewed contract; a new
 * root field without an entry fails, and so does a field whose scope moved, in either direction.
 *
 * Each field is called with the least input its arguments take (placeholders of the right type),
 * so the call passes validation and reaches the scope check; what the resolver then answers to
 * that input does not matter here, only whether the scope check let the call through.
 */
import {
  getNamedType,
  isEnumType,
  isInputObjectType,
  isLeafType,
  isListType,
  isNonNullType,
  parse,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLSchema,
  type ExecutionResult,
} from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.ts';
import { SCOPES } from '../../src/services/principals.ts';
import { gql, startApp } from '../support/harness.ts';
import { seedOrganization } from '../support/organizations.ts';

type Scope = (typeof SCOPE_NAMES)[number];
/** `public`: no credential needed; `authenticated`: any credential; else the scope the credential must hold. */
type Requirement = 'public' | 'authenticated' | Scope;

const SCOPE_NAMES = [
  'licenses:read',
  'licenses:write',
  'seats:admin',
  'apikeys:read',
  'apikeys:write',
  'webhooks:read',
  'webhooks:write',
  'audit:read',
  'usage:read',
  'users:write',
] as const;

const READ: Scope[] = ['licenses:read', 'apikeys:read', 'webhooks:read', 'audit:read', 'usage:read'];
const ROLES = {
  owner: [...SCOPE_NAMES],
  admin: [...SCOPE_NAMES],
  member: [...READ, 'licenses:write', 'seats:admin', 'webhooks:write'],
  viewer: READ,
} satisfies Record<string, Scope[]>;

const REQUIRED: Record<string, Requirement> = {
  'Query.apiKeyUsage': 'usage:read',
  'Query.apiKeys': 'apikeys:read',
  'Query.auditLogs': 'audit:read',
  'Query.license': 'licenses:read',
  'Query.licenseVerifications': 'licenses:read',
  'Query.licenses': 'licenses:read',
  'Query.seatUtilization': 'licenses:read',
  'Query.session': 'licenses:read',
  'Query.sessions': 'licenses:read',
  'Query.verifyAuditChain': 'audit:read',
  'Query.signInProviders': 'public',
  'Query.viewer': 'authenticated',
  'Query.webhookDeliveries': 'webhooks:read',
  'Query.webhookDelivery': 'webhooks:read',
  'Query.webhookEndpoint': 'webhooks:read',
  'Query.webhookEndpoints': 'webhooks:read',
  'Query.webhookEventTypes': 'webhooks:read',
  'Query.webhookMetrics': 'webhooks:read',

  'Mutation.acquireSeat': 'public',
  'Mutation.heartbeatSeat': 'public',
  'Mutation.releaseSeat': 'public',
  'Mutation.borrowSeat': 'public',
  'Mutation.returnSeat': 'public',
  'Mutation.heartbeatQueueTicket': 'public',
  'Mutation.leaveQueue': 'public',
  'Mutation.claimQueuedSeat': 'public',
  'Mutation.requestCertificate': 'public',
  'Mutation.recordUsage': 'public',
  'Mutation.validateLicense': 'public',
  'Mutation.login': 'public',
  'Mutation.signInWithIdToken': 'public',
  'Mutation.signInWithAuthorizationCode': 'public',
  'Mutation.refreshToken': 'public',
  'Mutation.logout': 'public',
  'Mutation.changePassword': 'authenticated',
  'Mutation.createUser': 'users:write',
  'Mutation.createLicense': 'licenses:write',
  'Mutation.updateLicense': 'licenses:write',
  'Mutation.suspendLicense': 'licenses:write',
  'Mutation.reinstateLicense': 'licenses:write',
  'Mutation.revokeLicense': 'licenses:write',
  'Mutation.renewLicense': 'licenses:write',
  'Mutation.revokeSession': 'seats:admin',
  'Mutation.deactivateMachine': 'seats:admin',
  'Mutation.createApiKey': 'apikeys:write',
  'Mutation.rotateApiKey': 'apikeys:write',
  'Mutation.updateApiKey': 'apikeys:write',
  'Mutation.revokeApiKey': 'apikeys:write',
  'Mutation.createWebhookEndpoint': 'webhooks:write',
  'Mutation.updateWebhookEndpoint': 'webhooks:write',
  'Mutation.deleteWebhookEndpoint': 'webhooks:write',
  'Mutation.rotateWebhookSecret': 'webhooks:write',
  'Mutation.redeliverWebhook': 'webhooks:write',
  'Mutation.sendTestWebhook': 'webhooks:write',
  'Mutation.recoverWebhookDeliveries': 'webhooks:write',
  'Mutation.publishEvent': 'webhooks:write',
  'Mutation.anchorAuditChain': 'audit:read',

  'Subscription.seatCountChanged': 'licenses:read',
  'Subscription.seatCountsChanged': 'licenses:read',
  'Subscription.seatQueueUpdated': 'public',
  'Subscription.webhookDeliveryUpdated': 'webhooks:read',
};

/** What the scope check did with a call. */
type Verdict = 'passed' | 'UNAUTHENTICATED' | 'FORBIDDEN';

interface Credential {
  name: string;
  /** null: no Authorization header at all */
  token: string | null;
  scopes: readonly Scope[];
}

function expectedVerdict(requirement: Requirement, credential: Credential): Verdict {
  if (requirement === 'public') return 'passed';
  if (credential.token === null) return 'UNAUTHENTICATED';
  return requirement === 'authenticated' || credential.scopes.includes(requirement) ? 'passed' : 'FORBIDDEN';
}

// ── Calls built from the schema ─────────────────────────────────────────────────────────────

const ROOTS = ['Query', 'Mutation', 'Subscription'] as const;
const OPERATION = { Query: 'query', Mutation: 'mutation', Subscription: 'subscription' } as const;

function rootFields(schema: GraphQLSchema): [root: (typeof ROOTS)[number], field: GraphQLField<unknown, unknown>][] {
  const types = { Query: schema.getQueryType(), Mutation: schema.getMutationType(), Subscription: schema.getSubscriptionType() };
  return ROOTS.flatMap((root) =>
    Object.values(types[root]?.getFields() ?? {}).map((field) => [root, field] as [typeof root, typeof field]),
  );
}

/** The least value of an input type: required fields only, empty lists, the first enum value. */
function placeholder(type: GraphQLInputType): unknown {
  if (isNonNullType(type)) return placeholder(type.ofType);
  if (isListType(type)) return [];
  if (isEnumType(type)) return type.getValues()[0]!.name;
  if (isInputObjectType(type)) {
    const required = Object.values(type.getFields()).filter((f) => isNonNullType(f.type) && f.defaultValue === undefined);
    return Object.fromEntries(required.map((f) => [f.name, placeholder(f.type)]));
  }
  const scalars: Record<string, unknown> = {
    String: 'x',
    ID: 'x',
    Int: 1,
    Float: 1,
    Boolean: false,
    DateTime: '2026-01-01T00:00:00.000Z',
    JSON: {},
  };
  if (!(type.name in scalars)) throw new Error(`no placeholder for the scalar ${type.name}: add one`);
  return scalars[type.name];
}

function call(root: (typeof ROOTS)[number], field: GraphQLField<unknown, unknown>) {
  const args = field.args.filter((a) => isNonNullType(a.type) && a.defaultValue === undefined);
  const declarations = args.map((a) => `$${a.name}: ${a.type.toString()}`).join(', ');
  const passed = args.map((a) => `${a.name}: $${a.name}`).join(', ');
  const selection = isLeafType(getNamedType(field.type)) ? '' : ' { __typename }';
  return {
    query: `${OPERATION[root]}${declarations ? `(${declarations})` : ''} { ${field.name}${passed ? `(${passed})` : ''}${selection} }`,
    variables: Object.fromEntries(args.map((a) => [a.name, placeholder(a.type)])),
  };
}

function verdictOf(errors: readonly { extensions?: Record<string, unknown> }[] | undefined): Verdict {
  const codes = (errors ?? []).map((e) => `${e.extensions?.code}/${e.extensions?.reason ?? ''}`);
  if (codes.some((c) => c.startsWith('UNAUTHENTICATED/'))) return 'UNAUTHENTICATED';
  if (codes.includes('FORBIDDEN/INSUFFICIENT_SCOPE')) return 'FORBIDDEN';
  return 'passed';
}

// ── The matrix ──────────────────────────────────────────────────────────────────────────────

let app: App;
let schema: GraphQLSchema;
const credentials: Credential[] = [{ name: 'anonymous', token: null, scopes: [] }];
// Sign-in attempts are limited per address; an address of its own keeps this file's failed
// logins from counting against other suites'.
const ADDRESS = `198.51.100.${1 + Math.floor(Math.random() * 254)}`;

beforeAll(async () => {
  app = await startApp();
  schema = app.yoga.getEnveloped({ request: new Request('http://leasehold.test/graphql') }).schema;
  for (const [role, scopes] of Object.entries(ROLES)) {
    const { token } = await seedOrganization(app, role as keyof typeof ROLES);
    credentials.push({ name: role, token, scopes });
  }
  const owner = credentials.find((c) => c.name === 'owner')!;
  for (const scope of SCOPE_NAMES) {
    const created = await gql(
      app,
      `mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { __typename ... on ApiKeyCreated { secret } } }`,
      { input: { name: `only ${scope}`, environment: 'LIVE', scopes: [scope] } },
      owner.token,
    );
    const secret = created.data?.createApiKey?.secret;
    if (!secret) throw new Error(`createApiKey failed: ${JSON.stringify(created)}`);
    credentials.push({ name: `key with ${scope}`, token: secret, scopes: [scope] });
  }
});
afterAll(() => app.close());

async function verdict(root: (typeof ROOTS)[number], field: GraphQLField<unknown, unknown>, credential: Credential) {
  const { query, variables } = call(root, field);
  if (root !== 'Subscription') {
    const response = await gql(app, query, variables, credential.token, ADDRESS);
    const seen = verdictOf(response.errors);
    // A refused call answers nothing of the field.
    if (seen !== 'passed') expect(response.data?.[field.name] ?? null, `${field.name} as ${credential.name}`).toBeNull();
    return seen;
  }
  // Subscriptions as graphql-ws runs them (src/runtime/graphqlWs.ts): the credential in connection_init.
  const enveloped = app.yoga.getEnveloped({
    connectionParams: credential.token ? { authorization: `Bearer ${credential.token}` } : {},
    remoteAddress: ADDRESS,
    request: new Request('http://websocket/graphql'),
    params: { query, variables },
  });
  const result = (await enveloped.subscribe({
    schema: enveloped.schema,
    document: parse(query),
    variableValues: variables,
    contextValue: await enveloped.contextFactory(),
  })) as ExecutionResult | AsyncIterableIterator<ExecutionResult>;
  if (Symbol.asyncIterator in result) {
    await result.return?.();
    return 'passed';
  }
  return verdictOf(result.errors);
}

describe('the scope of every root field', () => {
  it('has an entry in the reviewed table for every root field of the schema, and no entry for a field that is gone', () => {
    const fields = rootFields(schema).map(([root, field]) => `${root}.${field.name}`);
    expect(fields.sort()).toEqual(Object.keys(REQUIRED).sort());
  });

  it('names every scope the server knows, so a new scope gets its place in the tables', () => {
    expect([...SCOPES].sort()).toEqual([...SCOPE_NAMES].sort());
  });

  it('gives each role and each single-scope API key exactly its scopes', async () => {
    for (const credential of credentials.filter((c) => c.token !== null)) {
      const response = await gql(app, `{ viewer { scopes } }`, {}, credential.token, ADDRESS);
      expect(response.data?.viewer.scopes.sort(), credential.name).toEqual([...credential.scopes].sort());
    }
  });

  // Every root field times every credential, one request each: bounded by the work, not by the default test timeout.
  it('lets each credential through to exactly the fields its scopes allow, and refuses the rest', { timeout: 120_000 }, async () => {
    const expected: Record<string, Record<string, Verdict>> = {};
    const actual: Record<string, Record<string, Verdict>> = {};
    await Promise.all(
      credentials.map(async (credential) => {
        for (const [root, field] of rootFields(schema)) {
          const name = `${root}.${field.name}`;
          const requirement = REQUIRED[name];
          if (!requirement) throw new Error(`${name} has no entry in REQUIRED`);
          (expected[name] ??= {})[credential.name] = expectedVerdict(requirement, credential);
          (actual[name] ??= {})[credential.name] = await verdict(root, field, credential);
        }
      }),
    );
    expect(actual).toEqual(expected);
  });
});
