/**
 * GET /metrics. Open to a bearer METRICS_TOKEN, or to anyone who reaches METRICS_PORT (a port
 * the operator keeps off the public network; with METRICS_TOKEN set too, the token is asked for
 * there as well). With neither set it is closed: the figures say how busy each license and
 * endpoint is, which is not for the public internet.
 */
import type { Plugin } from 'graphql-yoga';
import type { Config } from '../config/config.ts';
import { timingSafeEqual } from '../lib/constantTime.ts';
import type { Metrics } from '../services/metrics.ts';

/** Answers a request for /metrics, on whichever port serves it. */
export function metricsHandler(metrics: Metrics, config: Pick<Config, 'metricsToken' | 'metricsPort'>) {
  return async (request: Request): Promise<Response> => {
    if (new URL(request.url).pathname !== '/metrics') return new Response('Not found\n', { status: 404 });
    if (request.method !== 'GET' && request.method !== 'HEAD')
      return new Response('Method not allowed\n', { status: 405, headers: { allow: 'GET' } });
    if (config.metricsToken) {
      const presented = request.headers.get('authorization')?.match(/^Bearer (.+)$/i)?.[1] ?? '';
      if (!timingSafeEqual(presented, config.metricsToken)) {
        return new Response('A bearer METRICS_TOKEN is required\n', {
          status: 401,
          headers: { 'www-authenticate': 'Bearer realm="metrics"' },
        });
      }
    } else if (config.metricsPort === undefined) {
      return new Response('Metrics are off: set METRICS_TOKEN or METRICS_PORT\n', { status: 403 });
    }
    return new Response(await metrics.render(), { headers: { 'content-type': metrics.contentType, 'cache-control': 'no-store' } });
  };
}

/** /metrics on the main port, unless METRICS_PORT serves it instead. */
export function metricsRoute(metrics: Metrics, config: Config): Plugin {
  const handle = metricsHandler(metrics, config);
  return {
    // Synchronous for every other path: a promise here would make Yoga run every later hook of the request through promises.
    onRequest({ url, request, endResponse }) {
      if (url.pathname === '/metrics' && config.metricsPort === undefined) return handle(request).then(endResponse);
    },
  };
}
