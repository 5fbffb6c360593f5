/**
 * The gateway's WireGuard Listener and a decrypting receiver (bench/agents/wg-receiver.ts) joined
 * on loopback: variant B of the sourced WireGuard scenario and the sourced CPU A/B both send
 * through this pair.
 */
import type { Agent } from './agent';
import type { KeyPair } from './netns';
import { sleep } from './throughput';

/** Tunnel address of the gateway's Listener and of the receiver. */
export const LOOPBACK_GATEWAY_TUNNEL = '10.99.0.1';
export const LOOPBACK_RECEIVER_TUNNEL = '10.98.0.2';

/** The UDP ports of both ends, once the receiver has a session with the Listener. */
export interface LoopbackReceiverPorts {
  /** The gateway Listener's port. */
  readonly port: number;
  /** The receiver's port (where sourced datagrams go). */
  readonly receiverPort: number;
}

/**
 * Starts a WireGuard Listener `bench` in `gateway` whose one peer is `receiver`, starts the
 * receiver with the Listener as its peer, completes a handshake (the receiver pings through the
 * tunnel) and waits for it to settle.
 */
export async function connectLoopbackReceiver(
  gateway: Agent, receiver: Agent, gatewayKey: KeyPair, receiverKey: KeyPair,
): Promise<LoopbackReceiverPorts> {
  const { port } = await gateway.request<{ port: number }>('start', {
    listener: {
      Name: 'bench',
      Protocol: 'wg',
      Port: 0,
      BindAddress: '127.0.0.1',
      Destinations: [],
      WireGuard: { PrivateKey: gatewayKey.privateKey, Peers: [{ PublicKey: receiverKey.publicKey, AllowedIPs: [`${LOOPBACK_RECEIVER_TUNNEL}/32`] }], DecapsulatedDelivery: true },
    },
  });
  const { port: receiverPort } = await receiver.request<{ port: number }>('start', {
    privateKey: receiverKey.privateKey,
    peerPublicKey: gatewayKey.publicKey,
    peerTunnelAddress: LOOPBACK_GATEWAY_TUNNEL,
    peerEndpoint: `127.0.0.1:${port}`,
    tunnelAddress: LOOPBACK_RECEIVER_TUNNEL,
  });
  await receiver.request('ping', { peerPublicKey: gatewayKey.publicKey, tunnelAddress: LOOPBACK_RECEIVER_TUNNEL, peerTunnelAddress: LOOPBACK_GATEWAY_TUNNEL });
  await sleep(300);
  return { port, receiverPort };
}
