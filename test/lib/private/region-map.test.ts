import {
  FALLBACK_REGION_KEY, REGION_LOCATIONS, regionMapKeyProblems, regionPartition, regionsByProximity, resolveRegionalArn,
} from '../../../lib/private/region-map';

const fn = (region: string): string => `arn:aws:lambda:${region}:123456789012:function:counter`;

describe('region-map destination ARNs', () => {
  const map = { 'us-west-2': fn('us-west-2'), 'us-east-1': fn('us-east-1'), 'eu-west-1': fn('eu-west-1') };

  test('the gateway\'s own region first', () => {
    expect(resolveRegionalArn(map, 'us-east-1')).toBe(fn('us-east-1'));
    expect(resolveRegionalArn({ ...map, '*': fn('us-east-1') }, 'eu-west-1')).toBe(fn('eu-west-1'));
  });

  test('then the * fallback, even when a nearer region has an entry', () => {
    expect(resolveRegionalArn({ ...map, [FALLBACK_REGION_KEY]: fn('us-west-2') }, 'eu-central-1')).toBe(fn('us-west-2'));
  });

  test('then the nearest region with an entry, by the fixed location table', () => {
    expect(resolveRegionalArn(map, 'eu-central-1')).toBe(fn('eu-west-1'));
    expect(resolveRegionalArn(map, 'us-east-2')).toBe(fn('us-east-1'));
    expect(resolveRegionalArn(map, 'us-west-1')).toBe(fn('us-west-2'));
    expect(resolveRegionalArn(map, 'ca-central-1')).toBe(fn('us-east-1'));
    expect(resolveRegionalArn(map, 'ap-northeast-1')).toBe(fn('us-west-2'));
    expect(resolveRegionalArn(map, 'il-central-1')).toBe(fn('eu-west-1'));
  });

  test('the ordering is complete and deterministic: own region, distance, then name', () => {
    expect(regionsByProximity('eu-west-2', ['us-east-1', 'eu-west-1', 'eu-west-3', 'eu-west-2', '*'])).toEqual(['eu-west-2', 'eu-west-3', 'eu-west-1', 'us-east-1']);
    // unknown regions come last, by name
    expect(regionsByProximity('eu-west-2', ['xx-new-2', 'xx-new-1', 'us-east-1'])).toEqual(['us-east-1', 'xx-new-1', 'xx-new-2']);
    // a gateway in a region missing from the table still chooses, by name
    expect(resolveRegionalArn(map, 'xx-new-1')).toBe(fn('eu-west-1'));
  });

  test('entries of another partition are never chosen', () => {
    expect(regionPartition('cn-north-1')).toBe('aws-cn');
    expect(regionPartition('us-gov-west-1')).toBe('aws-us-gov');
    expect(regionPartition('eu-west-1')).toBe('aws');
    expect(resolveRegionalArn(map, 'cn-north-1')).toBeUndefined();
    expect(resolveRegionalArn({ ...map, 'cn-northwest-1': 'arn:aws-cn:lambda:cn-northwest-1:123456789012:function:counter' }, 'cn-north-1'))
      .toBe('arn:aws-cn:lambda:cn-northwest-1:123456789012:function:counter');
    expect(resolveRegionalArn({ 'us-gov-west-1': 'gov' }, 'us-west-2')).toBeUndefined();
  });

  test('keys must be region names or *', () => {
    expect(regionMapKeyProblems({ ...map, '*': fn('us-east-1') })).toEqual([]);
    expect(regionMapKeyProblems({ 'US-EAST-1': 'x', 'default': 'y' })).toEqual([
      'US-EAST-1: is not a region key (allowed: a region name such as us-east-1, or * for every other region)',
      'default: is not a region key (allowed: a region name such as us-east-1, or * for every other region)',
    ]);
    expect(regionMapKeyProblems({})).toEqual(['(map): has no entry (allowed: at least one region name or * with an ARN)']);
  });

  test('every located region is a valid region name of its partition', () => {
    for (const region of Object.keys(REGION_LOCATIONS)) expect(regionMapKeyProblems({ [region]: 'x' })).toEqual([]);
  });
});
