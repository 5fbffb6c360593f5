/** The load-balancer stand-in's pure parts: names, the nftables ruleset, reading owners from conntrack. */
import { balancerRules, checkAddresses, checkPrefix, DEFAULT_ADDRESSES, dnatRules, LabNetwork, parseConntrackLine } from '../../scripts/fleet/network';

const network: LabNetwork = {
  prefix: 'pfab12',
  vip: '198.51.100.1',
  natAddress: '198.51.100.99',
  clientAddress: '198.51.100.2',
  clientNamespace: 'pfab12cli',
  upstream: false,
  balancerNamespace: 'pfab12lb',
  taskNamespaces: ['pfab12t1', 'pfab12t2', 'pfab12t3'],
  taskAddresses: ['10.20.0.11', '10.20.0.12', '10.20.0.13'],
  taskNetwork: '10.20.0.0/24',
  apiAddress: '100.100.7.1',
  ports: [5555, 51820],
};

describe('parseConntrackLine', () => {
  test('names the task that the reply direction comes from', () => {
    const line = 'udp      17 118 src=198.51.100.2 dst=198.51.100.1 sport=42126 dport=5555 src=10.20.0.12 dst=198.51.100.2 sport=5555 dport=42126 [ASSURED] mark=0 use=1';
    expect(parseConntrackLine(line, network)).toEqual({ clientAddress: '198.51.100.2', clientPort: 42126, port: 5555, task: 2 });
  });

  test('ignores flows that are not to the VIP or not to a task, and lines that are not flows', () => {
    const toApi = 'udp 17 29 src=10.20.0.11 dst=100.100.7.1 sport=40000 dport=4566 src=100.100.7.1 dst=100.100.7.2 sport=4566 dport=40000 mark=0 use=1';
    const notDnated = 'udp 17 29 src=198.51.100.2 dst=198.51.100.1 sport=40000 dport=9999 src=198.51.100.1 dst=198.51.100.2 sport=9999 dport=40000 mark=0 use=1';
    expect(parseConntrackLine(toApi, network)).toBeUndefined();
    expect(parseConntrackLine(notDnated, network)).toBeUndefined();
    expect(parseConntrackLine('conntrack v1.4.7 (conntrack-tools): 1 flow entries have been shown.', network)).toBeUndefined();
  });
});

describe('balancerRules', () => {
  test('DNATs the Listener ports of the VIP by flow hash to every task, and SNATs untracked sends to the NAT address', () => {
    const rules = balancerRules(network);
    expect(rules).toContain('table ip pfab12nlb {');
    expect(rules).toContain('ip daddr 198.51.100.1 udp dport { 5555, 51820 } dnat to jhash ip saddr . udp sport mod 3 map { 0 : 10.20.0.11, 1 : 10.20.0.12, 2 : 10.20.0.13 }');
    expect(rules).toContain('iifname "br0" oifname "pfab12lc" ct status dnat accept\n    iifname "br0" oifname "pfab12lc" snat to 198.51.100.99');
    expect(rules).toContain('oifname "pfab12la" masquerade');
  });
});

describe('dnatRules', () => {
  test('balances each port over the tasks that take its new flows; ports with the same tasks share a rule', () => {
    expect(dnatRules(network, new Map([[5555, [3, 1]], [51820, [1, 3]]]))).toEqual([
      'ip daddr 198.51.100.1 udp dport { 5555, 51820 } dnat to jhash ip saddr . udp sport mod 2 map { 0 : 10.20.0.11, 1 : 10.20.0.13 }',
    ]);
    expect(dnatRules(network, new Map([[5555, [2]], [51820, [1, 2, 3]]]))).toEqual([
      'ip daddr 198.51.100.1 udp dport { 5555 } dnat to jhash ip saddr . udp sport mod 1 map { 0 : 10.20.0.12 }',
      'ip daddr 198.51.100.1 udp dport { 51820 } dnat to jhash ip saddr . udp sport mod 3 map { 0 : 10.20.0.11, 1 : 10.20.0.12, 2 : 10.20.0.13 }',
    ]);
  });

  test('a port without any task gets no rule (its new flows go nowhere); a port not named goes to every task', () => {
    expect(dnatRules(network, new Map([[5555, []]]))).toEqual([
      'ip daddr 198.51.100.1 udp dport { 51820 } dnat to jhash ip saddr . udp sport mod 3 map { 0 : 10.20.0.11, 1 : 10.20.0.12, 2 : 10.20.0.13 }',
    ]);
  });
});

describe('checkPrefix', () => {
  test.each(['pf', 'a', 'pfab1234'])('accepts %s', (prefix) => {
    expect(() => checkPrefix(prefix)).not.toThrow();
  });

  test.each(['', 'PF', '1pf', 'pf-1', 'pfab12345', 'pf.*'])('refuses %j, naming what is allowed', (prefix) => {
    expect(() => checkPrefix(prefix)).toThrow(`prefix ${JSON.stringify(prefix)} is not valid (allowed: 1–8 of a-z and 0-9, starting with a letter)`);
  });
});

describe('checkAddresses', () => {
  test('the defaults are the addresses every fleet test uses', () => {
    expect(checkAddresses(DEFAULT_ADDRESSES)).toEqual({ vip: '198.51.100.1', clientAddress: '198.51.100.2', natAddress: '198.51.100.99' });
  });

  test('accepts another /24 for a second network', () => {
    expect(() => checkAddresses({ vip: '198.51.101.1', clientAddress: '198.51.101.2', natAddress: '198.51.101.99' })).not.toThrow();
  });

  test('refuses what is not IPv4, repeated addresses, and a client side outside the VIP\'s /24, naming what is allowed', () => {
    expect(() => checkAddresses({ ...DEFAULT_ADDRESSES, vip: '198.51.100' })).toThrow('vip "198.51.100" is not valid (allowed: an IPv4 address)');
    expect(() => checkAddresses({ ...DEFAULT_ADDRESSES, natAddress: '198.51.100.1' })).toThrow('(allowed: three different addresses)');
    expect(() => checkAddresses({ ...DEFAULT_ADDRESSES, clientAddress: '198.51.101.2' }))
      .toThrow('clientAddress "198.51.101.2" is not valid (allowed: an address of the VIP\'s /24, 198.51.100.0/24)');
  });
});

describe('balancerRules of a second network', () => {
  test('DNATs its own VIP and SNATs to its own NAT address', () => {
    const second: LabNetwork = { ...network, prefix: 'pfab12b', vip: '198.51.101.1', natAddress: '198.51.101.99', clientAddress: '198.51.101.2', taskNamespaces: ['pfab12bt1'], taskAddresses: ['10.20.0.11'] };
    const rules = balancerRules(second);
    expect(rules).toContain('table ip pfab12bnlb {');
    expect(rules).toContain('ip daddr 198.51.101.1 udp dport { 5555, 51820 } dnat to jhash ip saddr . udp sport mod 1 map { 0 : 10.20.0.11 }');
    expect(rules).toContain('iifname "br0" oifname "pfab12blc" snat to 198.51.101.99');
  });
});
