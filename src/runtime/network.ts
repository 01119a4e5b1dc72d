/**
 * `Network` over node:dns, node:http(s) and node:net, which Node, Bun and Deno all provide: the
 * request's `lookup` hook is what lets a delivery connect to the address that was checked (fetch
 * cannot be told where to connect), and postgres.js takes its sockets from node:net.
 */
import { lookup } from 'node:dns/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect, type LookupFunction } from 'node:net';
import { Readable } from 'node:stream';
import type { Network, PinnedPost } from '../lib/network.ts';

const postTo: PinnedPost = (url, address, init) => {
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
};

export const nodeNetwork: Network = {
  resolveHost: async (hostname) => (await lookup(hostname, { all: true, verbatim: true })).map((a) => a.address),
  postTo,
  connectSocket: (to) => ('path' in to ? connect({ path: to.path }) : connect({ host: to.host, port: to.port, noDelay: true })),
};
