/**
 * One device, several peers: every peer's timers run at its own deadlines although the device
 * schedules a single timer for all of them.
 */
import { CLIENT_TO_GATEWAY, ManualClock, RecordingOutput } from './helpers';
import { WireGuardDevice } from '../../../service/wireguard/device';
import { generatePrivateKey, publicKeyOf } from '../../../service/wireguard/keys';
import { messageType, MESSAGE_INITIATION } from '../../../service/wireguard/messages';

describe('timers of several peers on one device', () => {
  test('unanswered initiations are retried per peer at its own deadline; a removed peer stops', () => {
    const clock = new ManualClock();
    const out = new RecordingOutput();
    const gateways = ['192.0.2.11', '192.0.2.12', '192.0.2.13'].map((address) => ({ address, key: publicKeyOf(generatePrivateKey()) }));
    const peers = gateways.map((g, i) => ({ publicKey: g.key, allowedIps: [`10.99.${i}.1/32`], endpoint: `${g.address}:51820` }));
    const device = new WireGuardDevice({ privateKey: generatePrivateKey(), peers, clock, random: () => 0.5, output: out });
    const initiationsTo = (address: string): number =>
      out.sent.filter((w) => messageType(w.data) === MESSAGE_INITIATION && w.address === address).length;
    try {
      // Each peer starts its handshake 1 s after the previous one; nobody answers.
      for (const [i, g] of gateways.entries()) {
        device.send(g.key, Buffer.from(`to ${i}`), { ...CLIENT_TO_GATEWAY, DestinationAddress: `10.99.${i}.1` });
        if (i < gateways.length - 1) clock.advance(1_000);
      }
      expect(out.failures).toEqual([]);
      expect(gateways.map((g) => initiationsTo(g.address))).toEqual([1, 1, 1]);
      // Rekey-Timeout (5 s) plus jitter after its own initiation, each peer retries once.
      clock.advance(3_000);
      expect(gateways.map((g) => initiationsTo(g.address))).toEqual([1, 1, 1]);
      clock.advance(1_000);
      expect(gateways.map((g) => initiationsTo(g.address))).toEqual([2, 1, 1]);
      clock.advance(1_000);
      expect(gateways.map((g) => initiationsTo(g.address))).toEqual([2, 2, 1]);
      // The middle peer is removed: its deadlines no longer fire, the others' still do.
      device.setPeers([peers[0], peers[2]]);
      clock.advance(10_000);
      const after = gateways.map((g) => initiationsTo(g.address));
      expect(after[1]).toBe(2);
      expect(after[0]).toBeGreaterThan(2);
      expect(after[2]).toBeGreaterThan(2);
    } finally {
      device.close();
    }
    expect(clock.pending).toBe(0);
  });
});
