import type { BatchingRecord, ListenerRecord } from '../../../lib/private/records';
import { recordFields, validateListenerRecord } from '../../../lib/private/validate-records';

describe('recordFields', () => {
  test('lists the fields in the order given', () => {
    expect(recordFields<BatchingRecord>({ Count: true, TimeoutInSeconds: true, SizeInBytes: true })).toEqual(['Count', 'TimeoutInSeconds', 'SizeInBytes']);
  });

  test('a list that forgets a field or names a field the record does not have does not compile', () => {
    // @ts-expect-error SizeInBytes is a field of BatchingRecord and is missing
    recordFields<BatchingRecord>({ Count: true, TimeoutInSeconds: true });
    // @ts-expect-error Size is not a field of BatchingRecord
    recordFields<BatchingRecord>({ Count: true, TimeoutInSeconds: true, SizeInBytes: true, Size: true });
    // Optional fields count as fields: a record interface change is caught whether the field is optional or not.
    // @ts-expect-error WireGuard (optional) is missing
    recordFields<Pick<ListenerRecord, 'Name' | 'WireGuard'>>({ Name: true });
  });

  test('the validator knows every field of a complete Listener record', () => {
    const complete: Required<ListenerRecord> = {
      Name: 'demo',
      Protocol: 'wg',
      Protocols: ['wg'],
      Port: 51820,
      BindAddress: '127.0.0.1',
      Domain: 'demo.example.com',
      PublicAddress: '203.0.113.1',
      Formatter: 'hex',
      Destinations: [{ Name: 'log', Type: 'log' }],
      ClientRestrictions: { Networks: ['0.0.0.0/0'] },
      EgressAllowedNetworks: ['10.0.0.0/8'],
      MaxPayloadBytes: 1200,
      ReplyTagTtlSeconds: 60,
      WireGuard: { AllowUnknownPeers: true },
    };
    expect(validateListenerRecord(complete)).toEqual([]);
  });
});
