/** /health, /ready and /.well-known/jwks.json, answered before GraphQL sees the request. */
import type { Plugin } from 'graphql-yoga';
import type { Signer } from '../lib/jws.ts';

export interface Probes {
  /** Rejects when Postgres does not answer. */
  database(): Promise<void>;
  /** Rejects when the seat store does not answer. */
  seats(): Promise<void>;
}

/** A load balancer's probe gets its answer within a second, whatever a store is doing. */
const READY_WITHIN_MS = 900;

function within(probe: Promise<void>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${READY_WITHIN_MS} ms`)), READY_WITHIN_MS);
  });
  return Promise.race([probe, late]).finally(() => clearTimeout(timer));
}

export function routes(probes: Probes, signer: Signer): Plugin {
  return {
    async onRequest({ url, endResponse, fetchAPI }) {
      const json = (body: unknown, init?: ResponseInit) => fetchAPI.Response.json(body, init);
      switch (url.pathname) {
        case '/health':
          return endResponse(json({ status: 'ok' }));
        case '/ready': {
          const checks = await Promise.allSettled([within(probes.database()), within(probes.seats())]);
          const [database, seats] = checks.map((c) => (c.status === 'fulfilled' ? 'ok' : 'unavailable'));
          const ready = database === 'ok' && seats === 'ok';
          return endResponse(json({ status: ready ? 'ready' : 'unavailable', database, seats }, { status: ready ? 200 : 503 }));
        }
        case '/.well-known/jwks.json':
          return endResponse(json({ keys: await signer.publicJwks() }, { headers: { 'cache-control': 'public, max-age=300' } }));
      }
    },
  };
}
