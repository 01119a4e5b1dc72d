/** The single Pothos builder: plugins, scalars and the context type. */
import SchemaBuilder from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { RefusalReason, RequestError } from '../services/errors.ts';
import type { Scope } from '../services/principals.ts';
import { GraphQLError, Kind, type ValueNode } from 'graphql';
import type { GraphQLContext } from './context.ts';

interface LeaseholdTypes {
  Context: GraphQLContext;
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
  };
  DefaultFieldNullability: false;
  /** `authenticated`: any credential; `scope`: a credential holding it. */
  AuthScopes: { authenticated: boolean; scope: Scope };
}

/** The builder's resolved schema types, for helpers that take refs made by this builder. */
export type BuilderTypes = PothosSchemaTypes.ExtendDefaultTypes<LeaseholdTypes>;

export const builder = new SchemaBuilder<LeaseholdTypes>({
  // Scope checks wrap the errors plugin's results, so an unauthorized caller never sees a union member.
  plugins: [ScopeAuthPlugin, ErrorsPlugin],
  defaultFieldNullability: false,
  errors: { defaultTypes: [] },
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (ctx) => ({
      authenticated: !!ctx.principal,
      scope: (scope) => ctx.principal?.scopes.includes(scope) ?? false,
    }),
    unauthorizedError: (_parent, ctx) =>
      ctx.principal
        ? new RequestError('FORBIDDEN', 'Your credential lacks the scope this field needs.', { reason: RefusalReason.INSUFFICIENT_SCOPE })
        : new RequestError('UNAUTHENTICATED', 'This operation needs an Authorization: Bearer credential.'),
  },
});

builder.scalarType('DateTime', {
  description: 'An ISO-8601 instant in UTC, e.g. 2026-11-22T12:00:00.000Z',
  serialize: (value) => value.toISOString(),
  parseValue: (value) => parseDateTime(value),
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : undefined),
});

function parseDateTime(value: unknown): Date {
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(value)) {
    const date = new Date(value);
    if (!Number.isNaN(date.getTime())) return date;
  }
  throw new GraphQLError('DateTime must be an ISO-8601 string with a time zone', { extensions: { code: 'BAD_USER_INPUT' } });
}

builder.scalarType('JSON', {
  description: 'Any JSON value',
  serialize: (value) => value,
  parseValue: (value) => value,
  parseLiteral: function literal(ast: ValueNode): unknown {
    switch (ast.kind) {
      case Kind.STRING:
      case Kind.BOOLEAN:
        return ast.value;
      case Kind.INT:
      case Kind.FLOAT:
        return Number(ast.value);
      case Kind.NULL:
        return null;
      case Kind.LIST:
        return ast.values.map(literal);
      case Kind.OBJECT:
        return Object.fromEntries(ast.fields.map((f) => [f.name.value, literal(f.value)]));
      default:
        throw new GraphQLError('JSON literals cannot contain variables', { extensions: { code: 'BAD_USER_INPUT' } });
    }
  },
});

// Every root field needs a credential unless it opts out with `skipTypeScopes: true` (the seat path, validateLicense,
// sign-in): a new field is closed until said otherwise, and an open one runs with no scope-check wrapper, whose
// per-request cache would cost the seat path more than the rest of its GraphQL work.
builder.queryType({ authScopes: { authenticated: true } });
builder.mutationType({ authScopes: { authenticated: true } });
builder.subscriptionType({ authScopes: { authenticated: true } });
