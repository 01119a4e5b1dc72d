/**
 * The security headers of every response, from this one module: a Content-Security-Policy,
 * `X-Content-Type-Options: nosniff`, frame protection (`frame-ancestors 'none'` and
 * `X-Frame-Options: DENY`), `Referrer-Policy: no-referrer`, a `Permissions-Policy` that turns
 * every powerful feature off, `Cross-Origin-Opener-Policy`/`-Resource-Policy`, and
 * `Strict-Transport-Security` when the request arrived over https (directly, or per a trusted
 * proxy's `X-Forwarded-Proto`) or always/never as configured.
 *
 * The default policy allows nothing (`default-src 'none'`): right for JSON, the JWKS and the
 * probes. A page (GraphiQL, the web console) plugs in a route that answers its own directives
 * for its responses; they replace the defaults' directive by directive, so a page states what
 * it loads (scripts by hash or nonce, never `'unsafe-inline'`) and keeps the rest closed.
 */
import type { Plugin } from 'graphql-yoga';
import type { HstsMode } from '../config/config.ts';
import { ipInCidrs } from '../lib/ipAddress.ts';
import type { ConnInfo, ServerContext } from './clientAddress.ts';

/** CSP directives: name → sources. */
export type CspDirectives = Record<string, readonly string[]>;

/** What a route changes for its responses: CSP directives replacing the defaults', and headers of its own. */
export interface RouteSecurity {
  csp?: CspDirectives;
  headers?: Record<string, string>;
}

/** Answers the RouteSecurity of a response it serves, or undefined to leave it to the next route and the defaults. */
export type SecurityRoute = (request: Request, response: Response) => RouteSecurity | undefined;

export const DEFAULT_CSP: CspDirectives = {
  'default-src': ["'none'"],
  'base-uri': ["'none'"],
  'form-action': ["'none'"],
  'frame-ancestors': ["'none'"],
};

const FIXED_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Permissions-Policy':
    'accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), hid=(), magnetometer=(), microphone=(), midi=(), payment=(), serial=(), usb=(), interest-cohort=()',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

const HSTS = 'max-age=31536000; includeSubDomains';

export const formatCsp = (directives: CspDirectives) =>
  Object.entries(directives)
    .map(([name, sources]) => `${name} ${sources.join(' ')}`)
    .join('; ');

const DEFAULT_CSP_HEADER = formatCsp(DEFAULT_CSP);

export interface SecurityHeaderOptions {
  hsts: HstsMode;
  trustedProxies: string[];
  connInfo: ConnInfo;
  /** Asked in order for every response; the first that answers sets that response's policy. */
  routes: readonly SecurityRoute[];
}

/** Whether the request reached us over https: the URL says so, or the nearest trusted proxy does. */
function arrivedOverHttps(request: Request, serverContext: ServerContext, options: SecurityHeaderOptions): boolean {
  if (request.url.startsWith('https:')) return true;
  const forwarded = request.headers.get('x-forwarded-proto');
  if (!forwarded || options.trustedProxies.length === 0) return false;
  const peer = serverContext.remoteAddress ?? options.connInfo.remoteAddress(request, serverContext);
  // Each proxy appends what it saw; the last entry is the nearest proxy's, the only one vouched for.
  return Boolean(peer && ipInCidrs(peer, options.trustedProxies)) && forwarded.split(',').at(-1)!.trim().toLowerCase() === 'https';
}

export function securityHeaders(options: SecurityHeaderOptions): Plugin<object, ServerContext> {
  return {
    onResponse({ request, response, serverContext }) {
      let route: RouteSecurity | undefined;
      for (const answer of options.routes) if ((route = answer(request, response))) break;
      const headers = response.headers;
      for (const name in FIXED_HEADERS) headers.set(name, FIXED_HEADERS[name]!);
      headers.set('Content-Security-Policy', route?.csp ? formatCsp({ ...DEFAULT_CSP, ...route.csp }) : DEFAULT_CSP_HEADER);
      if (options.hsts === 'always' || (options.hsts === 'https' && arrivedOverHttps(request, serverContext, options))) {
        headers.set('Strict-Transport-Security', HSTS);
      }
      if (route?.headers) for (const name in route.headers) headers.set(name, route.headers[name]!);
    },
  };
}
