/**
 * graphql-ws server options shared by every runtime: each operation goes through
 * `yoga.getEnveloped`, so WebSocket operations get the same context (auth from the
 * connection_init payload), plugins and error masking as HTTP.
 */
import { GraphQLError, type ExecutionArgs } from 'graphql';
import type { ServerOptions } from 'graphql-ws';
import type { App } from '../app.ts';
import { persistedDocument } from '../http/persistedOperations.ts';

interface Executors {
  execute: (args: ExecutionArgs) => unknown;
  subscribe: (args: ExecutionArgs) => unknown;
}

export function graphqlWsOptions<E extends object>(
  app: App,
  remoteAddressOf: (extra: E) => string | undefined,
): ServerOptions<Record<string, unknown> | undefined, E> {
  return {
    execute: (args) => (args.rootValue as Executors).execute(args) as never,
    subscribe: (args) => (args.rootValue as Executors).subscribe(args) as never,
    onSubscribe: async (ctx, _id, params) => {
      // A POST, as an HTTP request carrying an operation is: Yoga refuses mutations over a GET.
      const request = new Request('http://websocket/graphql', { method: 'POST' });
      const persisted = persistedDocument(app.persistedOperations, params, request, Boolean(ctx.connectionParams?.authorization));
      if (persisted instanceof Error) return [persisted];
      const { schema, execute, subscribe, contextFactory, parse, validate } = app.yoga.getEnveloped({
        connectionParams: ctx.connectionParams ?? {},
        remoteAddress: remoteAddressOf(ctx.extra),
        request,
        params,
      });
      let contextValue: unknown;
      try {
        contextValue = await contextFactory();
      } catch (error) {
        // A refused credential (masked into a GraphQLError with its code) answers this operation
        // with an error message, as HTTP answers it; thrown, it would close the socket as 4500.
        if (error instanceof GraphQLError) return [error];
        throw error;
      }
      const args: ExecutionArgs = {
        schema,
        operationName: params.operationName ?? null,
        document: persisted ?? parse(params.query),
        variableValues: params.variables ?? null,
        contextValue,
        rootValue: { execute, subscribe } satisfies Executors,
      };
      // A persisted document was validated against the schema at start.
      const errors = persisted ? [] : validate(args.schema, args.document);
      return errors.length > 0 ? errors : args;
    },
  };
}
