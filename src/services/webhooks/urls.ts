/**
 * Which URLs a webhook endpoint may have. Always http or https, never credentials or a
 * fragment. On a live server the worker would otherwise be a way into the operator's own
 * network (SSRF), so there: https only, and no loopback, private, link-local or otherwise
 * non-public address unless WEBHOOK_ALLOW_PRIVATE=1, which admits them over http too (a
 * receiver inside the operator's network often has no certificate).
 *
 * Here only literal addresses and `localhost` names can be judged; what a name resolves to is
 * checked at each delivery, by the same rules (transport.ts).
 */
import type { Config } from '../../config/config.ts';
import { ipInCidrs, parseIp } from '../../lib/ipAddress.ts';

const MAX_LENGTH = 2048;

const NON_PUBLIC = [
  '0.0.0.0/8',
  '10.0.0.0/8',
  '100.64.0.0/10',
  '127.0.0.0/8',
  '169.254.0.0/16',
  '172.16.0.0/12',
  '192.0.0.0/24',
  '192.168.0.0/16',
  '198.18.0.0/15',
  '224.0.0.0/3',
  '240.0.0.0/4',
  '192.0.2.0/24',
  '198.51.100.0/24',
  '203.0.113.0/24',
  // IPv4-compatible (::a.b.c.d, with :: and ::1), NAT64 and 6to4 forms reach IPv4 addresses
  // through a translator: refused whole rather than trusted to hold a public one.
  '::/96',
  '64:ff9b::/96',
  '64:ff9b:1::/48',
  '2002::/16',
  '2001::/32',
  '2001:db8::/32',
  '100::/64',
  'fc00::/7',
  'fe80::/10',
  'ff00::/8',
];

/** Loopback, private, link-local, reserved, or an IPv6 form that carries an IPv4 address. */
export function isNonPublicAddress(text: string): boolean {
  const address = parseIp(text);
  return address !== undefined && ipInCidrs(address, NON_PUBLIC);
}

function isNonPublicHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host.endsWith('.localhost') || isNonPublicAddress(host);
}

/** Whether endpoints may point at non-public addresses: on a test server, or with WEBHOOK_ALLOW_PRIVATE. */
export const privateTargetsAllowed = (config: Pick<Config, 'environment' | 'webhookAllowPrivate'>) =>
  config.environment !== 'live' || config.webhookAllowPrivate;

export type UrlVerdict = { ok: true; url: string } | { ok: false; message: string };

export function validateWebhookUrl(text: string, config: Pick<Config, 'environment' | 'webhookAllowPrivate'>): UrlVerdict {
  const trimmed = text.trim();
  if (trimmed.length === 0 || trimmed.length > MAX_LENGTH) return { ok: false, message: `url must be 1 to ${MAX_LENGTH} characters` };
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return { ok: false, message: 'url is not a valid absolute URL' };
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return { ok: false, message: 'url must use http or https' };
  if (url.username || url.password) return { ok: false, message: 'url must not contain credentials' };
  if (url.hash) return { ok: false, message: 'url must not contain a fragment' };
  if (!url.hostname) return { ok: false, message: 'url needs a host' };
  if (config.environment === 'live') {
    const nonPublic = isNonPublicHost(url.hostname);
    if (nonPublic && !privateTargetsAllowed(config)) {
      return { ok: false, message: 'url must not point at a loopback or private address on a live server' };
    }
    if (!nonPublic && url.protocol !== 'https:') return { ok: false, message: 'url must use https on a live server' };
  }
  return { ok: true, url: url.href };
}
