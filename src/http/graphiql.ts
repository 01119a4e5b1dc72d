/**
 * GraphiQL, every script inlined (it works with no internet), under a CSP that allows exactly
 * its inline scripts by their SHA-256 hashes: no `'unsafe-inline'` script, no CDN. The page is
 * rendered and hashed once (it is the same for every visitor: it never carries a credential),
 * and its security route hands the hashes to http/securityHeaders.ts for its responses.
 */
// node:crypto's createHash (Node, Bun and Deno): the hashes are needed synchronously, once.
import { createHash } from 'node:crypto';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { SecurityRoute } from './securityHeaders.ts';

type GraphiQLOptions = Parameters<typeof renderGraphiQL>[0];

export function graphiqlPage(graphqlEndpoint: string): { render: (options: GraphiQLOptions) => string; securityRoute: SecurityRoute } {
  const pages = new Map<string, string>();
  let scriptHashes: string[] = [];

  const render = (options: GraphiQLOptions) => {
    const key = JSON.stringify(options ?? {});
    let html = pages.get(key);
    if (html === undefined) {
      html = renderGraphiQL(options);
      const hashes = [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map(
        (match) => `'sha256-${createHash('sha256').update(match[1]!).digest('base64')}'`,
      );
      scriptHashes = [...new Set([...scriptHashes, ...hashes])];
      pages.set(key, html);
    }
    return html;
  };

  const securityRoute: SecurityRoute = (request, response) => {
    if (!response.headers.get('content-type')?.startsWith('text/html')) return undefined;
    if (new URL(request.url).pathname.replace(/\/$/, '') !== graphqlEndpoint) return undefined;
    return {
      csp: {
        'script-src': scriptHashes,
        // The editor and GraphiQL set styles at run time (style attributes and <style> elements).
        'style-src': ["'self'", "'unsafe-inline'"],
        'img-src': ["'self'", 'data:'],
        'font-src': ["'self'", 'data:'],
        'connect-src': ["'self'"],
        // The editor's language services run in workers made from blobs.
        'worker-src': ["'self'", 'blob:'],
      },
    };
  };

  return { render, securityRoute };
}
