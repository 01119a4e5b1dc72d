/**
 * How a delivery reaches its receiver without becoming a way into the operator's network. The
 * receiver's name is resolved once, here; on a live server every address it resolves to must be
 * public (validateWebhookUrl's rules, applied to the answers), and the request then connects to
 * the address that was checked, so a name that changes its answer between the check and the
 * connection (DNS rebinding) gains nothing. TLS still verifies the certificate for the name.
 *
 * Resolving and sending go through the runtime's `Network` port (lib/network.ts; tests answer
 * names themselves); this module decides where a delivery may go.
 */
import type { Config } from '../../config/config.ts';
import { parseIp } from '../../lib/ipAddress.ts';
import type { HostResolver } from '../../lib/network.ts';
import { isNonPublicAddress, privateTargetsAllowed } from './urls.ts';

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
