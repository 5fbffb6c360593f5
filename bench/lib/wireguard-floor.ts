/**
 * The sealing step of the WireGuard floor loop (bench/agents/envelope-floor.ts): what any Node.js
 * WireGuard sender does per packet, with the service's own packet writer and the same
 * ChaCha20-Poly1305 the gateway's devices use (service/wireguard/transport-aead.ts: libsodium
 * through sodium-native when it loads, else node:crypto). Wraps a payload in an IPv4/UDP packet,
 * pads it to 16 bytes and seals it behind a transport header.
 */
import { randomBytes } from 'node:crypto';
import { TAG_LENGTH, writeCounterNonce } from '../../service/wireguard/crypto';
import { writeUdpPacket } from '../../service/wireguard/inner-packet';
import { TRANSPORT_HEADER_LENGTH, writeTransportHeader } from '../../service/wireguard/messages';
import { defaultTransportAead, TransportAead } from '../../service/wireguard/transport-aead';

/** How the floor seals. */
export interface FloorSealerOptions {
  /** @default - the process-wide choice of the gateway's devices (defaultTransportAead) */
  readonly aead?: TransportAead;
  /** Session key. @default - random */
  readonly key?: Buffer;
}

/** Receiver index of the transport header (the floor's datagrams are counted, not opened). */
export const FLOOR_RECEIVER_INDEX = 1;

/** A sealer with its own key and counter (from 0); `aead` is the implementation it seals with. */
export function floorSealer(options: FloorSealerOptions = {}): { readonly aead: TransportAead; seal(payload: Buffer): Buffer } {
  const aead = options.aead ?? defaultTransportAead().aead;
  const key = options.key ?? randomBytes(32);
  const nonce = Buffer.alloc(12);
  const scratch = Buffer.alloc(65536);
  const addressing = { source: Buffer.from([10, 99, 0, 1]), destination: Buffer.from([10, 98, 0, 2]), sourcePort: 40000, destinationPort: 5201 };
  let counter = 0;
  return {
    aead,
    seal(payload: Buffer): Buffer {
      const length = writeUdpPacket(scratch, 0, addressing, payload);
      const padded = length % 16 === 0 ? length : length + 16 - (length % 16);
      scratch.fill(0, length, padded);
      const n = counter++;
      const out = Buffer.allocUnsafe(TRANSPORT_HEADER_LENGTH + padded + TAG_LENGTH);
      writeTransportHeader(out, FLOOR_RECEIVER_INDEX, n);
      aead.sealInto(key, writeCounterNonce(nonce, n), scratch.subarray(0, padded), out, TRANSPORT_HEADER_LENGTH);
      return out;
    },
  };
}
