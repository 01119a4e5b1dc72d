/**
 * The web console: the built files of dashboard/ served at /dashboard (and `/` redirects there),
 * same origin as /graphql, under a CSP that lets the page load only its own files and talk only
 * to its own origin. The files are read at start and each is compressed once, on the first
 * request that accepts gzip (a server whose console nobody opens never pays for it); every path
 * under /dashboard that is not a file is the single-page app's index (its routes live in the page).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { Plugin } from 'graphql-yoga';
import type { CspDirectives, SecurityRoute } from './securityHeaders.ts';

export const CONSOLE_PATH = '/dashboard';

/**
 * Nothing inline, nothing from elsewhere: scripts, styles, images, fonts and connections are the
 * origin's own (WebSocket included), forms post only here; the rest stays as closed as the defaults.
 */
export const CONSOLE_CSP: CspDirectives = {
  'default-src': ["'none'"],
  'script-src': ["'self'"],
  'style-src': ["'self'"],
  'img-src': ["'self'"],
  'font-src': ["'self'"],
  'connect-src': ["'self'"],
  'manifest-src': ["'self'"],
  'base-uri': ["'none'"],
  'form-action': ["'self'"],
  'frame-ancestors': ["'none'"],
};

const underConsole = (pathname: string) => pathname === CONSOLE_PATH || pathname.startsWith(`${CONSOLE_PATH}/`);

/** The console's responses (its page, its files and its errors) get its CSP; the other headers are everyone's. */
export const consoleSecurity: SecurityRoute = (request) => (underConsole(new URL(request.url).pathname) ? { csp: CONSOLE_CSP } : undefined);

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.webmanifest': 'application/manifest+json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};
const COMPRESSIBLE = new Set(['.html', '.js', '.css', '.svg', '.json', '.webmanifest', '.txt']);

interface Asset {
  body: Uint8Array<ArrayBuffer>;
  /** The gzipped body, made on first use; undefined for a file not worth compressing. */
  gzip: (() => Promise<Uint8Array<ArrayBuffer>>) | undefined;
  type: string;
  /** Vite names the files under assets/ by their content hash, so they never change. */
  immutable: boolean;
}

export interface ConsoleFiles {
  /** Files by path under /dashboard/, e.g. `assets/index-3f9a.js`; empty when the console is not built. */
  assets: Map<string, Asset>;
  dir: string;
}

async function gzip(body: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
  const stream = new Blob([body]).stream().pipeThrough(new CompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function once<T>(make: () => Promise<T>): () => Promise<T> {
  let made: Promise<T> | undefined;
  return () => (made ??= make());
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(
    entries.map((entry) =>
      entry.isDirectory() ? walk(join(dir, entry.name)) : Promise.resolve(entry.isFile() ? [join(dir, entry.name)] : []),
    ),
  );
  return nested.flat();
}

const extension = (path: string) => {
  const dot = path.lastIndexOf('.');
  return dot > path.lastIndexOf('/') ? path.slice(dot).toLowerCase() : '';
};

/** Reads the built console (node:fs, which Node, Bun and Deno all provide); a missing directory leaves it empty. */
export async function loadConsole(dir: string): Promise<ConsoleFiles> {
  const assets = new Map<string, Asset>();
  const files = await walk(dir).catch((error: { code?: string }) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  for (const file of files) {
    const path = relative(dir, file).split(sep).join('/');
    const ext = extension(path);
    const body = new Uint8Array(await readFile(file));
    assets.set(path, {
      body,
      gzip: COMPRESSIBLE.has(ext) && body.length > 256 ? once(() => gzip(body)) : undefined,
      type: TYPES[ext] ?? 'application/octet-stream',
      immutable: path.startsWith('assets/'),
    });
  }
  return { assets, dir };
}

export function consoleRoutes(files: ConsoleFiles): Plugin {
  return {
    onRequest({ request, url, endResponse, fetchAPI }) {
      const { pathname } = url;
      // `/admin` is where the design this comes from kept its admin console: the same pages are here.
      if ((pathname === '/' || pathname === '/admin') && (request.method === 'GET' || request.method === 'HEAD')) {
        return endResponse(new fetchAPI.Response(null, { status: 302, headers: { location: `${CONSOLE_PATH}/` } }));
      }
      if (!underConsole(pathname)) return;
      const text = (status: number, body: string, headers: Record<string, string> = {}) =>
        endResponse(
          new fetchAPI.Response(body, {
            status,
            headers: { 'content-type': 'text/plain; charset=utf-8', ...headers },
          }),
        );
      if (request.method !== 'GET' && request.method !== 'HEAD') return text(405, 'Method not allowed', { allow: 'GET, HEAD' });
      const index = files.assets.get('index.html');
      if (!index) return text(503, `The console is not built (no ${files.dir}/index.html): run npm run build:console`);
      const path = pathname.slice(CONSOLE_PATH.length + 1);
      // A path that names a file is that file or nothing; any other path is a route of the page.
      const asset = extension(path) ? files.assets.get(path) : index;
      if (!asset) return text(404, 'Not found');
      const respond = (body: Uint8Array<ArrayBuffer>, gzipped: boolean) => {
        const headers: Record<string, string> = {
          'content-type': asset.type,
          'content-length': String(body.length),
          'cache-control': asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
          ...(asset.gzip ? { vary: 'accept-encoding' } : {}),
          ...(gzipped ? { 'content-encoding': 'gzip' } : {}),
        };
        endResponse(new fetchAPI.Response(request.method === 'HEAD' ? null : body, { status: 200, headers }));
      };
      // Only this branch waits: every other request (GraphQL's included) passes this hook synchronously.
      if (asset.gzip && /\bgzip\b/.test(request.headers.get('accept-encoding') ?? ''))
        return asset.gzip().then((body) => respond(body, true));
      return respond(asset.body, false);
    },
  };
}
