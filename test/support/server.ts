/** Serves an app over real HTTP and WebSocket on a free loopback port, as src/runtime/node.ts does. */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import type { App, AppOptions } from '../../src/app.ts';
import { createNodeServer } from '../../src/runtime/nodeServer.ts';
import { startApp } from './harness.ts';

export async function serve(app: App): Promise<{ url: string; wsUrl: string; close(): Promise<void> }> {
  const { server, close } = createNodeServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}/graphql`, close };
}

export interface ServedApp {
  app: App;
  url: string;
  wsUrl: string;
}

/**
 * One app for a test file, started and served before its tests and closed (server, then app)
 * after them. Its fields are set once beforeAll has run: read them inside tests and hooks.
 */
export function servedApp(env: Record<string, string> = {}, options: Partial<AppOptions> = {}): ServedApp {
  const served = {} as ServedApp;
  let close: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    served.app = await startApp(env, options);
    const server = await serve(served.app);
    ({ url: served.url, wsUrl: served.wsUrl, close } = server);
  });
  afterAll(async () => {
    await close?.();
    await served.app?.close();
  });
  return served;
}

export function wsClient(wsUrl: string, token: string | null): Client {
  return createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
  });
}

/** Collects a subscription's events; `next(n)` waits until n have arrived. */
export function collect<T>(client: Client, query: string, variables: Record<string, unknown>) {
  const events: T[] = [];
  const errors: unknown[] = [];
  let waiters: (() => void)[] = [];
  const dispose = client.subscribe<T>(
    { query, variables },
    {
      next: (value) => {
        if (value.errors) errors.push(...value.errors);
        else events.push(value.data as T);
        waiters.forEach((w) => w());
      },
      error: (error) => {
        errors.push(error);
        waiters.forEach((w) => w());
      },
      complete: () => {},
    },
  );
  return {
    events,
    errors,
    dispose,
    async until(count: number, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (events.length < count && errors.length === 0) {
        if (Date.now() > deadline) throw new Error(`timed out with ${events.length}/${count} events: ${JSON.stringify(events)}`);
        await new Promise<void>((resolve) => {
          waiters.push(resolve);
          setTimeout(resolve, 100);
        });
        waiters = [];
      }
      if (errors.length) throw new Error(`subscription failed: ${JSON.stringify(errors)}`);
      return events;
    },
  };
}

/** Asks `{ viewer { kind } }` over HTTP with an API key: the principal's kind, or the refusal's reason. */
export async function viewerKind(base: string, secret: string): Promise<string | undefined> {
  const response = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${secret}` },
    body: JSON.stringify({ query: '{ viewer { kind } }' }),
  });
  const body = (await response.json()) as { data?: { viewer: { kind: string } }; errors?: { extensions: { reason?: string } }[] };
  return body.data?.viewer.kind ?? body.errors?.[0]?.extensions.reason;
}
