/**
 * Each HTTP request's id, its access line and its GraphQL metrics. The first plugin, so it sees
 * every request, those that other plugins answer early included.
 *
 * The access line holds the method, the path (never the query string: a GET's variables would
 * be there), the GraphQL operation's name, the status, the result, the duration and the request
 * id; no header, no variable, no credential. Probes and scrapes (/health, /ready, /metrics) log
 * at debug, so a load balancer's polling does not drown the log.
 */
import { getOperationAST, Kind, type ExecutionResult } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../lib/logger.ts';
import type { Metrics } from '../services/metrics.ts';

interface RequestFacts {
  startedAt: number;
  requestId: string;
  path: string;
  /** As the client named it, then as the document that ran names it. */
  operation: string | null;
  /** `ok`, or the first error's code. */
  result: string | undefined;
}

const facts = new WeakMap<Request, RequestFacts>();

/** A caller's X-Request-ID (bounded), or a fresh one. */
const requestIdFrom = (request: Request) => request.headers.get('x-request-id')?.slice(0, 64) || crypto.randomUUID();

/**
 * The id of this request: the one its access line carries. A request that did not pass through
 * the plugin (a graphql-ws operation, whose request is the upgrade) gets one of its own.
 */
export const requestIdOf = (request: Request): string => facts.get(request)?.requestId ?? requestIdFrom(request);

const QUIET_PATHS = new Set(['/health', '/ready', '/metrics']);
const CODE = /^[A-Z][A-Z0-9_]{0,39}$/;

/** `ok`, or the first error's code (`other` for a code outside our shape). */
function resultOf(result: ExecutionResult | ExecutionResult[]): string | undefined {
  const first = (Array.isArray(result) ? result : [result]).find((r) => r.errors?.length);
  if (!first) return 'ok';
  const code = first.errors![0]!.extensions?.code;
  return typeof code === 'string' && CODE.test(code) ? code : 'other';
}

export function observability(metrics: Metrics, log: Logger): Plugin {
  return {
    onRequest({ request, url }) {
      facts.set(request, {
        startedAt: performance.now(),
        requestId: requestIdFrom(request),
        path: url.pathname,
        operation: null,
        result: undefined,
      });
    },
    onParams({ request, params }) {
      const known = facts.get(request);
      if (known && typeof params.operationName === 'string') known.operation = params.operationName.slice(0, 100);
    },
    // Named by the document once it parses (before the credential is checked, so a refused call keeps its name).
    onParse({ context }) {
      const { request, params } = context as { request: Request; params?: { operationName?: string | null } };
      const known = facts.get(request);
      return ({ result }) => {
        if (known && result instanceof Object && 'kind' in result && result.kind === Kind.DOCUMENT) {
          known.operation = getOperationAST(result, params?.operationName)?.name?.value ?? null;
        }
      };
    },
    onResultProcess({ request, result }) {
      const known = facts.get(request);
      // A subscription's stream has no single result; the answer's status says how it began.
      if (known && !(Symbol.asyncIterator in result)) known.result = resultOf(result as ExecutionResult | ExecutionResult[]);
    },
    onResponse({ request, response }) {
      const known = facts.get(request);
      if (!known) return;
      const durationMs = performance.now() - known.startedAt;
      response.headers.set('x-request-id', known.requestId);
      const result = known.result ?? (response.status < 400 ? 'ok' : `HTTP_${response.status}`);
      if (known.path === '/graphql') metrics.request(metrics.operationLabel(known.operation), result, durationMs / 1000);
      const line = {
        requestId: known.requestId,
        method: request.method,
        path: known.path,
        ...(known.path === '/graphql' ? { operation: known.operation, result } : {}),
        status: response.status,
        durationMs: Math.round(durationMs * 10) / 10,
      };
      (QUIET_PATHS.has(known.path) ? log.debug : log.info)('request', line);
    },
  };
}
