import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';

/** A WireGuard peer of a Listener: a device or client that may open a session with the gateway. */
export interface WireGuardPeer {
  /** The peer's public key: 32 bytes in base64 (44 characters, as printed by `wg pubkey`). Unique within a Listener. */
  readonly publicKey: string;

  /**
   * Inner addresses the peer may use, as CIDR blocks (IPv4 or IPv6) with a prefix, e.g.
   * `10.10.0.2/32` for one host. Inbound inner packets from other sources fail with
   * `AllowedIpsViolation`. At least one when given.
   *
   * @default - every address: 0.0.0.0/0 and ::/0 (as Proxylity)
   */
  readonly allowedIps?: string[];

  /**
   * Secret whose value is the preshared key shared with this peer: 32 bytes in base64 (44
   * characters, as printed by `wg genpsk`), as plain text. It reaches the fleet as an ECS secret;
   * tasks read it when they start, so a changed value applies to tasks started afterwards.
   *
   * @default - no preshared key
   */
  readonly presharedKey?: secretsmanager.ISecret;

  /**
   * Where the peer can be reached before it has spoken: `host:port`, `a.b.c.d:port` or
   * `[IPv6]:port`. Lets the gateway initiate a handshake for a packet published to a PacketSource.
   *
   * @default - learned from the peer's first authenticated packet
   */
  readonly endpoint?: string;
}
