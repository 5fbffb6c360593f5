/**
 * The protocol limits: defaults and validation. Their effect on peers is tested in peer-timers.test.ts.
 */
import { devicePair, DevicePair } from './helpers';
import { DEFAULT_TIMERS, resolveTimers } from '../../../service/wireguard/timers';

describe('WireGuard timers', () => {
  let pair: DevicePair;
  afterEach(() => {
    pair.a.close();
    pair.b.close();
    expect(pair.clock.pending).toBe(0);
  });

  test('defaults are the whitepaper values', () => {
    expect(DEFAULT_TIMERS).toMatchObject({
      rekeyAfterTimeMs: 120_000,
      rejectAfterTimeMs: 180_000,
      rekeyAttemptTimeMs: 90_000,
      rekeyTimeoutMs: 5_000,
      keepaliveTimeoutMs: 10_000,
      rekeyAfterMessages: 2 ** 60,
    });
    expect(DEFAULT_TIMERS.rejectAfterMessages).toBeGreaterThan(2 ** 63);
    expect(() => resolveTimers({ rekeyAfterTimeMs: 200_000 })).toThrow(/rekeyAfterTimeMs/);
    expect(() => resolveTimers({ keepaliveTimeoutMs: -1 })).toThrow(/keepaliveTimeoutMs/);
    pair = devicePair();
  });

});
