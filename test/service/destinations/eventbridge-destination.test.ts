import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { mockClient } from 'aws-sdk-client-mock';
import { EventBridgeDestination } from '../../../service/destinations/eventbridge-destination';
import type { QueuedPacket } from '../../../service/destinations/packet';

const events = mockClient(EventBridgeClient);
const BUS = 'arn:aws:events:us-east-1:123456789012:event-bus/packets';

function packets(n: number, dataBytes = 10): QueuedPacket[] {
  return Array.from({ length: n }, (_, i) => {
    const json = JSON.stringify({ Tag: `t${i}`, Remote: { IpAddress: '203.0.113.5', Port: 4000 }, Data: 'x'.repeat(dataBytes) });
    return { json, bytes: Buffer.byteLength(json), tag: `t${i}`, remoteAddress: '203.0.113.5', remotePort: 4000, data: JSON.parse(json).Data, receivedAt: 0 };
  });
}

describe('EventBridgeDestination', () => {
  beforeEach(() => events.reset());
  const client = (): EventBridgeClient => new EventBridgeClient({ region: 'us-east-1' });

  test('one event per packet on the bus, with Proxylity\'s source and detail-type and the packet as detail', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    const batch = packets(2);
    expect(await new EventBridgeDestination({ Name: 'e', Type: 'eventbridge', Arn: BUS }, client(), 'us-east-1').deliver(batch)).toEqual({});
    const entries = events.commandCalls(PutEventsCommand)[0].args[0].input.Entries!;
    expect(entries).toEqual(batch.map((p) => ({ EventBusName: BUS, Source: 'proxylity', DetailType: 'udp-gateway-packet-ingress', Detail: p.json })));
    expect((JSON.parse(entries[1].Detail!) as { Tag: string }).Tag).toBe('t1');
  });

  test('EventSource and EventDetailType replace the source and detail-type', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    await new EventBridgeDestination({ Name: 'e', Type: 'eventbridge', Arn: BUS, Arguments: { EventSource: 'com.example.telemetry', EventDetailType: 'reading' } }, client(), 'us-east-1')
      .deliver(packets(1));
    expect(events.commandCalls(PutEventsCommand)[0].args[0].input.Entries![0]).toMatchObject({ Source: 'com.example.telemetry', DetailType: 'reading' });
  });

  test('calls carry at most 10 entries and 256 KiB as EventBridge counts them', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [] });
    await new EventBridgeDestination({ Name: 'e', Type: 'eventbridge', Arn: BUS }, client(), 'us-east-1').deliver(packets(25));
    // 100 KiB packets: two fit in 256 KiB with the source, detail-type and time of each entry.
    await new EventBridgeDestination({ Name: 'e', Type: 'eventbridge', Arn: BUS }, client(), 'us-east-1').deliver(packets(5, 100 * 1024));
    // 128 KiB minus the fixed bytes of an entry: two fit exactly; one byte more and they do not.
    const fixed = 14 + 'proxylity'.length + 'udp-gateway-packet-ingress'.length;
    const exact = 128 * 1024 - fixed - packets(1, 0)[0].bytes;
    await new EventBridgeDestination({ Name: 'e', Type: 'eventbridge', Arn: BUS }, client(), 'us-east-1').deliver(packets(2, exact));
    await new EventBridgeDestination({ Name: 'e', Type: 'eventbridge', Arn: BUS }, client(), 'us-east-1').deliver(packets(2, exact + 1));
    expect(events.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries!.length)).toEqual([10, 10, 5, 2, 2, 1, 2, 1, 1]);
  });

  test('puts again only the entries EventBridge failed for throttling or internal errors', async () => {
    events.on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 2,
        Entries: [{ EventId: '1' }, { ErrorCode: 'ThrottlingException', ErrorMessage: 'rate' }, { ErrorCode: 'MalformedDetail', ErrorMessage: 'bad detail' }],
      })
      .resolvesOnce({ FailedEntryCount: 0, Entries: [{ EventId: '2' }] });
    const batch = packets(3);
    const result = await new EventBridgeDestination({ Name: 'e', Type: 'eventbridge', Arn: BUS }, client(), 'us-east-1', { retryDelayMs: 1 }).deliver(batch);
    expect(result).toEqual({ failed: [{ index: 2, reason: 'EventBridge rejected the event (MalformedDetail): bad detail' }] });
    expect(events.commandCalls(PutEventsCommand)[1].args[0].input.Entries!.map((e) => e.Detail)).toEqual([batch[1].json]);
  });

  test('a failed call fails its packets with the error; other calls deliver', async () => {
    events.on(PutEventsCommand).resolvesOnce({ Entries: [] }).rejectsOnce(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    const result = await new EventBridgeDestination({ Name: 'e', Type: 'eventbridge', Arn: BUS }, client(), 'us-east-1', { maxConcurrentCalls: 1 }).deliver(packets(12));
    expect(result.failed?.map((f) => f.index)).toEqual([10, 11]);
    expect(result.failed?.[0].reason).toBe('EventBridge PutEvents failed (AccessDeniedException): not authorized');
  });

  test('a bus of another region is refused when the destination is created', () => {
    expect(() => new EventBridgeDestination({ Name: 'e', Type: 'eventbridge', Arn: BUS.replace('us-east-1', 'eu-west-1') }, client(), 'us-east-1'))
      .toThrow('is in region eu-west-1 (allowed: an EventBridge event bus ARN in the gateway\'s region us-east-1)');
  });
});
