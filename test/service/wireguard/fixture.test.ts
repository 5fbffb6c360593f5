/**
 * A real handshake initiation captured from wireguard-go, consumed as a responder would.
 */
import fixture from './fixtures/handshake-initiation.json';
import { ManualClock, RecordingOutput } from './helpers';
import { CookieChecker, mac1Key } from '../../../service/wireguard/cookie';
import { mac, x25519FromPrivate } from '../../../service/wireguard/crypto';
import { WireGuardDevice } from '../../../service/wireguard/device';
import { decodeKey } from '../../../service/wireguard/keys';
import { decodeInitiation, decodeResponse, INITIATION_MAC1_OFFSET, InitiationMessage } from '../../../service/wireguard/messages';
import { finishInitiation, openInitiation, remoteIdentity } from '../../../service/wireguard/noise';

const datagram = Buffer.from(fixture.initiationHex, 'hex');
const responder = x25519FromPrivate(decodeKey(fixture.responderPrivateKey, 'responder'));

describe('captured wireguard-go handshake initiation', () => {
  test('is a 148-byte type-1 message', () => {
    expect(datagram).toHaveLength(148);
    const message = decodeInitiation(datagram);
    expect(typeof message).toBe('object');
  });

  test('mac1 verifies under the responder public key, and only under it', () => {
    const clock = new ManualClock();
    expect(new CookieChecker(responder.publicKey, () => clock.now()).checkMac1(datagram, INITIATION_MAC1_OFFSET)).toBe(true);
    const other = decodeKey(fixture.initiatorPublicKey, 'initiator');
    expect(new CookieChecker(other, () => clock.now()).checkMac1(datagram, INITIATION_MAC1_OFFSET)).toBe(false);
    // Independently: mac1 = MAC(HASH("mac1----" ‖ Spub_r), msg[0:116]).
    expect(mac(mac1Key(responder.publicKey), datagram.subarray(0, 116))).toEqual(datagram.subarray(116, 132));
  });

  test('mac2 is zero: wireguard-go had no cookie', () => {
    expect(datagram.subarray(132)).toEqual(Buffer.alloc(16));
  });

  test('decrypts to the initiator static key and a TAI64N timestamp of the capture time', () => {
    const message = decodeInitiation(datagram) as InitiationMessage;
    const opened = openInitiation(responder, message);
    if (typeof opened === 'string') throw new Error(opened);
    expect(opened.initiatorPublicKey.toString('base64')).toBe(fixture.initiatorPublicKey);

    const identity = remoteIdentity(responder, opened.initiatorPublicKey)!;
    const finished = finishInitiation(opened, identity, message);
    if (typeof finished === 'string') throw new Error(finished);
    expect(finished.timestamp).toHaveLength(12);
    expect(finished.timestamp.readUInt32BE(0)).toBe(0x40000000);
    const seconds = finished.timestamp.readUInt32BE(4) - 10;
    // Captured in the 2020s.
    expect(seconds).toBeGreaterThan(Date.UTC(2020, 0, 1) / 1000);
    expect(seconds).toBeLessThan(Date.UTC(2040, 0, 1) / 1000);
    expect(finished.timestamp.readUInt32BE(8)).toBeLessThan(1_000_000_000);
  });

  test('a wrong responder key cannot open it', () => {
    const message = decodeInitiation(datagram) as InitiationMessage;
    const wrong = x25519FromPrivate(decodeKey(fixture.initiatorPrivateKey, 'initiator'));
    expect(openInitiation(wrong, message)).toEqual(expect.stringContaining('does not decrypt'));
  });

  test('a device with the responder key answers with a handshake response for the initiator', () => {
    const output = new RecordingOutput();
    const device = new WireGuardDevice({
      privateKey: fixture.responderPrivateKey,
      peers: [{ publicKey: fixture.initiatorPublicKey, allowedIps: ['10.99.0.2/32'] }],
      clock: new ManualClock(),
      output,
    });
    expect(device.receive(datagram, '10.77.0.2', 51821)).toBe('handshake');
    expect(output.sent).toHaveLength(1);
    const response = decodeResponse(output.sent[0].data);
    if (typeof response === 'string') throw new Error(response);
    expect(response.receiver).toBe(datagram.readUInt32LE(4));
    expect(output.sent[0]).toMatchObject({ address: '10.77.0.2', port: 51821 });
    // The response's mac1 is keyed by the initiator's public key.
    expect(mac(mac1Key(decodeKey(fixture.initiatorPublicKey, 'i')), output.sent[0].data.subarray(0, 60))).toEqual(response.mac1);
    expect(device.peerStatus(fixture.initiatorPublicKey)?.endpoint).toEqual({ address: '10.77.0.2', port: 51821 });

    // The same initiation again is a replay.
    expect(device.receive(datagram, '10.77.0.2', 51821)).toBe('dropped');
    expect(output.codes()).toEqual(['Replay']);
    device.close();
  });

  test('a device that does not know the initiator reports UnknownPeer, unless it accepts unknown peers', () => {
    const output = new RecordingOutput();
    const strict = new WireGuardDevice({ privateKey: fixture.responderPrivateKey, clock: new ManualClock(), output });
    expect(strict.receive(datagram, '10.77.0.2', 51821)).toBe('dropped');
    expect(output.failures[0]).toMatchObject({ failure: { code: 'UnknownPeer' }, peerKey: fixture.initiatorPublicKey });
    strict.close();

    const open = new WireGuardDevice({
      privateKey: fixture.responderPrivateKey, allowUnknownPeers: true, clock: new ManualClock(), output: new RecordingOutput(),
    });
    expect(open.receive(datagram, '10.77.0.2', 51821)).toBe('handshake');
    expect(open.peerStatus(fixture.initiatorPublicKey)).toMatchObject({ dynamic: true });
    open.close();
  });
});
