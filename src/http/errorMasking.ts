/**
 * What a client sees of an error: a RequestError as its code, bad input as BAD_USER_INPUT
 * naming the field, graphql-js's own complaints about the request as BAD_USER_INPUT; anything
 * else is masked as INTERNAL and logged once with the request's id, never sent.
 */
import { createGraphQLError, type YogaServerOptions } from 'graphql-yoga';
import type { Logger } from '../lib/logger.ts';
import { InvalidInput, RequestError } from '../services/errors.ts';

type MaskError = NonNullable<Exclude<YogaServerOptions<object, object>['maskedErrors'], boolean | undefined>['maskError']>;

export function maskError(log: Logger): MaskError {
  return (error, message) => {
    // Walk by property, not instanceof: graphql may be loaded twice (ESM and CJS copies).
    let original: unknown = error;
    while (original instanceof Object && 'originalError' in original && original.originalError) original = original.originalError;
    if (original instanceof RequestError) {
      return createGraphQLError(original.message, {
        extensions: {
          code: original.code,
          ...original.extensions,
          ...(original.code === 'UNAUTHENTICATED' ? { http: { status: 401 } } : {}),
        },
      });
    }
    if (original instanceof InvalidInput) {
      return createGraphQLError(original.message, { extensions: { code: 'BAD_USER_INPUT', field: original.field } });
    }
    if (original instanceof Error && original.name === 'GraphQLError') {
      // Errors graphql-js raises about the request itself (bad variables, unknown fields) carry no code.
      const graphqlError = original as Error & { extensions?: { code?: string; http?: { spec?: boolean; status?: number } } };
      const { code, http } = graphqlError.extensions ?? {};
      if (code && !http?.spec) return graphqlError;
      // A document the server refuses to run is the client's fault: 400, even where the
      // GraphQL-over-HTTP spec lets `application/json` answers say 200 (`spec`).
      return createGraphQLError(graphqlError.message, {
        ...graphqlError,
        extensions: { ...graphqlError.extensions, code: code ?? 'BAD_USER_INPUT', http: { status: http?.status ?? 400 } },
      });
    }
    log.error('unexpected error', { error: String(original), stack: (original as Error | undefined)?.stack });
    return createGraphQLError(message, { extensions: { code: 'INTERNAL' } });
  };
}
