/**
 * GraphiQL, every script inlined (it works with no internet), under a CSP that allows exactly
 * its inline scripts by their SHA-256 hashes: no `'unsafe-inline'` script, no CDN. The page is
 * rendered and hashed once (it is the same for every visitor: it never carries a credential),
 * and its security route hands the hashes to http/securityHeaders.ts for its responses.
 */
// node:crypto's createHash (Node, Bun and Deno): the hashes are needed synchronously, once.
import { createHash } from 'node:crypto';
import type { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import type { SecurityRoute } from './securityHeaders.ts';

type GraphiQLOptions = Parameters<typeof renderGraphiQL>[0];

export function graphiqlPage(graphqlEndpoint: string): {
  render: (options: GraphiQLOptions) => Promise<string>;
  securityRoute: SecurityRoute;
} {
  const pages = new Map<string, string>();
  let scriptHashes: string[] = [];

  const render = async (options: GraphiQLOptions) => {
    const key = JSON.stringify(options ?? {});
    let html = pages.get(key);
    if (html === undefined) {
      // Imported on the first visit: the inlined GraphiQL is ~45 MiB of resident memory and
      // ~0.2 s of start that a server nobody opens GraphiQL on would pay for nothing.
      const { renderGraphiQL } = await import('@graphql-yoga/render-graphiql');
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
