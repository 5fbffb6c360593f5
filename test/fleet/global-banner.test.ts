/**
 * The banner of `npm run fleet:global`: the WireGuard Listener's public key and anycast endpoint,
 * and the commands that connect a peer by hand, with no private key in it.
 */
import { describeGlobalLab, wireGuardBanner, WireGuardBannerInput } from '../../scripts/fleet/global-banner';
import { GlobalLab, HandPeerSite } from '../../scripts/fleet/global-lab';
import { Fleet } from '../../scripts/fleet/lab';
import { generatePrivateKey, publicKeyOf } from '../../service/wireguard/keys';

const PUBLIC_KEY = publicKeyOf(generatePrivateKey());
const PEER_A: HandPeerSite = {
  region: 'us-east-1',
  namespace: 'pftestca',
  interfaceName: 'pftestwga',
  tunnelAddress: '10.99.2.1',
  listenPort: 51821,
  clientAddress: '203.0.113.2',
};
const PEER_B: HandPeerSite = { ...PEER_A, region: 'eu-west-1', namespace: 'pftestcb', interfaceName: 'pftestwgb', tunnelAddress: '10.99.2.2', clientAddress: '198.18.0.2' };
const INPUT: WireGuardBannerInput = {
  listenerName: 'fleet-wg',
  anycastAddress: '192.0.2.1',
  port: 51820,
  publicKey: PUBLIC_KEY,
  peers: [PEER_A, PEER_B],
  publish: { environment: 'AWS_REGION=us-east-1', snsEndpoint: 'http://100.64.0.1:4566', topicArn: 'arn:aws:sns:us-east-1:000000000000:pftesta-push-wg' },
};

/** Every WireGuard key (44 base64 characters ending in `=`) in a text. */
const keysIn = (text: string): string[] => text.match(/[A-Za-z0-9+/]{43}=/g) ?? [];

describe('wireGuardBanner', () => {
  test('names the Listener, its anycast endpoint and its public key', () => {
    const lines = wireGuardBanner(INPUT);
    expect(lines[0]).toBe('WireGuard Listener fleet-wg (every region, one key): 192.0.2.1:51820');
    expect(lines[1]).toBe(`  public key ${PUBLIC_KEY}`);
    expect(lines[2]).toContain('inside the tunnel the gateway is 10.99.0.1');
  });

  test('the peer\'s commands, in order: wireguard-go in the client namespace, configured for the Listener, addressed, up, checked, used', () => {
    const commands = wireGuardBanner(INPUT).filter((l) => l.startsWith('    ') && !l.trimStart().startsWith('#')).map((l) => l.trim());
    expect(commands.slice(0, 8)).toEqual([
      'export WG_PROCESS_FOREGROUND=1 WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1',
      'ip netns exec pftestca wireguard-go -f pftestwga &',
      'wg genkey | wg set pftestwga listen-port 51821 private-key /dev/stdin \\',
      `peer ${PUBLIC_KEY} allowed-ips 10.99.0.1/32 endpoint 192.0.2.1:51820 persistent-keepalive 25`,
      'ip -n pftestca addr add 10.99.2.1/32 peer 10.99.0.1/32 dev pftestwga',
      'ip -n pftestca link set pftestwga up',
      'wg show pftestwga latest-handshakes          # non-zero once the keepalive has connected it',
      'ip netns exec pftestca npx packet-gateway send 10.99.0.1:9000 hello --wait 60000',
    ]);
  });

  test('the push is published on the region\'s WireGuard topic, by PeerKey, to the peer\'s tunnel address, and is valid JSON once the blanks are filled', () => {
    const text = wireGuardBanner(INPUT).join('\n');
    expect(text).toContain('npx packet-gateway publish --endpoint http://100.64.0.1:4566 --topic-arn arn:aws:sns:us-east-1:000000000000:pftesta-push-wg');
    const quoted = /--message '([^']+)'/.exec(text);
    expect(quoted).not.toBeNull();
    const message = JSON.parse(quoted![1].replace('<port>', '40000').replace('<peer key>', PUBLIC_KEY)) as { Messages: Array<Record<string, unknown>> };
    expect(message.Messages).toEqual([{
      Data: 'aGk=',
      Remote: { Address: '203.0.113.2', Port: 51821, PeerKey: PUBLIC_KEY },
      Inner: { SourceAddress: '10.99.0.1', SourcePort: 9000, DestinationAddress: '10.99.2.1', DestinationPort: 40000, Version: 4, Protocol: 17 },
    }]);
  });

  test('each other region gets one line with what differs', () => {
    expect(wireGuardBanner(INPUT).at(-1)).toBe(
      '  a peer nearest eu-west-1: the same with namespace pftestcb, interface pftestwgb, tunnel address 10.99.2.2, Remote.Address 198.18.0.2',
    );
  });

  test('prints no private key: the only key in it is the Listener\'s public key', () => {
    const keys = keysIn(wireGuardBanner(INPUT).join('\n'));
    expect(keys.length).toBeGreaterThan(0);
    expect(new Set(keys)).toEqual(new Set([PUBLIC_KEY]));
  });
});

test('the global lab\'s banner carries the WireGuard part for its first region', () => {
  const fleet = (region: string, letter: string): Fleet => ({
    vip: `198.51.10${letter === 'a' ? 0 : 1}.1`,
    network: { taskNamespaces: [`pftest${letter}t1`] },
    publishEnvironment: { AWS_REGION: region },
    endpoints: { sns: `http://sns-${letter}:4566` },
    topicArn: `arn:aws:sns:${region}:000000000000:pftest${letter}-push`,
    wireGuardTopicArn: `arn:aws:sns:${region}:000000000000:pftest${letter}-push-wg`,
  }) as unknown as Fleet;
  const fleets: Record<string, Fleet> = { 'us-east-1': fleet('us-east-1', 'a'), 'eu-west-1': fleet('eu-west-1', 'b') };
  const lab = {
    prefix: 'pftest',
    anycastAddress: '192.0.2.1',
    regions: ['us-east-1', 'eu-west-1'],
    accelerator: { namespace: 'pftestga', clientNamespace: (r: string) => (r === 'us-east-1' ? 'pftestca' : 'pftestcb') },
    wireGuardPublicKey: PUBLIC_KEY,
    fleet: (r: string) => fleets[r],
    clientAddress: (r: string) => (r === 'us-east-1' ? '203.0.113.2' : '198.18.0.2'),
    handPeer: (r: string) => (r === 'us-east-1' ? PEER_A : PEER_B),
  } as unknown as GlobalLab;
  const banner = describeGlobalLab(lab);
  expect(banner).toContain(wireGuardBanner({ ...INPUT, publish: { environment: 'AWS_REGION=us-east-1', snsEndpoint: 'http://sns-a:4566', topicArn: fleets['us-east-1'].wireGuardTopicArn } }).join('\n'));
  expect(banner).toContain('Anycast address: 192.0.2.1:5555 (Listener fleet)');
  expect(banner.trimEnd().endsWith('npm run fleet:global -- --down pftest).')).toBe(true);
});
