/**
 * Test helpers for the WireGuard device: a hand-driven clock and a pair of devices wired to each
 * other in memory.
 */
import type { Failure, InnerAddressing } from '../../../service/contracts';
import { AllowedIps } from '../../../service/wireguard/allowed-ips';
import type { Clock, TimerHandle } from '../../../service/wireguard/clock';
import { CookieJar } from '../../../service/wireguard/cookie';
import { x25519FromPrivate } from '../../../service/wireguard/crypto';
import { DeviceOutput, WireGuardDevice, WireGuardDeviceOptions } from '../../../service/wireguard/device';
import { decodeKey, encodeKey, generatePrivateKey, publicKeyOf } from '../../../service/wireguard/keys';
import { remoteIdentity } from '../../../service/wireguard/noise';
import { Peer } from '../../../service/wireguard/peer';

interface ManualTimer {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/** A clock that only moves when the test says so; timers fire in deadline order during {@link advance}. */
export class ManualClock implements Clock {
  private time = 1_000_000;
  private seq = 0;
  private timers: ManualTimer[] = [];
  /** Called after every timer callback (e.g. to deliver what the timer sent). */
  afterTimer: (() => void) | undefined;

  constructor(private readonly epochBase = Date.UTC(2026, 0, 1)) {}

  now(): number {
    return this.time;
  }

  epochMs(): number {
    return this.epochBase + this.time;
  }

  setTimer(callback: () => void, delayMs: number): TimerHandle {
    const timer: ManualTimer = { at: this.time + Math.max(0, delayMs), seq: this.seq++, callback, cancelled: false };
    this.timers.push(timer);
    return timer;
  }

  clearTimer(handle: TimerHandle): void {
    (handle as ManualTimer).cancelled = true;
  }

  /** Timers not yet fired nor cleared. */
  get pending(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way, in order. */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      this.timers = this.timers.filter((t) => !t.cancelled);
      let next: ManualTimer | undefined;
      for (const t of this.timers) if (t.at <= end && (!next || t.at < next.at || (t.at === next.at && t.seq < next.seq))) next = t;
      if (!next) break;
      this.time = Math.max(this.time, next.at);
      next.cancelled = true;
      next.callback();
      this.afterTimer?.();
    }
    this.time = end;
  }
}

/** A datagram one side put on the wire. */
export interface Wire {
  readonly data: Buffer;
  readonly address: string;
  readonly port: number;
}

/** A payload a device delivered. */
export interface Delivered {
  readonly peerKey: string;
  readonly data: Buffer;
  readonly inner: InnerAddressing | undefined;
  readonly remoteAddress: string;
  readonly remotePort: number;
}

/** Records everything a device outputs. */
export class RecordingOutput implements DeviceOutput {
  readonly sent: Wire[] = [];
  readonly delivered: Delivered[] = [];
  readonly failures: Array<{ failure: Failure; peerKey?: string }> = [];
  readonly handshakes: Array<{ peerKey: string; initiator: boolean }> = [];
  /** Called for every transmitted datagram (e.g. to hand it to the other device). */
  onTransmit: ((wire: Wire) => void) | undefined;

  transmit(datagram: Buffer, address: string, port: number, done?: (failure: Failure | undefined) => void): void {
    const wire = { data: Buffer.from(datagram), address, port };
    this.sent.push(wire);
    done?.(undefined);
    this.onTransmit?.(wire);
  }

  deliver(peerKey: string, data: Buffer, inner: InnerAddressing | undefined, remoteAddress: string, remotePort: number): void {
    this.delivered.push({ peerKey, data: Buffer.from(data), inner, remoteAddress, remotePort });
  }

  reportFailure(failure: Failure, _address: string | undefined, _port: number | undefined, peerKey: string | undefined): void {
    this.failures.push({ failure, peerKey });
  }

  handshakeCompleted(peerKey: string, initiator: boolean): void {
    this.handshakes.push({ peerKey, initiator });
  }

  /** Failure codes seen so far. */
  codes(): string[] {
    return this.failures.map((f) => f.failure.code);
  }
}

/** Two devices that know each other, connected by an in-memory link that can be cut. */
export interface DevicePair {
  readonly clock: ManualClock;
  readonly a: WireGuardDevice;
  readonly b: WireGuardDevice;
  readonly aOut: RecordingOutput;
  readonly bOut: RecordingOutput;
  readonly aKey: string;
  readonly bKey: string;
  /** When false, datagrams are recorded but not delivered to the other side. */
  link: { aToB: boolean; bToA: boolean };
  /** Delivers datagrams in flight, in order, until none are left; returns how many. */
  pump(): number;
}

export const A_ADDRESS = '192.0.2.1';
export const A_PORT = 51820;
export const B_ADDRESS = '198.51.100.2';
export const B_PORT = 40000;

/**
 * Device `a` (the gateway side, tunnel 10.99.0.1) and `b` (a client, tunnel 10.99.0.2). `b` knows
 * `a`'s endpoint; `a` learns `b`'s from its packets unless `aKnowsEndpoint`.
 */
export function devicePair(options: {
  presharedKey?: string;
  bPresharedKey?: string;
  aOptions?: Partial<WireGuardDeviceOptions>;
  bOptions?: Partial<WireGuardDeviceOptions>;
  aKnowsEndpoint?: boolean;
  clock?: ManualClock;
} = {}): DevicePair {
  const clock = options.clock ?? new ManualClock();
  const aPrivate = generatePrivateKey();
  const bPrivate = generatePrivateKey();
  const aKey = publicKeyOf(aPrivate);
  const bKey = publicKeyOf(bPrivate);
  const aOut = new RecordingOutput();
  const bOut = new RecordingOutput();
  const a = new WireGuardDevice({
    privateKey: aPrivate,
    peers: [{
      publicKey: bKey,
      allowedIps: ['10.99.0.2/32', 'fd99::2/128'],
      presharedKey: options.presharedKey,
      endpoint: options.aKnowsEndpoint ? `${B_ADDRESS}:${B_PORT}` : undefined,
    }],
    clock,
    random: () => 0.5,
    output: aOut,
    ...options.aOptions,
  });
  const b = new WireGuardDevice({
    privateKey: bPrivate,
    peers: [{ publicKey: aKey, allowedIps: ['10.99.0.1/32', 'fd99::1/128'], presharedKey: options.bPresharedKey ?? options.presharedKey, endpoint: `${A_ADDRESS}:${A_PORT}` }],
    clock,
    random: () => 0.5,
    output: bOut,
    ...options.bOptions,
  });
  const inFlight: Array<() => void> = [];
  const pair: DevicePair = {
    clock,
    a,
    b,
    aOut,
    bOut,
    aKey,
    bKey,
    link: { aToB: true, bToA: true },
    pump: () => {
      let count = 0;
      for (let step = inFlight.shift(); step; step = inFlight.shift()) {
        step();
        count++;
        if (count > 10_000) throw new Error('datagrams keep flowing: a loop between the devices');
      }
      return count;
    },
  };
  clock.afterTimer = () => pair.pump();
  aOut.onTransmit = (wire) => {
    if (pair.link.aToB) inFlight.push(() => b.receive(wire.data, A_ADDRESS, A_PORT));
  };
  bOut.onTransmit = (wire) => {
    if (pair.link.bToA) inFlight.push(() => a.receive(wire.data, B_ADDRESS, B_PORT));
  };
  return pair;
}

/** An inner UDP addressing from the client (10.99.0.2:5683) to the gateway (10.99.0.1:9000). */
export const CLIENT_TO_GATEWAY: InnerAddressing = {
  SourceAddress: '10.99.0.2',
  SourcePort: 5683,
  DestinationAddress: '10.99.0.1',
  DestinationPort: 9000,
  Version: 4,
  Protocol: 17,
};

/** A peer of a fresh local key, outside any device (for the device's parts on their own). */
export function standalonePeer(options: { allowedIps?: readonly string[]; dynamic?: boolean } = {}): Peer {
  const local = x25519FromPrivate(decodeKey(generatePrivateKey(), 'local key'));
  const remoteKey = decodeKey(publicKeyOf(generatePrivateKey()), 'peer key');
  const identity = remoteIdentity({ privateKey: local.privateKey, publicKey: local.publicKey }, remoteKey);
  if (!identity) throw new Error('unusable test key');
  const allowed = AllowedIps.parse(options.allowedIps ?? []);
  return new Peer(encodeKey(remoteKey), identity, allowed, new CookieJar(remoteKey, () => 0), options.dynamic ?? false);
}

/**
 * A device with one configured peer (AllowedIPs 10.99.0.2/32) and no session, for sends that
 * complete at once: `sendResult` returns the send's failure, or undefined.
 */
export function sendProbe(): {
  readonly device: WireGuardDevice;
  readonly clock: ManualClock;
  readonly output: RecordingOutput;
  readonly peerPrivate: string;
  sendResult(peerKey: string, inner?: Parameters<WireGuardDevice['send']>[2], payload?: Buffer): Failure | undefined;
} {
  const clock = new ManualClock();
  const output = new RecordingOutput();
  const peerPrivate = generatePrivateKey();
  const device = new WireGuardDevice({
    privateKey: generatePrivateKey(),
    peers: [{ publicKey: publicKeyOf(peerPrivate), allowedIps: ['10.99.0.2/32'] }],
    clock,
    output,
  });
  const sendResult = (peerKey: string, inner?: Parameters<WireGuardDevice['send']>[2], payload = Buffer.from('x')): Failure | undefined => {
    let result: Failure | undefined | 'pending' = 'pending';
    device.send(peerKey, payload, inner, (f) => {
      result = f;
    });
    if (result === 'pending') throw new Error('send did not complete synchronously');
    return result;
  };
  return { device, clock, output, peerPrivate, sendResult };
}
