/**
 * What a client sees of an error: a RequestError as its code, bad input as BAD_USER_INPUT
 * naming the field, graphql-js's own complaints about the request as BAD_USER_INPUT; anything
 * else is masked as INTERNAL and logged once with the request's id, never sent.
 *
 * The same holds outside GraphQL: `guardHooks` catches what our plugins' onRequest and
 * onResponse hooks throw (the HTTP adapter would answer 500 with the stack in the body).
 */
import { createGraphQLError, type Plugin, type YogaServerOptions } from 'graphql-yoga';
import { errorFields, type Logger } from '../lib/logger.ts';
import { InvalidInput, RequestError } from '../services/errors.ts';
import { requestIdOf } from './observability.ts';

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
    log.error('unexpected error', errorFields(original));
    return createGraphQLError(message, { extensions: { code: 'INTERNAL' } });
  };
}

type Hook = (payload: { request: Request; fetchAPI: { Response: typeof Response } } & Record<string, any>) => unknown;

/**
 * Our plugins with their onRequest and onResponse hooks wrapped: an unexpected error is logged
 * once (with the request's id) and answered as a masked INTERNAL, HTTP 500.
 */
export function guardHooks(plugins: Plugin<any, any>[], log: Logger): Plugin<any, any>[] {
  const internal = (fetchAPI: { Response: typeof Response }) =>
    fetchAPI.Response.json({ errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL' } }] }, { status: 500 });
  const guard = (hook: Hook | undefined, answer: (payload: Parameters<Hook>[0], response: Response) => void): Hook | undefined =>
    hook &&
    ((payload) => {
      const fail = (error: unknown) => {
        log.error('unexpected error', { ...errorFields(error), requestId: requestIdOf(payload.request) });
        answer(payload, internal(payload.fetchAPI));
      };
      try {
        const result = hook(payload) as Promise<unknown> | undefined;
        return result && typeof result.then === 'function' ? result.then(undefined, fail) : result;
      } catch (error) {
        return fail(error);
      }
    });
  return plugins.map((plugin): Plugin<any, any> => ({
    ...plugin,
    onRequest: guard(plugin.onRequest as Hook | undefined, (payload, response) => payload.endResponse(response)) as Plugin['onRequest'],
    onResponse: guard(plugin.onResponse as Hook | undefined, (payload, response) => payload.setResponse(response)) as Plugin['onResponse'],
  }));
}
