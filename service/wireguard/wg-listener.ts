/**
 * A WireGuard Listener: one dgram socket carrying WireGuard, a {@link WireGuardDevice} that owns
 * the peers and sessions, and the same egress rules as the plain UDP Listener.
 *
 * Inbound: each decrypted payload goes to the IngressSink with `peerKey`, the peer's outer
 * address and port, and the whole inner IP packet (the default, as Proxylity's); with
 * DecapsulatedDelivery, the inner UDP payload plus its `inner` addressing instead. Handshakes, keepalives and cookie
 * replies stay inside the Listener.
 *
 * Outbound (`send`): replies and sourced packets are encrypted for `datagram.peerKey` and go to
 * the peer's current endpoint — learned from its authenticated packets (so it follows roaming) or
 * configured. `datagram.address`/`port` name the peer's outer endpoint as the gateway saw it; they
 * are used only when the peer has no endpoint yet (after a restart, for instance), so the gateway
 * can initiate the handshake there. The egress policy and flow rules apply to the endpoint the
 * datagram actually goes to.
 */
import { lookup } from 'node:dns/promises';
import { join } from 'node:path';
import { DEFAULT_ALLOWED_IPS, DEFAULT_DECAPSULATED_DELIVERY, inIntegerRange, PORT } from '../../lib/private/limits';
import { MetricDimension, MetricName } from '../../lib/private/metrics';
import { formatEndpoint, formatIpAddress, parseIpAddress } from '../../lib/private/network';
import type { ListenerRecord, WireGuardPeerRecord, WireGuardRecord } from '../../lib/private/records';
import type {
  EgressDatagram,
  Failure,
  InboundDatagram,
  InnerAddressing,
  ManagedListener,
  SendCallback,
} from '../contracts';
import type { Clock } from './clock';
import { DeviceOutput, parseEndpoint, WireGuardDevice, WireGuardDeviceOptions, WireGuardPeerConfig } from './device';
import { FleetSessions, PeerDirectory } from './fleet-sessions';
import { loadOrCreatePrivateKeyFile } from './key-file';
import { isBase64Key, publicKeyOf } from './keys';
import type { WireGuardTimers } from './timers';
import { unmappedAddress as unmapped } from '../listeners/listener-socket';
import { SocketListener, SocketListenerOptions } from '../listeners/socket-listener';

const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:/;

/** Log message (DEBUG) of each completed WireGuard handshake, with `listener`, `peerKey` and `initiator`. */
export const HANDSHAKE_COMPLETED_LOG_MESSAGE = 'WireGuard handshake completed';

/** Log message (DEBUG) of a handshake this Listener initiated to a fleet peer it holds no session with, with `peerKey`, `address` and `port`. */
export const HANDSHAKE_INITIATED_LOG_MESSAGE = 'WireGuard handshake initiated to a peer without a session here';

/** Settings of a {@link WireGuardListener}. */
export interface WireGuardListenerOptions extends SocketListenerOptions {
  /**
   * Local mode: a Listener without a configured private key keeps a generated one in
   * `<keyDirectory>/<Listener name>.key`. @default false
   */
  readonly local?: boolean;
  /** Where local mode keeps generated keys. @default `.local` under the working directory */
  readonly keyDirectory?: string;
  /** Environment holding `PrivateKeyEnvironmentVariable` and the peers' `PresharedKeyEnvironmentVariable`. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** Reads a Secrets Manager secret (PrivateKeySecretArn, preshared keys given as ARNs). @default AWS SDK GetSecretValue */
  readonly resolveSecret?: (arn: string) => Promise<string>;
  /** Protocol timers (shortened in tests). @default the whitepaper values */
  readonly timers?: Partial<WireGuardTimers>;
  readonly clock?: Clock;
  /** Further device settings (tunnel addresses, load threshold, send queue, MTU). */
  readonly device?: Partial<Omit<WireGuardDeviceOptions, 'privateKey' | 'peers' | 'output' | 'timers' | 'clock'>>;
  /**
   * In a fleet: where sessions are recorded and peers found by endpoint, so that a peer speaking
   * without a session here gets a handshake from this member at once (docs/FLEET.md).
   * @default - none: a peer without a session here waits for its own rekey
   */
  readonly peerDirectory?: PeerDirectory;
}

/** A running WireGuard Listener. */
export class WireGuardListener extends SocketListener implements ManagedListener {
  public readonly protocol = 'wg' as const;
  private device?: WireGuardDevice;
  private privateKey?: string;
  private derivedPublicKey?: string;
  private readonly sessions?: FleetSessions;
  /** When the datagram the device is receiving was read: the `ReceivedAt` of what it decrypts. */
  private readAt = 0;

  public constructor(private readonly options: WireGuardListenerOptions) {
    super(options);
    this.privateKey = this.synchronousPrivateKey();
    if (options.peerDirectory) {
      this.sessions = new FleetSessions({
        listener: this.name,
        directory: options.peerDirectory,
        initiate: (peerKey, address, port) => this.device?.initiateTo(peerKey, address, port) ?? { code: 'SendFailed', reason: `Listener ${this.name} is not running` },
        endpointOf: (peerKey) => this.device?.peerStatus(peerKey)?.endpoint,
        refused: (failure, address, port, peerKey) => this.failureLog.report(failure, address, port, peerKey),
        initiated: (peerKey, address, port) => {
          this.options.metrics?.increment(MetricName.WireGuardSessionsResumed, 1, { [MetricDimension.Listener]: this.name });
          this.options.logger.debug(HANDSHAKE_INITIATED_LOG_MESSAGE, { listener: this.name, peerKey, address, port });
        },
      });
    }
  }

  /** The Listener's public key (base64), known once its private key is (at construction, or at start for a secret). */
  public get publicKey(): string | undefined {
    if (this.device) return this.device.publicKey;
    if (this.privateKey && !this.derivedPublicKey) this.derivedPublicKey = publicKeyOf(this.privateKey);
    return this.derivedPublicKey;
  }

  /**
   * True when this Listener holds a usable session of `peerKey` and the peer's endpoint has a live
   * flow here (when the Listener tracks flows): pushes by PeerKey leave from here.
   */
  public holdsSession(peerKey: string): boolean {
    const device = this.device;
    if (!device?.hasSession(peerKey)) return false;
    const flows = this.options.flows;
    if (!flows || !this.options.requireActiveFlow) return true;
    const address = device.peerEndpointAddress(peerKey);
    return address !== undefined && flows.isActive(this.name, address, device.peerEndpointPort(peerKey));
  }

  /** The Listener's part in the fleet's WireGuard sessions (counters); undefined outside a fleet. */
  public get fleetSessions(): FleetSessions | undefined {
    return this.sessions;
  }

  /** The device behind the Listener (peer state, counters); undefined before start. */
  public get wireGuard(): WireGuardDevice | undefined {
    return this.device;
  }

  public async start(): Promise<void> {
    if (this.socket || this.closed) return;
    const wg = this.record.WireGuard ?? {};
    if (!this.privateKey) {
      if (!wg.PrivateKeySecretArn) throw new Error(this.noKeyMessage());
      this.privateKey = (await this.secret(wg.PrivateKeySecretArn, 'WireGuard.PrivateKeySecretArn')).trim();
      if (!isBase64Key(this.privateKey)) {
        throw new Error(`Listener ${this.name}: the secret in WireGuard.PrivateKeySecretArn does not hold a WireGuard private key (44 characters of base64)`);
      }
    }
    const peers = await this.peerConfigs(wg);
    this.device = this.createDevice(this.privateKey, wg, peers.configs);
    if (wg.PublicKey && wg.PublicKey !== this.device.publicKey) {
      this.options.logger.warn('WireGuard.PublicKey does not match the private key; the derived key is used', { listener: this.name, publicKey: this.device.publicKey });
    }
    await this.bind();
    this.resolveHostEndpoints(peers.hostEndpoints);
  }

  public update(record: ListenerRecord): boolean {
    const before = this.record.WireGuard ?? {};
    const after = record.WireGuard ?? {};
    if (record.Name !== this.name || record.Protocol !== 'wg' || record.Port !== this.record.Port
      || (record.BindAddress ?? this.options.defaultBindAddress) !== this.bindAddress
      || before.PrivateKey !== after.PrivateKey || before.PrivateKeySecretArn !== after.PrivateKeySecretArn
      || before.PrivateKeyEnvironmentVariable !== after.PrivateKeyEnvironmentVariable
      || (before.DecapsulatedDelivery ?? DEFAULT_DECAPSULATED_DELIVERY) !== (after.DecapsulatedDelivery ?? DEFAULT_DECAPSULATED_DELIVERY)
      || !this.device) {
      return false;
    }
    // Preshared keys kept in Secrets Manager are read at start: a changed one needs a new Listener.
    const secretPsks = (wg: WireGuardRecord): string => JSON.stringify((wg.Peers ?? [])
      .filter((p) => p.PresharedKey !== undefined && SECRET_ARN.test(p.PresharedKey))
      .map((p) => [p.PublicKey, p.PresharedKey]));
    if (secretPsks(before) !== secretPsks(after)) return false;
    // what was read before the update is received under the peers it was read under
    this.takeInWaiting();
    const device = this.device;
    let hostEndpoints: HostEndpoint[];
    try {
      const peers = this.peerList(after, (peer, index) => (peer.PresharedKey && SECRET_ARN.test(peer.PresharedKey)
        ? device.presharedKeyOf(peer.PublicKey)
        : this.presharedKeyOf(peer, index)));
      hostEndpoints = peers.hostEndpoints;
      device.setPeers(peers.configs);
    } catch (error) {
      this.options.logger.error('WireGuard peers not updated: invalid configuration', { listener: this.name, error: (error as Error).message });
      return false;
    }
    this.device.setAllowUnknownPeers(after.AllowUnknownPeers ?? false);
    this.applyRecord(record);
    this.resolveHostEndpoints(hostEndpoints);
    return true;
  }

  public send(datagram: EgressDatagram, done?: SendCallback): void {
    const device = this.device;
    const stopped = this.notSending();
    if (stopped || !device) {
      this.refuse(datagram, done, stopped ?? { code: 'SendFailed', reason: `Listener ${this.name} is not running` });
      return;
    }
    const peerKey = datagram.peerKey;
    if (typeof peerKey !== 'string' || !device.hasPeer(peerKey)) {
      this.refuse(datagram, done, {
        code: 'UnknownPeer',
        reason: peerKey === undefined
          ? `Listener ${this.name} is WireGuard: Remote.PeerKey must name the peer to encrypt for`
          : `PeerKey ${String(peerKey)} is not a peer of Listener ${this.name} (not configured, or never connected while AllowUnknownPeers is on)`,
      });
      return;
    }
    const tooLarge = this.egressGuard.checkPayload(datagram.data.length);
    if (tooLarge) {
      this.refuse(datagram, done, tooLarge);
      return;
    }
    // The peer's own endpoint wins; the datagram's address only helps a peer with none yet, and
    // becomes its endpoint only once the egress rules allow it: a refused address must not stay
    // behind as the peer's endpoint, where it would refuse every later send (and hide a host-name
    // endpoint resolved later).
    let endpointAddress = device.peerEndpointAddress(peerKey);
    let endpointPort = device.peerEndpointPort(peerKey);
    const proposed = endpointAddress === undefined;
    if (proposed) {
      endpointAddress = proposedEndpointAddress(datagram);
      endpointPort = datagram.port;
    }
    if (endpointAddress !== undefined) {
      const refused = this.egressGuard.checkDestination(endpointAddress, endpointPort, peerKey);
      if (refused) {
        this.sendFailed(refused, done, endpointAddress, endpointPort, peerKey);
        return;
      }
      if (proposed) device.setPeerEndpointIfUnknown(peerKey, endpointAddress, endpointPort);
    }
    // without decapsulated delivery the device sends the payload as it is and ignores `inner`
    device.send(peerKey, datagram.data, datagram.inner, done);
  }

  /**
   * A failed send names where the datagram went (the peer's endpoint, or the requested address
   * before one is known), so a failure record shows the real target.
   */
  protected override sendFailed(
    failure: Failure,
    done: SendCallback | undefined,
    address: string | undefined,
    port: number | undefined,
    peerKey?: string,
  ): void {
    const targeted = done && failure.target === undefined && address !== undefined && port !== undefined
      ? { ...failure, target: formatEndpoint(address, port) }
      : failure;
    super.sendFailed(targeted, done, address, port, peerKey);
  }

  /** A send refused before encryption: to `done`, or to the failure log when there is none. */
  private refuse(datagram: EgressDatagram, done: SendCallback | undefined, failure: Failure): void {
    this.sendFailed(failure, done, typeof datagram.address === 'string' ? datagram.address : undefined, datagram.port, datagram.peerKey);
  }

  public close(): Promise<void> {
    if (!this.closing) {
      this.takeInWaiting();
      // Queued packets fail now (NoSession) rather than wait for a handshake that cannot finish.
      this.device?.close();
    }
    return this.closeSocket();
  }

  // ---------------------------------------------------------------- internals

  private synchronousPrivateKey(): string | undefined {
    const wg = this.record.WireGuard ?? {};
    if (wg.PrivateKey !== undefined) {
      if (!isBase64Key(wg.PrivateKey)) throw new Error(`Listener ${this.name}: WireGuard.PrivateKey is not a WireGuard key (44 characters of base64)`);
      return wg.PrivateKey;
    }
    if (wg.PrivateKeyEnvironmentVariable !== undefined) {
      const value = (this.options.env ?? process.env)[wg.PrivateKeyEnvironmentVariable]?.trim();
      if (!value) throw new Error(`Listener ${this.name}: environment variable ${wg.PrivateKeyEnvironmentVariable} (WireGuard.PrivateKeyEnvironmentVariable) is not set`);
      if (!isBase64Key(value)) {
        throw new Error(`Listener ${this.name}: environment variable ${wg.PrivateKeyEnvironmentVariable} does not hold a WireGuard private key (44 characters of base64)`);
      }
      return value;
    }
    if (wg.PrivateKeySecretArn !== undefined) return undefined;
    if (this.options.local) {
      const path = join(this.options.keyDirectory ?? join(process.cwd(), '.local'), `${this.name}.key`);
      const { privateKey, created } = loadOrCreatePrivateKeyFile(path);
      if (created) this.options.logger.info('generated a WireGuard private key', { listener: this.name, keyFile: path });
      return privateKey;
    }
    throw new Error(this.noKeyMessage());
  }

  private noKeyMessage(): string {
    return `Listener ${this.name}: no WireGuard private key (set WireGuard.PrivateKeyEnvironmentVariable or PrivateKeySecretArn; WireGuard.PrivateKey only for local use)`;
  }

  private async secret(arn: string, field: string): Promise<string> {
    const resolve = this.options.resolveSecret ?? readSecretsManagerSecret;
    try {
      return await resolve(arn);
    } catch (error) {
      throw new Error(`Listener ${this.name}: cannot read ${field} ${arn}: ${(error as Error).message}`);
    }
  }

  /**
   * A peer's preshared key as the record gives it: inline (or a secret ARN, resolved by the
   * caller), or read from the environment variable PresharedKeyEnvironmentVariable names (an ECS
   * secret in AWS). Errors name the variable, never its value.
   */
  private presharedKeyOf(peer: WireGuardPeerRecord, index: number): string | undefined {
    const name = peer.PresharedKeyEnvironmentVariable;
    if (name === undefined) return peer.PresharedKey;
    const value = (this.options.env ?? process.env)[name]?.trim();
    if (!value) throw new Error(`Listener ${this.name}: environment variable ${name} (WireGuard.Peers[${index}].PresharedKeyEnvironmentVariable) is not set`);
    if (!isBase64Key(value)) throw new Error(`Listener ${this.name}: environment variable ${name} does not hold a preshared key (44 characters of base64)`);
    return value;
  }

  /** The peers of `wg` at start: preshared keys kept in Secrets Manager are read first. */
  private async peerConfigs(wg: WireGuardRecord): Promise<PeerList> {
    const psks: Array<string | undefined> = [];
    for (const [index, peer] of (wg.Peers ?? []).entries()) {
      let psk = this.presharedKeyOf(peer, index);
      if (psk !== undefined && SECRET_ARN.test(psk)) {
        psk = (await this.secret(psk, `WireGuard.Peers[${index}].PresharedKey`)).trim();
        if (!isBase64Key(psk)) throw new Error(`Listener ${this.name}: the secret of WireGuard.Peers[${index}].PresharedKey does not hold a key (44 characters of base64)`);
      }
      psks.push(psk);
    }
    return this.peerList(wg, (_peer, index) => psks[index]);
  }

  /** The device's peer configurations for `wg`, each peer's preshared key from `pskOf`, and the peers whose endpoint names a host. */
  private peerList(wg: WireGuardRecord, pskOf: (peer: WireGuardPeerRecord, index: number) => string | undefined): PeerList {
    const configs: WireGuardPeerConfig[] = [];
    const hostEndpoints: HostEndpoint[] = [];
    for (const [index, peer] of (wg.Peers ?? []).entries()) {
      const endpoint = splitEndpoint(peer.Endpoint);
      if (endpoint.host) hostEndpoints.push({ peerKey: peer.PublicKey, endpoint: peer.Endpoint!, host: endpoint.host, port: endpoint.port });
      configs.push({
        publicKey: peer.PublicKey, allowedIps: peer.AllowedIPs ?? DEFAULT_ALLOWED_IPS, presharedKey: pskOf(peer, index), endpoint: endpoint.literal,
      });
    }
    return { configs, hostEndpoints };
  }

  private createDevice(privateKey: string, wg: WireGuardRecord, peers: WireGuardPeerConfig[]): WireGuardDevice {
    const output: DeviceOutput = {
      transmit: (data, address, port, done) => this.transmit(data, address, port, done),
      deliver: (peerKey, data, inner, remoteAddress, remotePort) => this.deliver(peerKey, data, inner, remoteAddress, remotePort),
      reportFailure: (failure, address, port, peerKey) => this.failureLog.report(failure, address, port, peerKey),
      handshakeCompleted: (peerKey, initiator, fresh) => {
        this.options.metrics?.increment(MetricName.WireGuardHandshakes, 1, { [MetricDimension.Listener]: this.name });
        this.options.logger.debug(HANDSHAKE_COMPLETED_LOG_MESSAGE, { listener: this.name, peerKey, initiator });
        this.sessions?.sessionAt(peerKey, fresh);
      },
      endpointChanged: (peerKey) => {
        if (this.sessions && this.device?.hasSession(peerKey)) this.sessions.sessionAt(peerKey, false);
      },
      sessionUnknown: (address, port) => this.sessions?.sessionUnknown(address, port),
    };
    try {
      return new WireGuardDevice({
        ...(this.record.Port > 0 ? { tunnelPort: this.record.Port } : {}),
        ...this.options.device,
        privateKey,
        peers,
        allowUnknownPeers: wg.AllowUnknownPeers ?? false,
        decapsulatedDelivery: wg.DecapsulatedDelivery ?? DEFAULT_DECAPSULATED_DELIVERY,
        timers: this.options.timers,
        clock: this.options.clock,
        output,
      });
    } catch (error) {
      throw new Error(`Listener ${this.name}: ${(error as Error).message}`);
    }
  }

  private bind(): Promise<void> {
    return this.bindSocket(() => this.device?.close());
  }

  private resolveHostEndpoints(entries: readonly HostEndpoint[]): void {
    for (const { peerKey, endpoint, host, port } of entries) {
      lookup(host, { family: this.ipv6 ? 0 : 4 }).then(
        (result) => {
          if (!this.closed) this.device?.setPeerEndpointIfUnknown(peerKey, result.address, port);
        },
        (error: Error) => this.options.logger.warn('WireGuard peer endpoint not resolved', { listener: this.name, peerKey, endpoint, error: error.message }),
      );
    }
  }

  /** A datagram read from the socket goes through the device; what it decrypts is delivered with the time it was read. */
  protected takeIn(read: InboundDatagram): void {
    const device = this.device!;
    this.readAt = read.receivedAt;
    const outcome = device.receive(read.data, read.remoteAddress, read.remotePort);
    // Authenticated traffic of any kind (handshakes, keepalives) keeps the client's flow alive; a
    // new flow is recorded with the peer that spoke from it.
    if (outcome !== 'dropped' && outcome !== 'cookie') this.options.flows?.touch(this.name, read.remoteAddress, read.remotePort, undefined, device.lastReceivedPeerKey);
  }

  private deliver(peerKey: string, data: Buffer, inner: InnerAddressing | undefined, remoteAddress: string, remotePort: number): void {
    if (!this.receiving) return;
    const receivedAt = this.readAt;
    this.accept(this, inner === undefined
      ? { data, remoteAddress, remotePort, peerKey, receivedAt }
      : { data, remoteAddress, remotePort, peerKey, inner, receivedAt });
  }

  private transmit(data: Buffer, address: string, port: number, done?: SendCallback): void {
    // Sends of the device's own (handshakes, keepalives, cookie replies) have no callback: their failures go to the failure log.
    this.sendOnSocket(data, port, address, done);
  }
}

/** A peer whose configured endpoint names a host, resolved after the peers are set. */
interface HostEndpoint {
  readonly peerKey: string;
  /** As configured, for messages. */
  readonly endpoint: string;
  readonly host: string;
  readonly port: number;
}

/** What a WireGuard record gives the device: peer configurations and the endpoints still to resolve. */
interface PeerList {
  readonly configs: WireGuardPeerConfig[];
  readonly hostEndpoints: HostEndpoint[];
}

/**
 * The datagram's address in canonical text (IPv4-mapped IPv6 as IPv4), the endpoint it proposes
 * for a peer without one; undefined when its address is not an IP literal or its port not a port.
 */
function proposedEndpointAddress(datagram: EgressDatagram): string | undefined {
  if (typeof datagram.address !== 'string' || !inIntegerRange(datagram.port, PORT)) return undefined;
  const bytes = parseIpAddress(unmapped(datagram.address));
  return bytes === undefined ? undefined : formatIpAddress(bytes);
}

/** `a.b.c.d:port` / `[v6]:port` stay literal; `host:port` needs resolving. */
function splitEndpoint(endpoint: string | undefined): { literal?: string; host?: string; port: number } {
  if (endpoint === undefined) return { port: 0 };
  try {
    const parsed = parseEndpoint(endpoint, 'Endpoint');
    return { literal: endpoint, port: parsed.port };
  } catch {
    const match = /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(endpoint);
    if (!match) return { port: 0 };
    return { host: match[1], port: Number(match[2]) };
  }
}

async function readSecretsManagerSecret(arn: string): Promise<string> {
  const { SecretsManagerClient, GetSecretValueCommand } = await import('@aws-sdk/client-secrets-manager');
  const client = new SecretsManagerClient({});
  try {
    const result = await client.send(new GetSecretValueCommand({ SecretId: arn }));
    if (result.SecretString === undefined) throw new Error('the secret has no string value');
    return result.SecretString;
  } finally {
    client.destroy();
  }
}
