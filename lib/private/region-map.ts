/**
 * Region-map destination ARNs: a destination's `Arn` may be a map of region name → ARN, with `*`
 * as the fallback key. A gateway picks, in this order: the ARN of its own region; the `*` ARN; the
 * ARN of the nearest region that has one. "Nearest" is a fixed ordering, not a measurement: the
 * great-circle distance between the approximate locations of the regions' metropolitan areas in
 * {@link REGION_LOCATIONS}, ties broken by region name. Only regions of the gateway's partition
 * (aws, aws-cn, aws-us-gov) are candidates: a function in another partition cannot be invoked with
 * the gateway's credentials. Used by the record validation and the data plane. Pure: no CDK import.
 */
import { REGION } from './limits';

/** A destination ARN per region; `*` is the fallback for regions without an entry. */
export type RegionalArnMap = Readonly<Record<string, string>>;

/** The key of the fallback entry. */
export const FALLBACK_REGION_KEY = '*';

/** Approximate latitude and longitude (degrees) of each region's metropolitan area. */
export const REGION_LOCATIONS: Readonly<Record<string, readonly [number, number]>> = Object.freeze({
  'us-east-1': [38.9, -77.4],
  'us-east-2': [40.0, -83.0],
  'us-west-1': [37.4, -122.0],
  'us-west-2': [45.8, -119.7],
  'ca-central-1': [45.5, -73.6],
  'ca-west-1': [51.0, -114.1],
  'mx-central-1': [20.6, -100.4],
  'sa-east-1': [-23.5, -46.6],
  'eu-west-1': [53.3, -6.3],
  'eu-west-2': [51.5, -0.1],
  'eu-west-3': [48.9, 2.4],
  'eu-central-1': [50.1, 8.7],
  'eu-central-2': [47.4, 8.5],
  'eu-north-1': [59.3, 18.1],
  'eu-south-1': [45.5, 9.2],
  'eu-south-2': [41.6, -0.9],
  'il-central-1': [32.1, 34.8],
  'me-south-1': [26.1, 50.6],
  'me-central-1': [24.5, 54.4],
  'af-south-1': [-33.9, 18.4],
  'ap-east-1': [22.3, 114.2],
  'ap-east-2': [25.0, 121.5],
  'ap-south-1': [19.1, 72.9],
  'ap-south-2': [17.4, 78.5],
  'ap-northeast-1': [35.7, 139.7],
  'ap-northeast-2': [37.6, 127.0],
  'ap-northeast-3': [34.7, 135.5],
  'ap-southeast-1': [1.3, 103.8],
  'ap-southeast-2': [-33.9, 151.2],
  'ap-southeast-3': [-6.2, 106.8],
  'ap-southeast-4': [-37.8, 145.0],
  'ap-southeast-5': [3.1, 101.7],
  'ap-southeast-6': [-36.8, 174.8],
  'ap-southeast-7': [13.8, 100.5],
  'us-gov-west-1': [45.8, -119.7],
  'us-gov-east-1': [40.0, -83.0],
  'cn-north-1': [39.9, 116.4],
  'cn-northwest-1': [37.5, 105.2],
});

/** The partition of a region name: `aws-cn` for cn-*, `aws-us-gov` for us-gov-*, else `aws`. */
export function regionPartition(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/** True when `value` is an object (not an array) used as a region map. */
export function isRegionalArnMap(value: unknown): value is RegionalArnMap {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Problems of a region map's keys (valid region names or `*`) and shape, as `<key>: <problem>` texts; values are checked by the caller. */
export function regionMapKeyProblems(map: RegionalArnMap): string[] {
  const keys = Object.keys(map);
  if (keys.length === 0) return ['(map): has no entry (allowed: at least one region name or * with an ARN)'];
  const problems: string[] = [];
  for (const key of keys) {
    if (key !== FALLBACK_REGION_KEY && !REGION.pattern.test(key)) problems.push(`${key}: is not a region key (allowed: ${REGION.allowed}, or * for every other region)`);
  }
  return problems;
}

/**
 * Regions of `candidates` in the order a gateway in `region` prefers them: `region` itself, then
 * by distance ({@link REGION_LOCATIONS}), then by name. Regions of another partition are left
 * out; regions without a known location come after the located ones, by name.
 */
export function regionsByProximity(region: string, candidates: readonly string[]): string[] {
  const partition = regionPartition(region);
  const here = REGION_LOCATIONS[region];
  const distance = (other: string): number => {
    if (other === region) return -1;
    const there = REGION_LOCATIONS[other];
    return here && there ? greatCircleKm(here, there) : Number.POSITIVE_INFINITY;
  };
  return candidates
    .filter((c) => c !== FALLBACK_REGION_KEY && regionPartition(c) === partition)
    .map((c) => ({ c, d: distance(c) }))
    .sort((a, b) => (a.d === b.d ? (a.c < b.c ? -1 : a.c > b.c ? 1 : 0) : a.d - b.d))
    .map(({ c }) => c);
}

/** The ARN a gateway in `region` uses: its own region's, else `*`'s, else the nearest region's; undefined when none fits. */
export function resolveRegionalArn(map: RegionalArnMap, region: string): string | undefined {
  if (Object.prototype.hasOwnProperty.call(map, region)) return map[region];
  if (Object.prototype.hasOwnProperty.call(map, FALLBACK_REGION_KEY)) return map[FALLBACK_REGION_KEY];
  const nearest = regionsByProximity(region, Object.keys(map))[0];
  return nearest === undefined ? undefined : map[nearest];
}

const EARTH_RADIUS_KM = 6371;

function greatCircleKm(a: readonly [number, number], b: readonly [number, number]): number {
  const rad = Math.PI / 180;
  const dLat = (b[0] - a[0]) * rad;
  const dLon = (b[1] - a[1]) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a[0] * rad) * Math.cos(b[0] * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}
