/**
 * The WireGuard test bed: two namespaces joined by a veth pair (underlay 10.201.0.1 ⇄ 10.201.0.2),
 * a wireguard-go peer in namespace B with tunnel address 10.202.0.2 and a counting receiver
 * behind it; namespace A holds either a second wireguard-go (the tunnel baseline) or the
 * gateway's WireGuard Listener.
 */
import { Agent } from './agent';
import {
  addressTunnel,
  cleanupNamespaces,
  configureWireguardGo,
  connectNamespaces,
  createNamespace,
  generateKeyPair,
  KeyPair,
  startWireguardGo,
  waitForDaemons,
  WireguardGoInterface,
} from './netns';

export const UNDERLAY_A = '10.201.0.1';
export const UNDERLAY_B = '10.201.0.2';
export const TUNNEL_A = '10.202.0.1';
export const TUNNEL_B = '10.202.0.2';
export const WG_PORT_A = 51820;
export const WG_PORT_B = 51821;
/** Inner UDP port of the counting receiver behind peer B. */
export const INNER_PORT = 9000;

/** Namespaces, keys and peer B of one test bed. */
export interface WgBed {
  readonly nsA: string;
  readonly nsB: string;
  readonly keyA: KeyPair;
  readonly keyB: KeyPair;
  readonly wgB: WireguardGoInterface;
  /** Counting receiver inside B, bound to TUNNEL_B:INNER_PORT. */
  readonly counter: Agent;
}

/**
 * Creates the namespaces, the veth pair and peer B (wireguard-go) that trusts `keyA` at
 * UNDERLAY_A:WG_PORT_A and routes TUNNEL_A through the tunnel; starts B's counting receiver.
 */
export async function createBed(keyA: KeyPair = generateKeyPair()): Promise<WgBed> {
  const nsA = createNamespace('a');
  const nsB = createNamespace('b');
  connectNamespaces(nsA, `${UNDERLAY_A}/24`, nsB, `${UNDERLAY_B}/24`);
  const keyB = generateKeyPair();
  const wgB = await startWireguardGo(nsB, 'wb');
  configureWireguardGo(wgB, {
    privateKey: keyB.privateKey,
    listenPort: WG_PORT_B,
    peerPublicKey: keyA.publicKey,
    allowedIps: `${TUNNEL_A}/32`,
    endpoint: `${UNDERLAY_A}:${WG_PORT_A}`,
  });
  addressTunnel(wgB, TUNNEL_B, TUNNEL_A);
  const counter = await Agent.start('udp-counter', { netns: nsB });
  await counter.request('bind', { address: TUNNEL_B, port: INNER_PORT });
  return { nsA, nsB, keyA, keyB, wgB, counter };
}

/** Adds wireguard-go in namespace A (the tunnel baseline's sending side). */
/**
 * Starts the gateway's WireGuard Listener (a `sourced-gateway` agent in namespace A, key
 * `bed.keyA`) with wireguard-go B as its peer, and opens the session and the flow: wireguard-go B
 * initiates when a packet is routed into its tunnel. `started` gets the agent as soon as it runs,
 * so a caller can stop it when a later step fails.
 */
export async function startGatewayListener(bed: WgBed, started: (gateway: Agent) => void): Promise<Agent> {
  const gateway = await Agent.start('sourced-gateway', { netns: bed.nsA });
  started(gateway);
  await gateway.request('start', {
    local: false,
    listener: {
      Name: 'bench',
      Protocol: 'wg',
      Port: WG_PORT_A,
      BindAddress: UNDERLAY_A,
      Destinations: [],
      WireGuard: { PrivateKey: bed.keyA.privateKey, Peers: [{ PublicKey: bed.keyB.publicKey, AllowedIPs: [`${TUNNEL_B}/32`], Endpoint: `${UNDERLAY_B}:${WG_PORT_B}` }], DecapsulatedDelivery: true },
    },
  });
  await bed.counter.request('ping', { host: TUNNEL_A, port: 9 });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  return gateway;
}

export async function addWireguardGoA(bed: WgBed): Promise<WireguardGoInterface> {
  const wgA = await startWireguardGo(bed.nsA, 'wa');
  configureWireguardGo(wgA, {
    privateKey: bed.keyA.privateKey,
    listenPort: WG_PORT_A,
    peerPublicKey: bed.keyB.publicKey,
    allowedIps: `${TUNNEL_B}/32`,
    endpoint: `${UNDERLAY_B}:${WG_PORT_B}`,
  });
  addressTunnel(wgA, TUNNEL_A, TUNNEL_B);
  return wgA;
}

/** Stops the bed's agents and daemons and removes its namespaces. */
export async function destroyBed(bed: WgBed | undefined, extraAgents: ReadonlyArray<Agent | undefined> = []): Promise<void> {
  await Promise.all([bed?.counter.stop(), ...extraAgents.map((a) => a?.stop())]);
  cleanupNamespaces();
  await waitForDaemons();
  cleanupNamespaces();
}
