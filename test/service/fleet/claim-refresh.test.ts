import { CLAIM_REFRESH_AFTER_MS, ClaimRefresh } from '../../../service/fleet/claim-refresh';

const DAY = 24 * 3600 * 1000;

function refresh(held: Set<string>) {
  let now = 0;
  const written: string[] = [];
  const claims = new ClaimRefresh({
    holds: (listener, address, port) => held.has(`${listener} ${address} ${port}`),
    reclaim: (listener, address, port, peerKey) => written.push(`${listener} ${address} ${port}${peerKey === undefined ? '' : ` ${peerKey}`}`),
    now: () => now,
    pruneBatch: 2,
  });
  return { claims, written, advance: (ms: number) => (now += ms), at: () => now };
}

describe('ClaimRefresh: the directory items of long-lived flows are written again before their 7-day TTL', () => {
  test('refreshes after 3.5 days', () => {
    expect(CLAIM_REFRESH_AFTER_MS).toBe(3.5 * DAY);
  });

  test('a flow still held 3.5 days after its claim is written once more, then again 3.5 days later', () => {
    const held = new Set(['udp 198.51.100.2 40000']);
    const { claims, written, advance } = refresh(held);
    claims.claim('udp', '198.51.100.2', 40000);
    advance(3.5 * DAY - 1);
    expect(claims.check()).toBe(0);
    advance(1);
    expect(claims.check()).toBe(1);
    expect(written).toEqual(['udp 198.51.100.2 40000']);
    advance(DAY);
    expect(claims.check()).toBe(0); // once per 3.5 days, not per check
    advance(2.5 * DAY);
    expect(claims.check()).toBe(1);
    expect(claims.refreshed).toBe(2);
  });

  test('a flow that ended or moved is not written and is forgotten', () => {
    const held = new Set(['udp 198.51.100.2 40001']);
    const { claims, written, advance } = refresh(held);
    claims.claim('udp', '198.51.100.2', 40001);
    claims.claim('udp', '2001:db8::1', 40002); // already gone
    expect(claims.size).toBe(2);
    claims.check(); // the prune slice drops the flow no longer held
    expect(claims.size).toBe(1);
    held.clear();
    advance(4 * DAY);
    expect(claims.check()).toBe(0);
    expect(written).toEqual([]);
    expect(claims.size).toBe(0);
  });

  test('a claim made again (the flow came back) restarts its 3.5 days', () => {
    const held = new Set(['wg 198.51.100.2 40003']);
    const { claims, written, advance } = refresh(held);
    claims.claim('wg', '198.51.100.2', 40003);
    advance(3 * DAY);
    claims.claim('wg', '198.51.100.2', 40003);
    advance(DAY);
    expect(claims.check()).toBe(0);
    advance(2.5 * DAY);
    expect(claims.check()).toBe(1);
    expect(written).toEqual(['wg 198.51.100.2 40003']);
  });

  test('a WireGuard peer\'s flow is written again with its PeerKey', () => {
    const held = new Set(['wg 198.51.100.2 40004', 'wg 198.51.100.3 40005']);
    const { claims, written, advance } = refresh(held);
    claims.claim('wg', '198.51.100.2', 40004, 'peer-a');
    claims.claim('wg', '198.51.100.3', 40005, 'peer-b');
    claims.claim('wg', '198.51.100.3', 40005); // the flow was claimed again without a peer
    advance(3.5 * DAY);
    expect(claims.check()).toBe(2);
    expect(written).toEqual(['wg 198.51.100.2 40004 peer-a', 'wg 198.51.100.3 40005']);
  });
});
