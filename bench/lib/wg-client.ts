/**
 * A minimal WireGuard client for the memory scenario, built from the service's own handshake
 * functions (noise.ts, cookie.ts, messages.ts): it initiates one handshake with a Listener's key,
 * consumes the response and answers with the keepalive that confirms the session. It keeps no
 * timers and no state beyond one handshake, so a process can play many thousands of clients.
 */
import { CookieJar } from '../../service/wireguard/cookie';
import { aeadSeal, tai64n, x25519Generate } from '../../service/wireguard/crypto';
import {
  decodeResponse,
  INITIATION_MAC1_OFFSET,
  INITIATION_MAC2_OFFSET,
  TRANSPORT_HEADER_LENGTH,
  writeTransportHeader,
} from '../../service/wireguard/messages';
import { consumeResponse, createInitiation, HandshakeState, LocalIdentity, remoteIdentity, RemoteIdentity } from '../../service/wireguard/noise';

const EMPTY = Buffer.alloc(0);

/** One client's handshake in progress. */
export class WgHandshakeClient {
  private readonly local: LocalIdentity;
  private readonly remote: RemoteIdentity;
  private state?: HandshakeState;

  constructor(private readonly listenerPublicKey: Buffer, private readonly index: number) {
    this.local = x25519Generate();
    const remote = remoteIdentity(this.local, listenerPublicKey);
    if (!remote) throw new Error('the Listener public key is not a usable X25519 key');
    this.remote = remote;
  }

  /** The handshake initiation (148 bytes, mac1 set). */
  initiation(): Buffer {
    const made = createInitiation(this.local, this.remote, this.index, tai64n(Date.now()));
    if (!made) throw new Error('could not build a handshake initiation');
    this.state = made.state;
    new CookieJar(this.listenerPublicKey, () => 0).addMacs(made.message, INITIATION_MAC1_OFFSET, INITIATION_MAC2_OFFSET);
    return made.message;
  }

  /** Consumes the handshake response; returns the keepalive (transport message, counter 0) that confirms the session. */
  confirm(response: Buffer): Buffer {
    const message = decodeResponse(response);
    if (typeof message === 'string') throw new Error(`not a handshake response: ${message}`);
    if (!this.state) throw new Error('no handshake in progress');
    const keys = consumeResponse(this.state, this.local, this.remote, message);
    if (typeof keys === 'string') throw new Error(`handshake response rejected: ${keys}`);
    const sealed = aeadSeal(keys.sendKey, 0, EMPTY, EMPTY);
    const out = Buffer.allocUnsafe(TRANSPORT_HEADER_LENGTH + sealed.length);
    writeTransportHeader(out, message.sender, 0);
    sealed.copy(out, TRANSPORT_HEADER_LENGTH);
    return out;
  }
}
