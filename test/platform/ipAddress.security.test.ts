/** Addresses and CIDR blocks as allowlists and proxies write them, and the client behind trusted proxies. */
import { describe, expect, it } from 'vitest';
import { clientIpFrom, ipInCidrs, normalizeIp, parseIp, UNKNOWN_CLIENT_IP, validateCidr } from '../../src/lib/ipAddress.ts';

describe('parsing addresses', () => {
  it.each([
    ['192.168.1.20', '192.168.1.20'],
    ['0.0.0.0', '0.0.0.0'],
    ['::1', '::1'],
    ['::', '::'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8::0:1', '2001:db8::1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['[2001:db8::7]:443', '2001:db8::7'],
    ['[::1]', '::1'],
    ['203.0.113.9:51234', '203.0.113.9'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['::FFFF:0a01:0203', '10.1.2.3'],
    ['64:ff9b::198.51.100.1', '64:ff9b::c633:6401'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
  ])('reads %s as %s', (text, canonical) => {
    expect(normalizeIp(text)).toBe(canonical);
  });

  it.each([
    '',
    '256.1.1.1',
    '1.2.3',
    '1.2.3.4.5',
    '010.0.0.1',
    '1::2::3',
    '1:2:3:4:5:6:7:8:9',
    '12345::',
    'fe80::g',
    '1.2.3.4::',
    ':1::',
    'localhost',
  ])('refuses %j', (text) => {
    expect(parseIp(text)).toBeUndefined();
  });

  it('treats an IPv4-mapped IPv6 address as the IPv4 address it carries', () => {
    expect(parseIp('::ffff:192.0.2.1')).toEqual(parseIp('192.0.2.1'));
  });
});

describe('CIDR blocks', () => {
  it('accepts blocks and bare addresses and gives their canonical form', () => {
    expect(validateCidr('10.0.0.0/8')).toEqual({ ok: true, cidr: '10.0.0.0/8' });
    expect(validateCidr('203.0.113.7')).toEqual({ ok: true, cidr: '203.0.113.7/32' });
    expect(validateCidr('2001:DB8::/32')).toEqual({ ok: true, cidr: '2001:db8::/32' });
    expect(validateCidr('::ffff:10.0.0.0/104')).toEqual({ ok: true, cidr: '10.0.0.0/8' });
    expect(validateCidr('0.0.0.0/0')).toEqual({ ok: true, cidr: '0.0.0.0/0' });
  });

  it('refuses host bits after the prefix and says which block was probably meant', () => {
    const checked = validateCidr('10.1.2.3/8');
    expect(checked.ok).toBe(false);
    expect(!checked.ok && checked.message).toContain('10.0.0.0/8');
  });

  it.each(['10.0.0.0/33', '2001:db8::/129', '10.0.0.0/', '10.0.0.0/a', 'nonsense', '[::1]/128', '1.2.3.4:80/32', 'fe80::%eth0/64'])(
    'refuses %j',
    (text) => {
      expect(validateCidr(text).ok).toBe(false);
    },
  );

  it('matches addresses inside a block and nothing outside it', () => {
    const allow = ['10.0.0.0/8', '192.168.1.0/24', '2001:db8:abcd::/48', '198.51.100.7'];
    expect(ipInCidrs('10.255.0.1', allow)).toBe(true);
    expect(ipInCidrs('11.0.0.1', allow)).toBe(false);
    expect(ipInCidrs('192.168.1.255', allow)).toBe(true);
    expect(ipInCidrs('192.168.2.0', allow)).toBe(false);
    expect(ipInCidrs('2001:db8:abcd:12::1', allow)).toBe(true);
    expect(ipInCidrs('2001:db8:abce::1', allow)).toBe(false);
    expect(ipInCidrs('198.51.100.7', allow)).toBe(true);
    expect(ipInCidrs('198.51.100.8', allow)).toBe(false);
  });

  it('matches an IPv4-mapped client against IPv4 blocks, and never IPv4 against IPv6 blocks', () => {
    expect(ipInCidrs('::ffff:10.9.9.9', ['10.0.0.0/8'])).toBe(true);
    expect(ipInCidrs('10.9.9.9', ['::/0'])).toBe(false);
    expect(ipInCidrs('2001:db8::1', ['0.0.0.0/0'])).toBe(false);
  });

  it('matches prefixes that do not end on a byte', () => {
    expect(ipInCidrs('172.31.255.255', ['172.16.0.0/12'])).toBe(true);
    expect(ipInCidrs('172.32.0.0', ['172.16.0.0/12'])).toBe(false);
  });

  it('never matches an address it cannot read', () => {
    expect(ipInCidrs(UNKNOWN_CLIENT_IP, ['0.0.0.0/0', '::/0'])).toBe(false);
  });
});

describe('the client address behind proxies', () => {
  const proxies = ['10.0.0.0/8', '2001:db8:ffff::/48'];

  it('is the socket peer when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(clientIpFrom('203.0.113.5', '198.51.100.1', [])).toBe('203.0.113.5');
  });

  it('is the socket peer when the peer is not a trusted proxy', () => {
    expect(clientIpFrom('203.0.113.5', '198.51.100.1', proxies)).toBe('203.0.113.5');
  });

  it('is the rightmost hop that is not a trusted proxy', () => {
    expect(clientIpFrom('10.0.0.2', '198.51.100.1, 203.0.113.77, 10.0.0.9', proxies)).toBe('203.0.113.77');
  });

  it('ignores what the client wrote further left (spoofing attempt)', () => {
    expect(clientIpFrom('10.0.0.2', '1.1.1.1, 203.0.113.77', proxies)).toBe('203.0.113.77');
  });

  it('is the leftmost hop when every hop is a trusted proxy', () => {
    expect(clientIpFrom('10.0.0.2', '10.0.0.3, 10.0.0.4', proxies)).toBe('10.0.0.3');
  });

  it('stops at a malformed hop and answers the last trusted address', () => {
    expect(clientIpFrom('10.0.0.2', '203.0.113.77, garbage, 10.0.0.4', proxies)).toBe('10.0.0.4');
  });

  it('reads IPv6 and IPv4-mapped sockets and hops with ports', () => {
    expect(clientIpFrom('::ffff:10.0.0.2', '[2001:db8::5]:4711', proxies)).toBe('2001:db8::5');
    expect(clientIpFrom('2001:db8:ffff::1', '203.0.113.8:1234', proxies)).toBe('203.0.113.8');
  });

  it('is the socket peer when there is no X-Forwarded-For', () => {
    expect(clientIpFrom('10.0.0.2', null, proxies)).toBe('10.0.0.2');
  });

  it('is unknown without a socket address, and then believes no header', () => {
    expect(clientIpFrom(undefined, '203.0.113.1', proxies)).toBe(UNKNOWN_CLIENT_IP);
    expect(clientIpFrom('', '203.0.113.1', ['0.0.0.0/0'])).toBe(UNKNOWN_CLIENT_IP);
  });
});
