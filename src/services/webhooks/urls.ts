/**
 * Which URLs a webhook endpoint may have. Always http or https, never credentials or a
 * fragment. On a live server the worker would otherwise be a way into the operator's own
 * network (SSRF), so there: https only, and no loopback, private, link-local or otherwise
 * non-public address unless WEBHOOK_ALLOW_PRIVATE=1, which admits them over http too (a
 * receiver inside the operator's network often has no certificate).
 *
 * Only literal addresses and `localhost` names can be judged here: the services use Web APIs
 * alone, so a public name that resolves to a private address is not caught.
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
  '::/127',
  '64:ff9b:1::/48',
  'fc00::/7',
  'fe80::/10',
  'ff00::/8',
];

function isNonPublicHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const address = parseIp(host);
  return address !== undefined && ipInCidrs(address, NON_PUBLIC);
}

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
    if (nonPublic && !config.webhookAllowPrivate) {
      return { ok: false, message: 'url must not point at a loopback or private address on a live server' };
    }
    if (!nonPublic && url.protocol !== 'https:') return { ok: false, message: 'url must use https on a live server' };
  }
  return { ok: true, url: url.href };
}
