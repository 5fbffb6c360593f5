import { EgressGuard, EgressGuardOptions } from '../../../service/egress/egress-guard';
import { EgressPolicy } from '../../../service/egress/egress-policy';
import { FlowTable } from '../../../service/egress/flow-table';

function guard(options: Partial<EgressGuardOptions> = {}): EgressGuard {
  return new EgressGuard({
    listener: 'l',
    bindAddress: '0.0.0.0',
    ipv6: false,
    egress: new EgressPolicy({}),
    maxPayloadBytes: 100,
    ...options,
  });
}

describe('EgressGuard', () => {
  test('the payload limit: up to MaxPayloadBytes passes, one byte more is PayloadTooLarge', () => {
    expect(guard().checkPayload(100)).toBeUndefined();
    expect(guard().checkPayload(101)).toEqual({ code: 'PayloadTooLarge', reason: "payload of 101 bytes exceeds the Listener's MaxPayloadBytes 100" });
  });

  test('an IPv4 socket cannot reach IPv6; IPv4-mapped addresses are IPv4', () => {
    expect(guard().checkDestination('2001:db8::1', 9)).toEqual({
      code: 'InvalidAddress',
      reason: 'Listener l is bound to IPv4 0.0.0.0 and cannot send to IPv6 2001:db8::1',
    });
    expect(guard().checkDestination('2001:db8::1', 9, 'PEER=')).toEqual({
      code: 'InvalidAddress',
      reason: 'Listener l is bound to IPv4 0.0.0.0 and cannot reach peer PEER= at IPv6 2001:db8::1',
    });
    expect(guard().checkDestination('::ffff:198.51.100.7', 9)).toBeUndefined();
    expect(guard({ ipv6: true, bindAddress: '::' }).checkDestination('2001:db8::1', 9)).toBeUndefined();
  });

  test('the egress policy refuses denied destinations (DestinationDenied)', () => {
    expect(guard().checkDestination('127.0.0.1', 9)?.code).toBe('DestinationDenied');
    expect(guard({ egress: new EgressPolicy({ allowLoopback: true }) }).checkDestination('127.0.0.1', 9)).toBeUndefined();
  });

  test('with requireActiveFlow, only a destination with a live flow to this Listener passes (NoActiveFlow)', () => {
    const flows = new FlowTable();
    const g = guard({ flows, requireActiveFlow: true });
    expect(g.checkDestination('198.51.100.7', 4000)).toEqual({
      code: 'NoActiveFlow',
      reason: 'no active flow from 198.51.100.7:4000 to Listener l: the client must have sent to the Listener recently (keepalive ≤ 25 s)',
    });
    expect(g.checkDestination('198.51.100.7', 4000, 'PEER=')).toEqual({
      code: 'NoActiveFlow',
      reason: 'no active flow from peer PEER= at 198.51.100.7:4000 to Listener l: the peer must have sent recently (persistent keepalive ≤ 25 s)',
    });
    flows.touch('other', '198.51.100.7', 4000);
    expect(g.checkDestination('198.51.100.7', 4000)?.code).toBe('NoActiveFlow');
    flows.touch('l', '198.51.100.7', 4000);
    expect(g.checkDestination('198.51.100.7', 4000)).toBeUndefined();
    expect(guard({ flows }).checkDestination('203.0.113.9', 4000)).toBeUndefined();
  });

  test('update takes a new policy and payload limit', () => {
    const g = guard();
    g.update(new EgressPolicy({ allowLoopback: true }), 10);
    expect(g.checkPayload(10)).toBeUndefined();
    expect(g.checkPayload(11)?.code).toBe('PayloadTooLarge');
    expect(g.checkDestination('127.0.0.1', 9)).toBeUndefined();
  });
});
