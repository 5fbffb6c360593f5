import { BlockList } from 'node:net';
import {
  addressFamily, blockListOf, canonicalAddress, cidrProblem, embeddedIpv4, embeddedIpv4Addresses, formatEndpoint, isCidr, isEndpoint, listContains,
  parseCidr,
  ipv4Number, parseCidrOrThrow, parseIpAddress,
} from '../../../lib/private/network';

describe('parseCidr and canonicalAddress', () => {
  test('parses CIDRs; a bare address is not a CIDR', () => {
    expect(parseCidr('10.0.0.0/8')).toEqual({ address: '10.0.0.0', prefix: 8, family: 'ipv4' });
    expect(parseCidr('2001:db8::/32')).toEqual({ address: '2001:db8::', prefix: 32, family: 'ipv6' });
    // A CIDR always has a prefix: a single host is written /32 or /128.
    expect(parseCidr('192.0.2.1')).toBe('is not a CIDR (the prefix is missing: write 192.0.2.1/32 for one address)');
    expect(parseCidr('2001:db8::1')).toBe('is not a CIDR (the prefix is missing: write 2001:db8::1/128 for one address)');
    expect(parseCidr('nope/8')).toBe('is not a CIDR (the address part is not an IP address)');
    expect(parseCidr('::/129')).toBe('is not a CIDR (prefix must be 0–128)');
    expect(parseCidr('10.0.0.0/+8')).toBe('is not a CIDR (prefix must be 0–32)');
    expect(parseCidr('fe80::/10%eth0')).toBe('is not a CIDR (prefix must be 0–128)');
    expect(parseCidr('fe80::%eth0/10')).toBe('is not a CIDR (the address part is not an IP address)');
    expect(parseCidr(42)).toBe('is not a CIDR');
  });

  test('cidrProblem, isCidr and parseCidrOrThrow agree with parseCidr', () => {
    expect(cidrProblem('10.0.0.0/8')).toBeUndefined();
    expect(cidrProblem('10.0.0.1')).toContain('prefix is missing');
    expect(isCidr('fd00::/64')).toBe(true);
    expect(isCidr('fd00::')).toBe(false);
    expect(() => parseCidrOrThrow('10.0.0.0/33', 'EgressAllowedNetworks'))
      .toThrow('EgressAllowedNetworks: "10.0.0.0/33" is not a CIDR (prefix must be 0–32) (allowed: CIDR a.b.c.d/0–32 or IPv6/0–128)');
  });

  test('writes each address one way', () => {
    expect(canonicalAddress('203.0.113.5')).toBe('203.0.113.5');
    expect(canonicalAddress('::FFFF:203.0.113.5')).toBe('203.0.113.5');
    expect(canonicalAddress('2001:0DB8:0:0::1')).toBe('2001:db8::1');
    expect(canonicalAddress('fe80::1%eth0')).toBeUndefined();
    expect(canonicalAddress('example.com')).toBeUndefined();
  });
});

describe('addresses', () => {
  test('families, endpoints and the IPv4 address inside an IPv6 address', () => {
    expect(addressFamily('192.0.2.1')).toBe('ipv4');
    expect(addressFamily('2001:db8::1')).toBe('ipv6');
    expect(addressFamily('fe80::1%eth0')).toBeUndefined();
    expect(addressFamily('host')).toBeUndefined();
    expect(formatEndpoint('192.0.2.1', 5)).toBe('192.0.2.1:5');
    expect(formatEndpoint('2001:db8::1', 5)).toBe('[2001:db8::1]:5');
    expect(embeddedIpv4('64:ff9b::a00:101')).toBe('10.0.1.1');
    expect(embeddedIpv4('64:ff9b::169.254.169.254')).toBe('169.254.169.254');
    expect(() => embeddedIpv4('10.0.0.1')).toThrow('"10.0.0.1" is not an IPv6 address');
  });

  test('block lists match IPv4 rules for IPv4-mapped IPv6 addresses', () => {
    const list: BlockList = blockListOf(['10.0.0.0/8', 'fd00::/64']);
    expect(listContains(list, '10.1.2.3')).toBe(true);
    expect(listContains(list, '::ffff:10.1.2.3')).toBe(true);
    expect(listContains(list, 'fd00::5')).toBe(true);
    expect(listContains(list, '11.0.0.1')).toBe(false);
    expect(() => blockListOf(['10.0.0.1'], 'denied networks')).toThrow('denied networks: "10.0.0.1" is not a CIDR (the prefix is missing');
  });

  test.each([
    ['192.0.2.1:51820', true],
    ['[2001:db8::1]:51820', true],
    ['vpn.example.com:51820', true],
    ['vpn.example.com', false],
    ['192.0.2.1:0', false],
    ['192.0.2.1:65536', false],
    ['[192.0.2.1]:5', false],
    ['-bad.example.com:5', false],
  ])('isEndpoint(%s) is %s', (value, expected) => {
    expect(isEndpoint(value)).toBe(expected);
  });
});

describe('embeddedIpv4Addresses', () => {
  const of = (address: string) => embeddedIpv4Addresses(parseIpAddress(address)!);
  test.each([
    ['::ffff:10.1.2.3', [{ address: '10.1.2.3', form: 'IPv4-mapped' }]],
    ['::ffff:0:a01:203', [{ address: '10.1.2.3', form: 'IPv4-translated' }]],
    ['64:ff9b::10.1.2.3', [{ address: '10.1.2.3', form: 'NAT64' }]],
    ['2002:a01:203::', [{ address: '10.1.2.3', form: '6to4' }]],
    ['2001:0:4136:e378:8000:63bf:f5fe:fdfc', [{ address: '10.1.2.3', form: 'Teredo client' }, { address: '65.54.227.120', form: 'Teredo server' }]],
    ['2001:db8::1', []],
    ['fd00::1', []],
  ])('%s carries %j', (address, expected) => {
    expect(of(address)).toEqual(expected);
  });

  test('local-use NAT64 yields the IPv4 address at every RFC 6052 prefix length', () => {
    const found = of('64:ff9b:1:a01:2:300::').map((e) => e.address);
    expect(found).toContain('10.1.2.3'); // /48: bytes 6, 7, 9, 10
    expect(of('64:ff9b:1::a01:203').map((e) => e.address)).toContain('10.1.2.3'); // /96
  });

  test('IPv4 input carries nothing', () => {
    expect(embeddedIpv4Addresses(parseIpAddress('10.1.2.3')!)).toEqual([]);
  });
});

describe('ipv4Number', () => {
  test.each([
    ['0.0.0.0', 0],
    ['127.0.0.1', 0x7f000001],
    ['203.0.113.5', 0xcb007105],
    ['255.255.255.255', 0xffffffff],
  ])('%s is %d', (address, value) => {
    expect(ipv4Number(address)).toBe(value);
  });

  test.each(['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.04', '1..3.4', '.1.2.3', '1.2.3.', '::ffff:1.2.3.4', '2001:db8::1', '1.2.3.4 ', 'a.b.c.d', '1.2.3.4444'])(
    '%j is not a canonical dotted quad',
    (address) => {
      expect(ipv4Number(address)).toBe(-1);
    },
  );

  test('agrees with parseIpAddress on every canonical address of a sample', () => {
    for (let i = 0; i < 2000; i++) {
      const n = (i * 2654435761) % 2 ** 32;
      const text = [Math.floor(n / 2 ** 24), Math.floor(n / 2 ** 16) % 256, Math.floor(n / 256) % 256, n % 256].join('.');
      expect(ipv4Number(text)).toBe(parseIpAddress(text)!.readUInt32BE(0));
    }
  });
});
