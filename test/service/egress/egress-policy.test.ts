import { EGRESS_VERDICT_CACHE_SIZE, EgressPolicy } from '../../../service/egress/egress-policy';

describe('EgressPolicy (AWS defaults)', () => {
  const policy = new EgressPolicy({ deniedNetworks: ['10.0.0.0/16', 'fd00:ec2::/64'] });

  test.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['::ffff:169.254.169.254', 'link-local'],
    ['64:ff9b::a9fe:a9fe', 'link-local'],
    ['64:ff9b::169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['ff02::1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['240.1.2.3', 'reserved'],
    ['10.0.3.4', 'VPC network'],
    ['::ffff:10.0.3.4', 'VPC network'],
    ['fd00:ec2::23', 'VPC network'],
  ])('denies %s (%s)', (address, label) => {
    const failure = policy.check(address);
    expect(failure?.code).toBe('DestinationDenied');
    expect(failure?.reason).toContain(`is ${label} (`);
    expect(failure?.reason).toContain(address);
  });

  test.each(['203.0.113.5', '8.8.8.8', '10.1.0.1', '2001:db8::5', '::ffff:203.0.113.5', '64:ff9b::808:808'])('allows %s', (address) => {
    expect(policy.check(address)).toBeUndefined();
  });

  test.each(['not-an-ip', '', '1.2.3', '1.2.3.4.5', 'fe80::1%eth0', '01.2.3.4'])('rejects %j as InvalidAddress', (address) => {
    expect(policy.check(address)?.code).toBe('InvalidAddress');
  });
});

describe('EgressPolicy: AWS IPv6 instance services and IPv4 carried in IPv6', () => {
  const policy = new EgressPolicy({ deniedNetworks: ['10.0.0.0/16', '100.64.0.0/16'] });

  test.each(['fd00:ec2::254', 'fd00:ec2::253', 'fd00:ec2::23', 'FD00:EC2:0:0:0:0:0:254'])('denies %s (AWS instance services)', (address) => {
    expect(policy.check(address)).toEqual({ code: 'DestinationDenied', reason: expect.stringContaining('is AWS instance services (') });
  });

  test.each([
    ['64:ff9b::169.254.169.254', 'NAT64 for 169.254.169.254', 'link-local'],
    ['64:ff9b:1::a9fe:a9fe', 'local-use NAT64 for 169.254.169.254', 'link-local'],
    ['64:ff9b:1:a00:3:400::', 'local-use NAT64 for 10.0.3.4', 'VPC network'],
    ['64:ff9b:1:a9fe:a9:fe00::', 'local-use NAT64 for 169.254.169.254', 'link-local'],
    ['::ffff:169.254.169.254', '', 'link-local'],
    ['::ffff:0:a00:304', 'IPv4-translated for 10.0.3.4', 'VPC network'],
    ['2002:a00:304::1', '6to4 for 10.0.3.4', 'VPC network'],
    ['2002:7f00:1::', '6to4 for 127.0.0.1', 'loopback'],
    ['2002:a9fe:a9fe::1', '6to4 for 169.254.169.254', 'link-local'],
    ['2001:0:4136:e378:8000:63bf:f5ff:fcfb', 'Teredo client for 10.0.3.4', 'VPC network'],
    ['2001:0:a9fe:a9fe:8000:63bf:34ff:8efa', 'Teredo server for 169.254.169.254', 'link-local'],
    ['2002:6440:1::', '6to4 for 100.64.0.1', 'VPC network'],
  ])('denies %s (%s)', (address, via, label) => {
    const failure = policy.check(address);
    expect(failure?.code).toBe('DestinationDenied');
    expect(failure?.reason).toContain(`${address}${via ? ` (${via})` : ''} is ${label} (`);
  });

  test.each(['2002:cb00:7105::1', '64:ff9b:1::cb00:7105', '2001:0:4136:e378:8000:63bf:34ff:8efa', '2001:db8::1', 'fd00:ec2::1'])('allows %s (public IPv4 carried, or no IPv4)', (address) => {
    expect(policy.check(address)).toBeUndefined();
  });

  test('EgressAllowedNetworks covering the carried IPv4 address allows the embedding form', () => {
    const allowing = new EgressPolicy({ deniedNetworks: ['10.0.0.0/16'], allowedNetworks: ['10.0.3.0/24'] });
    expect(allowing.check('2002:a00:304::1')).toBeUndefined();
    expect(allowing.check('2002:a00:404::1')?.code).toBe('DestinationDenied');
  });
});

describe('EgressPolicy exceptions', () => {
  test('local mode allows loopback but nothing else that is denied', () => {
    const local = new EgressPolicy({ allowLoopback: true });
    expect(local.check('127.0.0.1')).toBeUndefined();
    expect(local.check('::1')).toBeUndefined();
    expect(local.check('::ffff:127.0.0.1')).toBeUndefined();
    expect(local.check('169.254.169.254')?.code).toBe('DestinationDenied');
  });

  test("a Listener's EgressAllowedNetworks overrides the denied ranges, IPv4 and IPv6", () => {
    const policy = new EgressPolicy({ deniedNetworks: ['10.0.0.0/16'], allowedNetworks: ['10.0.5.0/24', '127.0.0.1/32', 'fe80::/64'] });
    expect(policy.check('10.0.5.9')).toBeUndefined();
    expect(policy.check('::ffff:10.0.5.9')).toBeUndefined();
    expect(policy.check('127.0.0.1')).toBeUndefined();
    expect(policy.check('fe80::abcd')).toBeUndefined();
    expect(policy.check('10.0.6.1')?.code).toBe('DestinationDenied');
    expect(policy.check('127.0.0.2')?.code).toBe('DestinationDenied');
    expect(policy.isExplicitlyAllowed('10.0.5.1')).toBe(true);
  });

  test('an invalid CIDR in the options fails construction with a clear message', () => {
    expect(() => new EgressPolicy({ allowedNetworks: ['10.0.0.0/33'] })).toThrow('EgressAllowedNetworks: "10.0.0.0/33" is not a CIDR (prefix must be 0–32) (allowed: CIDR a.b.c.d/0–32 or IPv6/0–128)');
  });
});

describe('EgressPolicy verdict cache', () => {
  test('repeated and interleaved checks keep giving each address its own verdict', () => {
    const policy = new EgressPolicy({ deniedNetworks: ['10.0.0.0/16'] });
    for (let round = 0; round < 3; round++) {
      expect(policy.check('203.0.113.5')).toBeUndefined();
      expect(policy.check('10.0.1.1')?.code).toBe('DestinationDenied');
      expect(policy.check('10.0.1.1')?.reason).toContain('VPC network');
      expect(policy.check('169.254.169.254')?.reason).toContain('link-local');
      expect(policy.check('not-an-ip')?.code).toBe('InvalidAddress');
      expect(policy.check('64:ff9b::a00:101')?.reason).toContain('NAT64 for 10.0.1.1');
    }
  });

  test('verdicts stay right after the cache has been filled and emptied', () => {
    const policy = new EgressPolicy({ deniedNetworks: ['10.0.0.0/16'] });
    for (let i = 0; i < EGRESS_VERDICT_CACHE_SIZE + 10; i++) {
      const address = `10.${i % 2 === 0 ? 0 : 9}.${Math.floor(i / 256) % 256}.${i % 256}`;
      const verdict = policy.check(address);
      if (i % 2 === 0) expect(verdict?.code).toBe('DestinationDenied');
      else expect(verdict).toBeUndefined();
    }
    expect(policy.check('10.0.0.1')?.code).toBe('DestinationDenied');
    expect(policy.check('198.51.100.1')).toBeUndefined();
  });
});
