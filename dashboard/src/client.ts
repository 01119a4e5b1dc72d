/**
 * The console's GraphQL client: queries and mutations over HTTP, subscriptions over graphql-ws,
 * both to this origin's /graphql with the tab's credential. One client per sign-in, so nothing
 * one user saw is in the cache of the next.
 */
import { authExchange } from '@urql/exchange-auth';
import { createClient as createWsClient } from 'graphql-ws';
import { Client, cacheExchange, fetchExchange, subscriptionExchange } from 'urql';
import { needsRefresh, refreshSession, session } from './session.ts';

export interface ConsoleClient {
  client: Client;
  /** Reconnects the WebSocket, so that its subscriptions run under the current credential. */
  reconnect(): void;
  dispose(): void;
}

export function createConsoleClient(): ConsoleClient {
  let reconnect = () => {};
  const ws = createWsClient({
    url: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/graphql`,
    lazy: true,
    retryAttempts: Infinity,
    shouldRetry: () => session.get().credential !== null,
    connectionParams: () => {
      const authorization = session.authorization();
      return authorization ? { authorization } : {};
    },
    on: {
      opened: (socket) => {
        // 4205 is graphql-ws's "client restart": it reconnects and subscribes everything again.
        reconnect = () => (socket as WebSocket).close(4205, 'Client Restart');
      },
    },
  });

  const client = new Client({
    url: '/graphql',
    preferGetMethod: false,
    requestPolicy: 'cache-and-network',
    exchanges: [
      cacheExchange,
      authExchange(async (utils) => ({
        addAuthToOperation(operation) {
          const authorization = session.authorization();
          return authorization ? utils.appendHeaders(operation, { authorization }) : operation;
        },
        willAuthError: () => needsRefresh(),
        didAuthError: (error) => error.graphQLErrors.some((e) => e.extensions?.code === 'UNAUTHENTICATED'),
        async refreshAuth() {
          const credential = session.get().credential;
          if (credential?.kind === 'user') {
            if (await refreshSession()) reconnect();
          } else if (credential) {
            session.end('The API key was refused: it may have been revoked or have expired.');
          }
        },
      })),
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const operation = { ...request, query: request.query ?? '' };
          return {
            subscribe(sink) {
              return { unsubscribe: ws.subscribe(operation, sink) };
            },
          };
        },
      }),
    ],
  });

  return {
    client,
    reconnect: () => reconnect(),
    dispose: () => void ws.dispose(),
  };
}
