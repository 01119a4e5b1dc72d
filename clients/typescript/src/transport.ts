/**
 * GraphQL over fetch, by persisted operation: each request names its document by SHA-256 hash
 * (Apollo's persisted-query extension, which Yoga's persisted-operations plugin reads), so the
 * server skips parsing and may refuse any other document from anonymous callers. A server that
 * does not know the hash gets the document itself, once per operation.
 *
 * Every failure becomes a LeaseholdError; `retryable` tells the seat loop whether to go offline.
 */
import { LeaseholdError, type TransportCode } from './errors.ts';

export interface PersistedOperation {
  name: string;
  /** SHA-256 (hex) of `document`, computed at build time. */
  hash: string;
  document: string;
}

export type Fetch = (input: string, init: RequestInit) => Promise<Response>;

export interface TransportOptions {
  /** The server's base URL; requests go to `${url}/graphql`. */
  url: string;
  fetch: Fetch;
  /** Added to every request (a proxy's credential, a user agent). */
  headers: Record<string, string>;
  timeoutMs: number;
}

export interface Transport {
  request<T>(operation: PersistedOperation, variables: Record<string, unknown>, options?: { timeoutMs?: number }): Promise<T>;
}

interface GraphQLBody {
  data?: Record<string, unknown> | null;
  errors?: { message?: string; extensions?: { code?: string; retryAfter?: number } }[];
}

const KNOWN_CODES: ReadonlySet<string> = new Set<TransportCode>([
  'SERVICE_UNAVAILABLE',
  'RATE_LIMITED',
  'INTERNAL',
  'BAD_USER_INPUT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'PERSISTED_QUERY_NOT_FOUND',
]);

/** How servers answer a hash they do not know: Apollo's code, and Yoga's plugin's own default. */
const UNKNOWN_HASH: ReadonlySet<string> = new Set(['PERSISTED_QUERY_NOT_FOUND', 'PERSISTED_QUERY_NOT_IN_LIST']);

export function createTransport(options: TransportOptions): Transport {
  const endpoint = `${options.url.replace(/\/+$/, '')}/graphql`;
  // Operations this server has answered "unknown hash" for: sent as documents from then on.
  const sendDocument = new Set<string>();
  // A server without persisted operations answers a hash-only request "Must provide query string".
  let serverPersists = true;

  async function post(body: Record<string, unknown>, timeoutMs: number): Promise<{ response: Response; body: GraphQLBody | undefined }> {
    let response: Response;
    try {
      response = await options.fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', ...options.headers },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new LeaseholdError('NETWORK_ERROR', `The license server at ${options.url} could not be reached`, { cause: error });
    }
    let parsed: GraphQLBody | undefined;
    try {
      const text = await response.text();
      parsed = text ? (JSON.parse(text) as GraphQLBody) : undefined;
    } catch (error) {
      if (error instanceof SyntaxError) parsed = undefined;
      else throw new LeaseholdError('NETWORK_ERROR', `The license server at ${options.url} cut the answer short`, { cause: error });
    }
    return { response, body: parsed && typeof parsed === 'object' ? parsed : undefined };
  }

  return {
    async request<T>(operation: PersistedOperation, variables: Record<string, unknown>, { timeoutMs = options.timeoutMs } = {}) {
      const byHash = serverPersists && !sendDocument.has(operation.hash);
      const persistedQuery = { version: 1, sha256Hash: operation.hash };
      let { response, body } = await post(
        byHash
          ? { operationName: operation.name, variables, extensions: { persistedQuery } }
          : { operationName: operation.name, query: operation.document, variables },
        timeoutMs,
      );
      const firstCode = body?.errors?.[0]?.extensions?.code;
      if (byHash && !body?.data && firstCode !== undefined && (UNKNOWN_HASH.has(firstCode) || firstCode === 'BAD_REQUEST')) {
        if (firstCode === 'BAD_REQUEST') serverPersists = false;
        else sendDocument.add(operation.hash);
        ({ response, body } = await post({ operationName: operation.name, query: operation.document, variables }, timeoutMs));
      }
      return answer<T>(response, body);
    },
  };
}

function answer<T>(response: Response, body: GraphQLBody | undefined): T {
  const error = body?.errors?.[0];
  if (body?.data && !error) return body.data as T;
  const retryAfterHeader = Number(response.headers.get('retry-after'));
  if (error) {
    const code = error.extensions?.code;
    const retryAfter = error.extensions?.retryAfter ?? (Number.isFinite(retryAfterHeader) ? retryAfterHeader : undefined);
    const known = code !== undefined && KNOWN_CODES.has(code) ? (code as TransportCode) : code === 'BAD_REQUEST' ? 'BAD_USER_INPUT' : 'INTERNAL';
    return fail(known, error.message ?? 'The license server refused the request', retryAfter);
  }
  if (response.status === 429) return fail('RATE_LIMITED', 'The license server is rate limiting this client', retryAfterHeader || undefined);
  if (response.status >= 500) return fail('SERVICE_UNAVAILABLE', `The license server answered HTTP ${response.status}`);
  return fail('INVALID_RESPONSE', `The license server answered HTTP ${response.status} without a GraphQL result`);
}

function fail(code: TransportCode, message: string, retryAfter?: number): never {
  throw new LeaseholdError(code, message, retryAfter === undefined ? {} : { retryAfter });
}
