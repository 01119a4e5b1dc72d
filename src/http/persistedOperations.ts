/**
 * Persisted operations: the SDK names each of its GraphQL documents by SHA-256 hash (Apollo's
 * persisted-query extension), the hashes made at the SDK's build from clients/typescript/
 * operations/. The server takes them from the SDK's manifest, parsed and validated once at
 * start, so the seat path skips parsing and validation. With ANONYMOUS_OPERATIONS=persisted a
 * caller without a credential may send only those documents; a caller with one (a dashboard, an
 * integration) sends any. Over HTTP this is Yoga's persisted-operations plugin; graphql-ws
 * (runtime/graphqlWs.ts) applies the same rule through `persistedDocument`.
 */
import { defaultExtractPersistedOperationId, usePersistedOperations } from '@graphql-yoga/plugin-persisted-operations';
import manifest from '@leasehold/client/persisted-operations.json' with { type: 'json' };
import { Kind, parse, validate, type DocumentNode, type GraphQLError, type GraphQLSchema } from 'graphql';
import { createGraphQLError, type GraphQLParams, type Plugin } from 'graphql-yoga';

export interface PersistedOperations {
  /** The parsed document with this hash, if it is one of the SDK's. */
  document(hash: string): DocumentNode | undefined;
  /** Whether callers without a credential may send documents of their own. */
  anonymousArbitrary: boolean;
  /** The names of the SDK's operations. */
  names: ReadonlySet<string>;
}

export function loadPersistedOperations(schema: GraphQLSchema, anonymous: 'any' | 'persisted'): PersistedOperations {
  const documents = new Map<string, DocumentNode>();
  const names = new Set<string>();
  for (const [hash, source] of Object.entries(manifest as Record<string, string>)) {
    const document = parse(source);
    const errors = validate(schema, document);
    // The SDK's documents are checked against schema.graphql by its tests; this is the same check at start.
    if (errors.length > 0) throw new Error(`The SDK's persisted operation ${hash} does not fit the schema: ${errors[0]!.message}`);
    documents.set(hash, document);
    for (const definition of document.definitions)
      if (definition.kind === Kind.OPERATION_DEFINITION && definition.name) names.add(definition.name.value);
  }
  return { document: (hash) => documents.get(hash), anonymousArbitrary: anonymous === 'any', names };
}

const notFound = () => createGraphQLError('PersistedQueryNotFound', { extensions: { code: 'PERSISTED_QUERY_NOT_FOUND' } });

const persistedOnly = () =>
  createGraphQLError('Callers without a credential may send only the persisted operations of the Leasehold SDK.', {
    extensions: { code: 'FORBIDDEN', reason: 'PERSISTED_OPERATIONS_ONLY', http: { status: 403 } },
  });

export function persistedOperationsPlugin(operations: PersistedOperations): Plugin {
  return usePersistedOperations({
    getPersistedOperation: (hash) => operations.document(hash) ?? null,
    // A credential that does not verify is refused when the context is built, before execution.
    allowArbitraryOperations: (request) => operations.anonymousArbitrary || request.headers.has('authorization'),
    skipDocumentValidation: true,
    customErrors: { notFound, persistedQueryOnly: persistedOnly },
  }) as Plugin;
}

/**
 * For a graphql-ws subscribe message: the persisted document it names (a hash and no query), null
 * when it sends a query of its own and may, or the error that refuses it.
 */
export function persistedDocument(
  operations: PersistedOperations,
  message: { query?: string | null; extensions?: Record<string, unknown> | null },
  request: Request,
  credentialed: boolean,
): DocumentNode | null | GraphQLError {
  const params: GraphQLParams = { query: message.query ?? undefined, extensions: message.extensions ?? undefined };
  const hash = params.query ? null : defaultExtractPersistedOperationId(params, request, {});
  if (hash) return operations.document(hash) ?? notFound();
  return operations.anonymousArbitrary || credentialed ? null : persistedOnly();
}
