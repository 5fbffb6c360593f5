/**
 * Handshake-flood limits: a load meter that says when the responder is "under load" (and must
 * demand cookies, whitepaper §5.3), and a per-source-IP token bucket applied to handshakes that
 * carried a valid cookie while under load.
 */
import { isIPv6 } from 'node:net';
import { parseIpAddress } from '../../lib/private/network';

/**
 * Counts handshake messages per second. Above `threshold` in one second the device is under load,
 * and stays so for one further second after the rate drops.
 */
export class HandshakeLoadMeter {
  private windowStart = -Infinity;
  private count = 0;
  private underLoadUntil = -Infinity;

  constructor(private readonly threshold: number) {}

  /** Counts one handshake message received at `now` (ms) and returns whether the device is under load. */
  record(now: number): boolean {
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.count = 0;
    }
    this.count++;
    if (this.count > this.threshold) this.underLoadUntil = now + 1000;
    return now < this.underLoadUntil;
  }

  /** True while under load. */
  isUnderLoad(now: number): boolean {
    return now < this.underLoadUntil;
  }
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Token bucket per source: IPv4 address, or IPv6 /64 (one subscriber's prefix). */
export class SourceRateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep = 0;

  /**
   * @param ratePerSecond handshakes per second one source may send once its burst is spent
   * @param burst handshakes one source may send at once
   * @param maxSources sources tracked at once; beyond that, new sources are limited until old ones expire
   */
  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly maxSources = 65536,
  ) {}

  /** Takes one token for `address` at `now` (ms); false when the source is over its rate. */
  allow(address: string, now: number): boolean {
    if (now - this.lastSweep >= 1000) this.sweep(now);
    const key = sourceKey(address);
    let bucket = this.buckets.get(key);
    if (!bucket) {
      if (this.buckets.size >= this.maxSources) return false;
      bucket = { tokens: this.burst, updatedAt: now };
      this.buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.updatedAt) * this.ratePerSecond) / 1000);
      bucket.updatedAt = now;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** Sources currently tracked. */
  get size(): number {
    return this.buckets.size;
  }

  private sweep(now: number): void {
    this.lastSweep = now;
    // A bucket idle long enough to have refilled completely carries no state worth keeping.
    const idle = (this.burst * 1000) / this.ratePerSecond;
    for (const [key, bucket] of this.buckets) if (now - bucket.updatedAt >= idle) this.buckets.delete(key);
  }
}

/** The source a datagram counts against: an IPv4 address (also IPv4-mapped), or an IPv6 /64. */
export function sourceKey(address: string): string {
  if (!isIPv6(address)) return address;
  const bytes = parseIpAddress(address);
  if (!bytes) return address;
  // IPv4-mapped addresses (dual-stack sockets) are one IPv4 source each, not one /64.
  if (bytes.readUInt32BE(0) === 0 && bytes.readUInt32BE(4) === 0 && bytes.readUInt32BE(8) === 0xffff) return bytes.subarray(12).join('.');
  return bytes.subarray(0, 8).toString('hex');
}
