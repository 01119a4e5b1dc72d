/**
 * How a delivery reaches its receiver without becoming a way into the operator's network. The
 * receiver's name is resolved once, here; on a live server every address it resolves to must be
 * public (validateWebhookUrl's rules, applied to the answers), and the request then connects to
 * the address that was checked, so a name that changes its answer between the check and the
 * connection (DNS rebinding) gains nothing. TLS still verifies the certificate for the name.
 *
 * The resolver is a port (tests answer names themselves); the default asks the system's
 * resolver through node:dns, and the request goes through node:http/node:https with their
 * `lookup` hook, which Node, Bun and Deno all implement: fetch cannot be told where to connect.
 */
import { lookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { Readable } from 'node:stream';
import type { Config } from '../../config/config.ts';
import { parseIp } from '../../lib/ipAddress.ts';
import type { HostResolver } from '../context.ts';
import { isNonPublicAddress, privateTargetsAllowed } from './urls.ts';

export const systemResolver: HostResolver = async (hostname) => (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address);

export type Target = { ok: true; address: string } | { ok: false; message: string };

/** The one address a delivery to `url` connects to, or why it is not sent. */
export async function deliveryTarget(url: URL, config: Pick<Config, 'environment' | 'webhookAllowPrivate'>, resolve: HostResolver): Promise<Target> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (parseIp(host)) addresses = [host];
  else {
    try {
      addresses = await resolve(host);
    } catch (error) {
      return { ok: false, message: `${host} does not resolve (${(error as { code?: string }).code ?? 'no answer'})` };
    }
  }
  if (addresses.length === 0) return { ok: false, message: `${host} does not resolve` };
  // Every answer is checked: a name with one public and one private address could be either.
  const nonPublic = addresses.find(isNonPublicAddress);
  if (nonPublic && !privateTargetsAllowed(config)) return { ok: false, message: `${host} resolves to ${nonPublic}, a non-public address` };
  return { ok: true, address: addresses[0]! };
}

/** POSTs to `url`, connecting to `address`; the answer as a Response (its body streamed). No redirect is followed. */
export function postTo(url: URL, address: string, init: { headers: Record<string, string>; body: string; signal: AbortSignal }): Promise<Response> {
  const family = address.includes(':') ? 6 : 4;
  const pinned: LookupFunction = (_hostname, options, callback) => {
    if ((options as { all?: boolean }).all) (callback as (e: null, a: { address: string; family: number }[]) => void)(null, [{ address, family }]);
    else callback(null, address, family);
  };
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const outgoing = request(url, { method: 'POST', headers: init.headers, lookup: pinned, signal: init.signal }, (incoming: IncomingMessage) => {
      const status = incoming.statusCode ?? 0;
      const headers = new Headers();
      for (const [name, value] of Object.entries(incoming.headers)) {
        for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) headers.append(name, v);
      }
      // A Response cannot carry a body with these statuses.
      const bodyless = [204, 205, 304].includes(status);
      if (bodyless) incoming.resume();
      resolve(new Response(bodyless ? null : (Readable.toWeb(incoming) as unknown as ReadableStream<Uint8Array>), { status, headers }));
    });
    outgoing.once('error', reject);
    outgoing.end(init.body);
  });
}
