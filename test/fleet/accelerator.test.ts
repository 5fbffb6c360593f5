/** The accelerator stand-in's pure parts: which region each client subnet goes to, and the DNAT rules. */
import { AcceleratorRegion, acceleratorNamespaces, acceleratorRoutes, acceleratorRules, subnetOf } from '../../scripts/fleet/accelerator';

const regions: AcceleratorRegion[] = [
  { name: 'us-east-1', letter: 'a', clientAddress: '203.0.113.2' },
  { name: 'eu-west-1', letter: 'b', clientAddress: '198.18.0.2' },
];
const endpoints = new Map([['us-east-1', '198.51.100.1'], ['eu-west-1', '198.51.101.1']]);

describe('acceleratorRoutes', () => {
  test('each client subnet goes to its nearest region while it is healthy', () => {
    expect(acceleratorRoutes(regions, endpoints, new Set(['us-east-1', 'eu-west-1']))).toEqual([
      { clientNetwork: '203.0.113.0/24', vip: '198.51.100.1' },
      { clientNetwork: '198.18.0.0/24', vip: '198.51.101.1' },
    ]);
  });

  test('the clients of an unhealthy region go to the first healthy region in failover order', () => {
    expect(acceleratorRoutes(regions, endpoints, new Set(['eu-west-1']))).toEqual([
      { clientNetwork: '203.0.113.0/24', vip: '198.51.101.1' },
      { clientNetwork: '198.18.0.0/24', vip: '198.51.101.1' },
    ]);
    expect(acceleratorRoutes(regions, endpoints, new Set(['us-east-1']))).toEqual([
      { clientNetwork: '203.0.113.0/24', vip: '198.51.100.1' },
      { clientNetwork: '198.18.0.0/24', vip: '198.51.100.1' },
    ]);
  });

  test('no healthy region, or none with an endpoint yet: no route (new flows are dropped)', () => {
    expect(acceleratorRoutes(regions, endpoints, new Set())).toEqual([]);
    expect(acceleratorRoutes(regions, new Map(), new Set(['us-east-1', 'eu-west-1']))).toEqual([]);
  });
});

describe('acceleratorRules', () => {
  test('DNAT the anycast address\'s Listener ports by client subnet, nothing else (no SNAT: the client address is preserved)', () => {
    expect(acceleratorRules('192.0.2.1', [5555, 51820], [{ clientNetwork: '203.0.113.0/24', vip: '198.51.100.1' }])).toEqual([
      'ip saddr 203.0.113.0/24 ip daddr 192.0.2.1 udp dport { 5555, 51820 } dnat to 198.51.100.1',
    ]);
  });
});

test('names and subnets', () => {
  expect(subnetOf('198.18.0.2')).toBe('198.18.0.0/24');
  expect(acceleratorNamespaces('pfab12', ['a', 'b'])).toEqual(['pfab12ga', 'pfab12ca', 'pfab12cb']);
});
