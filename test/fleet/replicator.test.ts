/** The directory replicator's plan: last writer wins by `since`, deletions follow the version they removed. */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { checkGlobalPrefix, metricInLine } from '../../scripts/fleet/global-lab';
import { replicationPlan, versionOf } from '../../scripts/fleet/replicator';

type Item = Record<string, AttributeValue>;
const item = (pk: string, since: number, region: string): Item => ({ pk: { S: pk }, since: { N: String(since) }, region: { S: region } });
const table = (...items: Item[]): Map<string, Item> => new Map(items.map((i) => [i.pk.S!, i]));

describe('replicationPlan', () => {
  test('an item missing in a table is put there', () => {
    const a = item('flow#x', 100, 'us-east-1');
    expect(replicationPlan([table(a), table()], [table(), table()])).toEqual([[], [{ put: a }]]);
  });

  test('the newer version wins in both directions; equal versions change nothing', () => {
    const old = item('flow#x', 100, 'us-east-1');
    const newer = item('flow#x', 200, 'eu-west-1');
    expect(replicationPlan([table(old), table(newer)], [table(), table()])).toEqual([[{ put: newer }], []]);
    expect(replicationPlan([table(newer), table(old)], [table(), table()])).toEqual([[], [{ put: newer }]]);
    expect(replicationPlan([table(old), table(old)], [table(old), table(old)])).toEqual([[], []]);
  });

  test('a delete is replicated where the deleted version is still held, not over a newer write', () => {
    const member = item('member#m1', 100, 'us-east-1');
    expect(replicationPlan([table(), table(member)], [table(member), table(member)])).toEqual([[], [{ delete: 'member#m1' }]]);
    const rewritten = item('member#m1', 300, 'eu-west-1');
    expect(replicationPlan([table(), table(rewritten)], [table(member), table(member)])).toEqual([[{ put: rewritten }], []]);
  });

  test('versionOf reads since, 0 without it', () => {
    expect(versionOf(item('k', 42, 'r'))).toBe(42);
    expect(versionOf({ pk: { S: 'k' } })).toBe(0);
    expect(versionOf(undefined)).toBe(0);
  });
});

describe('global lab helpers', () => {
  test('metricInLine sums a metric of an EMF line only', () => {
    expect(metricInLine('{"_aws":{"Timestamp":1},"ForwardedToRegion":3}', 'ForwardedToRegion')).toBe(3);
    expect(metricInLine('{"message":"ForwardedToRegion","ForwardedToRegion":3}', 'ForwardedToRegion')).toBe(0);
    expect(metricInLine('{"_aws":{"Timestamp":1},"SourcedSent":3}', 'ForwardedToRegion')).toBe(0);
    expect(metricInLine('{"_aws":', 'ForwardedToRegion')).toBe(0);
  });

  test('checkGlobalPrefix leaves room for the region letter', () => {
    expect(() => checkGlobalPrefix('pfab123')).not.toThrow();
    expect(() => checkGlobalPrefix('pfab1234')).toThrow('prefix "pfab1234" is not valid (allowed: 1–7 of a-z and 0-9, starting with a letter)');
  });
});
