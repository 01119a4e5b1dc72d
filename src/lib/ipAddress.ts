/**
 * IP addresses and CIDR blocks for API-key allowlists and for finding the client behind
 * trusted proxies. IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, what a dual-stack socket
 * reports for an IPv4 peer) are the IPv4 address they carry, so `10.0.0.0/8` matches them.
 * Only Web-standard JavaScript: no node:net.
 */

export interface IpAddress {
  version: 4 | 6;
  /** 4 bytes for IPv4, 16 for IPv6, network order. */
  bytes: Uint8Array;
}

export interface Cidr {
  network: IpAddress;
  prefix: number;
}

const IPV4_OCTET = /^(0|[1-9]\d{0,2})$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    // No leading zeros: `010` is octal to some parsers and decimal to others.
    if (!IPV4_OCTET.test(parts[i]!)) return undefined;
    const value = Number(parts[i]);
    if (value > 255) return undefined;
    bytes[i] = value;
  }
  return bytes;
}

function parseIpv6(text: string): Uint8Array | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (i === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseIpv4(piece);
        if (!v4) return undefined;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!HEX_GROUP.test(piece)) return undefined;
        out.push(parseInt(piece, 16));
      }
    }
    return out;
  };
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (!head || !tail) return undefined;
  // An embedded IPv4 address may only end the address.
  if (halves.length === 2 && halves[0]!.includes('.')) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

const isV4Mapped = (b: Uint8Array) => b.length === 16 && b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;

/**
 * Parses an address as sockets and proxies write it: `1.2.3.4`, `2001:db8::1`, `fe80::1%eth0`
 * (the zone is dropped), `[2001:db8::1]:443` and `1.2.3.4:5678` (the port is dropped).
 */
export function parseIp(text: string): IpAddress | undefined {
  let value = text.trim();
  const bracketed = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(value);
  if (bracketed) value = bracketed[1]!;
  else if (/^[\d.]+:\d{1,5}$/.test(value)) value = value.slice(0, value.lastIndexOf(':'));
  const zone = value.indexOf('%');
  if (zone >= 0) value = value.slice(0, zone);
  if (!value.includes(':')) {
    const v4 = parseIpv4(value);
    return v4 && { version: 4, bytes: v4 };
  }
  const v6 = parseIpv6(value);
  if (!v6) return undefined;
  return isV4Mapped(v6) ? { version: 4, bytes: v6.slice(12) } : { version: 6, bytes: v6 };
}

/** The canonical text of an address: dotted IPv4, or RFC 5952 IPv6 (lower case, longest zero run as `::`). */
export function formatIp(ip: IpAddress): string {
  if (ip.version === 4) return Array.from(ip.bytes).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => (ip.bytes[2 * i]! << 8) | ip.bytes[2 * i + 1]!);
  let bestStart = -1;
  let bestLength = 1; // a single zero group is not compressed
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** The canonical text of an address, or undefined when `text` is not one. */
export function normalizeIp(text: string): string | undefined {
  const ip = parseIp(text);
  return ip && formatIp(ip);
}

function hostBitsSet(bytes: Uint8Array, prefix: number): boolean {
  for (let bit = prefix; bit < bytes.length * 8; bit++) {
    if (bytes[bit >> 3]! & (0x80 >> (bit & 7))) return true;
  }
  return false;
}

function masked(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = bytes.slice();
  for (let bit = prefix; bit < out.length * 8; bit++) out[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return out;
}

/** `10.0.0.0/8`, `2001:db8::/32`, or a bare address (a block of one). */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const addressText = (slash < 0 ? text : text.slice(0, slash)).trim();
  // Ports and zones make no sense in a block; parseIp would drop them silently.
  if (/[[\]%]/.test(addressText) || /^\d{1,3}(\.\d{1,3}){3}:/.test(addressText)) return undefined;
  const prefixText = slash < 0 ? undefined : text.slice(slash + 1).trim();
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return undefined;
  const raw = addressText.includes(':') ? parseIpv6(addressText) : parseIpv4(addressText);
  if (!raw) return undefined;
  const prefix = prefixText === undefined ? raw.length * 8 : Number(prefixText);
  if (prefix > raw.length * 8) return undefined;
  if (raw.length === 16 && isV4Mapped(raw) && prefix >= 96) {
    // `::ffff:10.0.0.0/104` is the IPv4 block 10.0.0.0/8, and matches like it.
    return { network: { version: 4, bytes: raw.slice(12) }, prefix: prefix - 96 };
  }
  return { network: { version: raw.length === 4 ? 4 : 6, bytes: raw }, prefix };
}

export function formatCidr(cidr: Cidr): string {
  return `${formatIp(cidr.network)}/${cidr.prefix}`;
}

/**
 * Checks one allowlist entry. Host bits set after the prefix (`10.0.0.5/8`) are refused rather
 * than masked, since they usually mean a typo; the message names the block that was probably meant.
 */
export function validateCidr(text: string): { ok: true; cidr: string } | { ok: false; message: string } {
  const cidr = parseCidr(text);
  if (!cidr) return { ok: false, message: `"${text}" is not an IPv4 or IPv6 address or CIDR block` };
  if (hostBitsSet(cidr.network.bytes, cidr.prefix)) {
    const meant = formatCidr({ network: { ...cidr.network, bytes: masked(cidr.network.bytes, cidr.prefix) }, prefix: cidr.prefix });
    return { ok: false, message: `"${text}" has bits set after its /${cidr.prefix} prefix; did you mean ${meant}?` };
  }
  return { ok: true, cidr: formatCidr(cidr) };
}

function contains(cidr: Cidr, ip: IpAddress): boolean {
  if (cidr.network.version !== ip.version) return false;
  const full = cidr.prefix >> 3;
  for (let i = 0; i < full; i++) if (cidr.network.bytes[i] !== ip.bytes[i]) return false;
  const rest = cidr.prefix & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (cidr.network.bytes[full]! & mask) === (ip.bytes[full]! & mask);
}

/** True when `ip` lies in one of the blocks; an unparsable address or block never matches. */
export function ipInCidrs(ip: string | IpAddress, cidrs: readonly string[]): boolean {
  const address = typeof ip === 'string' ? parseIp(ip) : ip;
  if (!address) return false;
  for (const text of cidrs) {
    const cidr = parseCidr(text);
    if (cidr && contains(cidr, address)) return true;
  }
  return false;
}

/** What `clientIpFrom` answers when the socket gives no usable address (in-process calls). */
export const UNKNOWN_CLIENT_IP = 'unknown';

/**
 * The client's address. `X-Forwarded-For` is believed only when the socket peer is a trusted
 * proxy, and then only hop by hop from the right: each proxy appends the address it saw, so
 * the first entry from the right that is not a trusted proxy is the client. Entries further
 * left were written by the client itself and prove nothing. A malformed entry ends the walk at
 * the last trusted hop, which is then the nearest address anyone vouches for.
 */
/**
 * Socket addresses repeat (keep-alive, a few proxies, a NAT), so their parsed and canonical
 * forms are remembered instead of parsed on every request; the memo is bounded.
 */
const socketMemo = new Map<string, { ip: IpAddress; text: string } | null>();
const SOCKET_MEMO_LIMIT = 10_000;

function socketAddress(raw: string): { ip: IpAddress; text: string } | null {
  let known = socketMemo.get(raw);
  if (known === undefined) {
    const ip = parseIp(raw);
    known = ip ? { ip, text: formatIp(ip) } : null;
    if (socketMemo.size >= SOCKET_MEMO_LIMIT) socketMemo.clear();
    socketMemo.set(raw, known);
  }
  return known;
}

export function clientIpFrom(
  socketIp: string | null | undefined,
  xForwardedFor: string | null | undefined,
  trustedProxies: readonly string[],
): string {
  const socket = socketIp ? socketAddress(socketIp) : null;
  if (!socket) return UNKNOWN_CLIENT_IP;
  if (!xForwardedFor || trustedProxies.length === 0 || !ipInCidrs(socket.ip, trustedProxies)) return socket.text;
  let current = socket.ip;
  const hops = xForwardedFor
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = parseIp(hops[i]!);
    if (!hop) break;
    current = hop;
    if (!ipInCidrs(hop, trustedProxies)) break;
  }
  return formatIp(current);
}
