/**
 * What one GraphQL document may ask, checked before it executes: GraphQL Armor's limits on
 * tokens (counted while lexing, so a document nested 20,000 deep is refused before the parser
 * recurses), depth, aliases, directives and cost, and no field suggestions in validation errors
 * (they map the schema for a stranger). Each refusal is a parse or validation error with
 * HTTP 400.
 *
 * Signing is the expensive work, and aliases would multiply it: `signatureCount` counts the
 * documents an operation can sign (each field marked `signs` in the schema, times the `first`
 * of every page it sits in), and the rate-limit plugin charges one token per signature and
 * refuses an operation that asks for more than a request may carry.
 *
 * The SDK's persisted operations skip validation (they are checked once at start), so these
 * limits cost the seat path nothing but the signature count, which is kept per document.
 */
import { blockFieldSuggestionsPlugin } from '@escape.tech/graphql-armor-block-field-suggestions';
import { costLimitPlugin } from '@escape.tech/graphql-armor-cost-limit';
import { maxAliasesPlugin } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthPlugin } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesPlugin } from '@escape.tech/graphql-armor-max-directives';
import { maxTokensPlugin } from '@escape.tech/graphql-armor-max-tokens';
import {
  getNamedType,
  getOperationAST,
  isInterfaceType,
  isObjectType,
  Kind,
  type DocumentNode,
  type FragmentDefinitionNode,
  type GraphQLCompositeType,
  type GraphQLField,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { DEFAULT_PAGE, MAX_PAGE } from '../schema/connection.ts';

/**
 * Generous for every document the console and integrations send (the deepest, a delivery's
 * attempts under its endpoint under a page, is 6 deep; GraphiQL's introspection is exempt from
 * depth and cost), and far below what costs the server anything.
 */
export const QUERY_LIMITS = { tokens: 2000, depth: 12, aliases: 30, directives: 20, cost: 5000 } as const;

/** Signed documents one request may ask for: a caller without a credential, and anyone. */
export const SIGNATURE_LIMITS = { anonymous: 5, credentialed: MAX_PAGE } as const;

export function queryLimitPlugins(): Plugin[] {
  return [
    maxTokensPlugin({ n: QUERY_LIMITS.tokens }),
    maxDepthPlugin({ n: QUERY_LIMITS.depth, flattenFragments: true }),
    maxAliasesPlugin({ n: QUERY_LIMITS.aliases }),
    maxDirectivesPlugin({ n: QUERY_LIMITS.directives }),
    costLimitPlugin({ maxCost: QUERY_LIMITS.cost }),
    blockFieldSuggestionsPlugin(),
    {
      // Yoga's validation errors say 200 to `application/json` callers (the spec's `http.spec`);
      // a refused document is the client's fault, so it is 400 for everyone.
      onValidate: () => ({ valid, result }) => {
        if (valid) return;
        for (const error of result) (error.extensions as { http?: object }).http = { spec: false, status: 400 };
      },
    },
  ] as Plugin[];
}

type Variables = Record<string, unknown> | null | undefined;

/** How many times a field's selection runs: its `first` (the default page when not given), or once. */
function multiplicity(field: GraphQLField<unknown, unknown>, node: { arguments?: readonly { name: { value: string }; value: any }[] }, variables: Variables): number {
  if (!field.args.some((arg) => arg.name === 'first')) return 1;
  const argument = node.arguments?.find((a) => a.name.value === 'first');
  let first: unknown = DEFAULT_PAGE;
  if (argument?.value.kind === Kind.INT) first = Number(argument.value.value);
  else if (argument?.value.kind === Kind.VARIABLE) first = variables?.[argument.value.name.value] ?? DEFAULT_PAGE;
  // Out-of-range values are refused by the field itself; here they count as the largest page.
  return typeof first === 'number' && first >= 0 && first <= MAX_PAGE ? first : MAX_PAGE;
}

/** Kept by the operation's node, not by the name the caller sent (a name that matches nothing would make an entry per request). */
const counts = new WeakMap<OperationDefinitionNode, number>();

/**
 * The documents an operation can sign at most. Fragments are counted once each and multiplied
 * where spread, so nested spreads cannot make the count itself expensive. Cached per document
 * when no `first` comes from a variable (the SDK's documents have none).
 */
export function signatureCount(schema: GraphQLSchema, document: DocumentNode, operationName: string | null | undefined, variables: Variables): number {
  const operation = getOperationAST(document, operationName);
  if (!operation) return 0;
  const cached = counts.get(operation);
  if (cached !== undefined) return cached;

  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  const fragmentCounts = new Map<string, number>();
  let dependsOnVariables = false;

  const count = (selectionSet: SelectionSetNode, parent: GraphQLCompositeType | undefined): number => {
    let total = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.FIELD) {
        const field = parent && (isObjectType(parent) || isInterfaceType(parent)) ? parent.getFields()[selection.name.value] : undefined;
        if (!field) continue;
        const own = field.extensions.signs ? 1 : 0;
        const below = selection.selectionSet ? count(selection.selectionSet, getNamedType(field.type) as GraphQLCompositeType) : 0;
        if (own + below === 0) continue;
        if (selection.arguments?.some((a) => a.name.value === 'first' && a.value.kind === Kind.VARIABLE)) dependsOnVariables = true;
        total += (own + below) * multiplicity(field, selection, variables);
      } else if (selection.kind === Kind.INLINE_FRAGMENT) {
        const type = selection.typeCondition ? (schema.getType(selection.typeCondition.name.value) as GraphQLCompositeType) : parent;
        total += count(selection.selectionSet, type);
      } else {
        const name = selection.name.value;
        if (!fragmentCounts.has(name)) {
          fragmentCounts.set(name, 0); // a cycle (refused by validation) counts nothing
          const fragment = fragments.get(name);
          if (fragment) fragmentCounts.set(name, count(fragment.selectionSet, schema.getType(fragment.typeCondition.name.value) as GraphQLCompositeType));
        }
        total += fragmentCounts.get(name)!;
      }
    }
    return total;
  };

  const root = schema.getRootType(operation.operation);
  const total = root ? count(operation.selectionSet, root) : 0;
  if (!dependsOnVariables) counts.set(operation, total);
  return total;
}
