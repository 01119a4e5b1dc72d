/**
 * What a client sees of an error: a RequestError as its code, bad input as BAD_USER_INPUT
 * naming the field, graphql-js's own complaints about the request as BAD_USER_INPUT; anything
 * else is masked as INTERNAL and logged once with the request's id, never sent.
 *
 * The same holds outside GraphQL: `guardHooks` catches what our plugins' onRequest and
 * onResponse hooks throw (the HTTP adapter would answer 500 with the stack in the body).
 */
import { createGraphQLError, isPromise, type Plugin, type YogaServerOptions } from 'graphql-yoga';
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

type Payload = { request: Request; fetchAPI: { Response: typeof Response } } & Record<string, any>;
type Hook = (payload: Payload) => unknown;

const internal = (fetchAPI: { Response: typeof Response }) =>
  fetchAPI.Response.json({ errors: [{ message: 'Unexpected error.', extensions: { code: 'INTERNAL' } }] }, { status: 500 });

/**
 * Our plugins with their onRequest and onResponse hooks each merged into one hook, in the
 * plugins' order, and guarded: an unexpected error is logged once (with the request's id) and
 * answered as a masked INTERNAL, HTTP 500. One hook of each instead of one per plugin: Yoga
 * runs each hook of a request through its promise helpers, a few allocations per hook and
 * request, and a hook that returns a promise puts every later one behind promises too. The
 * merged hooks stay synchronous until a hook returns a promise (the readiness probe, the JWKS,
 * a refused request's rate limit).
 *
 * Each hook sees what Yoga's own loop would show it: onRequest stops at the first hook that
 * ends the response; onResponse hands each hook the response the hooks before it set. (None of
 * ours replaces the request in onRequest, so the hooks share the one they were given.)
 */
export function guardHooks(plugins: Plugin<any, any>[], log: Logger): Plugin<any, any>[] {
  const onRequest = plugins.map((p) => p.onRequest as Hook | undefined).filter((hook): hook is Hook => hook !== undefined);
  const onResponse = plugins.map((p) => p.onResponse as Hook | undefined).filter((hook): hook is Hook => hook !== undefined);
  const failed = (error: unknown, payload: Payload, answer: (response: Response) => void) => {
    log.error('unexpected error', { ...errorFields(error), requestId: requestIdOf(payload.request) });
    answer(internal(payload.fetchAPI));
  };

  /** Runs hooks[from…] on `payload` until `done()`; synchronous while every hook is. */
  const run = (
    hooks: Hook[],
    from: number,
    payload: Payload,
    answer: (response: Response) => void,
    done: () => boolean,
  ): Promise<void> | undefined => {
    for (let i = from; i < hooks.length && !done(); i++) {
      let result: unknown;
      try {
        result = hooks[i]!(payload);
      } catch (error) {
        failed(error, payload, answer);
        continue;
      }
      if (isPromise(result)) {
        return (result as Promise<unknown>).then(
          () => run(hooks, i + 1, payload, answer, done),
          (error: unknown) => {
            failed(error, payload, answer);
            return run(hooks, i + 1, payload, answer, done);
          },
        );
      }
    }
    return undefined;
  };

  const merged: Plugin<any, any> = {
    onRequest(given: Payload) {
      let ended = false;
      const endResponse = (response: Response) => {
        ended = true;
        given.endResponse(response);
      };
      return run(onRequest, 0, { ...given, endResponse }, endResponse, () => ended);
    },
    onResponse(given: Payload) {
      const payload: Payload = {
        ...given,
        setResponse(response: Response) {
          payload.response = response;
          given.setResponse(response);
        },
      };
      return run(onResponse, 0, payload, payload.setResponse, () => false);
    },
  };
  return [merged, ...plugins.map(({ onRequest: _request, onResponse: _response, ...plugin }) => plugin)];
}
