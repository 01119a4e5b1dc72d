/** /health, /ready and /.well-known/jwks.json, answered before GraphQL sees the request. */
import type { Plugin } from 'graphql-yoga';
import type { Signer } from '../lib/jws.ts';
import type { StoreHealth } from '../services/metrics.ts';

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

/** Whether each store answers, each asked at once and given at most READY_WITHIN_MS. */
export async function checkStores(probes: Probes): Promise<StoreHealth> {
  const [database, seats] = await Promise.allSettled([within(probes.database()), within(probes.seats())]);
  return { database: database.status === 'fulfilled', seats: seats.status === 'fulfilled' };
}

export function routes(probes: Probes, signer: Signer): Plugin {
  return {
    // Synchronous for every other path: a promise here would make Yoga run every later hook of the request through promises.
    onRequest({ url, endResponse, fetchAPI }) {
      const json = (body: unknown, init?: ResponseInit) => fetchAPI.Response.json(body, init);
      switch (url.pathname) {
        case '/health':
          return endResponse(json({ status: 'ok' }));
        case '/ready':
          return checkStores(probes).then((health) => {
            const [database, seats] = [health.database, health.seats].map((up) => (up ? 'ok' : 'unavailable'));
            const ready = health.database && health.seats;
            endResponse(json({ status: ready ? 'ready' : 'unavailable', database, seats }, { status: ready ? 200 : 503 }));
          });
        case '/.well-known/jwks.json':
          return signer.publicJwks().then((keys) => endResponse(json({ keys }, { headers: { 'cache-control': 'public, max-age=300' } })));
      }
    },
  };
}
