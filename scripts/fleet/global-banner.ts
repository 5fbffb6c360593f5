/**
 * The banner `npm run fleet:global` (global-main.ts) prints once the global lab is up: where the
 * regions are, how to send and publish in each, how to fail one, and how to connect a WireGuard
 * peer by hand to the Listener `fleet-wg` through the anycast address.
 */
import { GlobalLab, HandPeerSite } from './global-lab';
import { UDP_LISTENER, WG_LISTENER } from './lab';
import { GATEWAY_TUNNEL_ADDRESS } from './wireguard-peers';

/** Port on the gateway's tunnel address the banner's peer sends to (any port: every datagram goes to the Listener's destinations). */
const TUNNEL_ECHO_PORT = 9000;

/** What the WireGuard part of the banner names. */
export interface WireGuardBannerInput {
  readonly listenerName: string;
  readonly anycastAddress: string;
  readonly port: number;
  /** The Listener's public key (the same in every region). */
  readonly publicKey: string;
  /** Where a peer started by hand runs, one per region: the commands for the first, what differs for the others. */
  readonly peers: readonly HandPeerSite[];
  /** How to publish to the first peer in its own region: `KEY=value …`, the SNS endpoint, the WireGuard topic. */
  readonly publish: { readonly environment: string; readonly snsEndpoint: string; readonly topicArn: string };
}

/** The WireGuard lines of the banner: the Listener's key and endpoint, and a peer started by hand. */
export function wireGuardBanner(input: WireGuardBannerInput): string[] {
  const [peer, ...others] = input.peers;
  const endpoint = `${input.anycastAddress}:${input.port}`;
  const lines = [
    `WireGuard Listener ${input.listenerName} (every region, one key): ${endpoint}`,
    `  public key ${input.publicKey}`,
    `  any peer key is accepted (AllowUnknownPeers); inside the tunnel the gateway is ${GATEWAY_TUNNEL_ADDRESS}, and destinations get the inner UDP payload`,
  ];
  if (!peer) return lines;
  const ns = peer.namespace;
  const wg = peer.interfaceName;
  const inner = {
    SourceAddress: GATEWAY_TUNNEL_ADDRESS,
    SourcePort: TUNNEL_ECHO_PORT,
    DestinationAddress: peer.tunnelAddress,
    DestinationPort: '<port>',
    Version: 4,
    Protocol: 17,
  };
  const message = JSON.stringify({
    Messages: [{ Data: 'aGk=', Remote: { Address: peer.clientAddress, Port: peer.listenPort, PeerKey: '<peer key>' }, Inner: inner }],
  }).replace('"<port>"', '<port>');
  lines.push(
    `  a peer by hand among the clients nearest ${peer.region} (as root; wireguard-go and wireguard-tools): wireguard-go in their namespace ${ns};`,
    '  wg genkey makes its private key, which is never printed; stopping the lab ends it',
    '    export WG_PROCESS_FOREGROUND=1 WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1',
    `    ip netns exec ${ns} wireguard-go -f ${wg} &`,
    `    wg genkey | wg set ${wg} listen-port ${peer.listenPort} private-key /dev/stdin \\`,
    `      peer ${input.publicKey} allowed-ips ${GATEWAY_TUNNEL_ADDRESS}/32 endpoint ${endpoint} persistent-keepalive 25`,
    `    ip -n ${ns} addr add ${peer.tunnelAddress}/32 peer ${GATEWAY_TUNNEL_ADDRESS}/32 dev ${wg}`,
    `    ip -n ${ns} link set ${wg} up`,
    `    wg show ${wg} latest-handshakes          # non-zero once the keepalive has connected it`,
    `    ip netns exec ${ns} npx packet-gateway send ${GATEWAY_TUNNEL_ADDRESS}:${TUNNEL_ECHO_PORT} hello --wait 60000`,
    '        # echoed through the tunnel; prints its port, then whatever arrives for 60 s',
    `    # a push to it by PeerKey (published here in ${peer.region}): replace <peer key> (wg show ${wg} public-key) and <port>`,
    `    ${input.publish.environment} \\`,
    `      npx packet-gateway publish --endpoint ${input.publish.snsEndpoint} --topic-arn ${input.publish.topicArn} \\`,
    `      --message '${message}'`,
  );
  for (const other of others) {
    lines.push(
      `  a peer nearest ${other.region}: the same with namespace ${other.namespace}, interface ${other.interfaceName}, ` +
        `tunnel address ${other.tunnelAddress}, Remote.Address ${other.clientAddress}`,
    );
  }
  return lines;
}

/** The whole banner. */
export function describeGlobalLab(lab: GlobalLab): string {
  const lines = ['', `Packet Gateway global lab ${lab.prefix}: ${lab.regions.length} regions behind the accelerator stand-in`, ''];
  lines.push(`Anycast address: ${lab.anycastAddress}:${UDP_LISTENER.port} (Listener ${UDP_LISTENER.name})   accelerator namespace ${lab.accelerator.namespace}`);
  for (const region of lab.regions) {
    const fleet = lab.fleet(region);
    const env = Object.entries(fleet.publishEnvironment).map(([k, v]) => `${k}=${v}`).join(' ');
    lines.push(
      '',
      `${region}: VIP ${fleet.vip}, tasks ${fleet.network.taskNamespaces.join(' ')}`,
      `  clients nearest it: namespace ${lab.accelerator.clientNamespace(region)}, address ${lab.clientAddress(region)}`,
      `  ip netns exec ${lab.accelerator.clientNamespace(region)} npx packet-gateway send ${lab.anycastAddress}:${UDP_LISTENER.port} hello --wait 60000`,
      `  publish here: ${env} npx packet-gateway publish --endpoint ${fleet.endpoints.sns} --topic-arn ${fleet.topicArn} \\`,
      '    [--egress-region <region>] --message \'{"Messages":[{"Data":"aGk=","Remote":{"Address":"<client address>","Port":<port>}}]}\'',
      `  fail it: for ns in ${fleet.network.taskNamespaces.join(' ')}; do ip netns pids $ns | xargs -r kill; done`,
    );
  }
  const first = lab.fleet(lab.regions[0]);
  lines.push('', ...wireGuardBanner({
    listenerName: WG_LISTENER.name,
    anycastAddress: lab.anycastAddress,
    port: WG_LISTENER.port,
    publicKey: lab.wireGuardPublicKey,
    peers: lab.regions.map((region) => lab.handPeer(region)),
    publish: {
      environment: Object.entries(first.publishEnvironment).map(([k, v]) => `${k}=${v}`).join(' '),
      snsEndpoint: first.endpoints.sns,
      topicArn: first.wireGuardTopicArn,
    },
  }));
  lines.push('', `Stop with Ctrl-C (if this process is killed: npm run fleet:global -- --down ${lab.prefix}).`, '');
  return lines.join('\n');
}
