/**
 * Requests from other sites. A browser sends a form POST (urlencoded, multipart, text/plain)
 * to any origin without asking, cookies or not, so only JSON POSTs execute here: a JSON body
 * makes a cross-origin browser ask first (a CORS preflight), and CORS below answers only the
 * origins the operator listed. GET runs queries only (Yoga refuses mutations over GET).
 *
 * CORS is closed by default: no CORS header at all, so only pages of this origin (GraphiQL, the
 * console) can read answers. `CORS_ORIGINS` names the origins that may call from a browser, and
 * never with credentials: every credential here is an Authorization header, never a cookie.
 */
import { createGraphQLError, type Plugin, type YogaServerOptions } from 'graphql-yoga';

/** Request bodies that execute: JSON only. */
export const JSON_CONTENT_TYPES = ['application/json', 'application/graphql+json', 'application/graphql-response+json'];

/** The media type of a Content-Type header, lowercase, without parameters. */
export const mediaType = (contentType: string | null) => (contentType ?? '').split(';')[0]!.trim().toLowerCase();

export function jsonPostsOnly(): Plugin {
  return {
    onRequestParse({ request }) {
      if (request.method !== 'POST' || JSON_CONTENT_TYPES.includes(mediaType(request.headers.get('content-type')))) return;
      throw createGraphQLError('POST requests must have a JSON body (Content-Type: application/json).', {
        extensions: { code: 'BAD_USER_INPUT', http: { status: 415 } },
      });
    },
  };
}

export function corsOptions(allowedOrigins: readonly string[]): YogaServerOptions<object, object>['cors'] {
  if (allowedOrigins.length === 0) return false;
  return (request) => {
    const origin = request.headers.get('origin');
    if (!origin || !allowedOrigins.includes(origin)) return false;
    return {
      origin: [origin],
      credentials: false,
      methods: ['GET', 'POST'],
      allowedHeaders: ['authorization', 'content-type', 'x-request-id'],
      exposedHeaders: ['x-ratelimit-limit', 'x-ratelimit-remaining', 'x-ratelimit-reset', 'retry-after'],
      maxAge: 600,
    };
  };
}
