/**
 * Token buckets, one per member, in two flat arrays (a cluster of 10⁴ members costs 160 kB per
 * bucket kind, and no object per member). After Firecracker's rate limiter: a reduction is an
 * outcome, not an error; the bucket starts full; refill is continuous and never exceeds the
 * capacity, so no token is ever created by rounding or by a long silence.
 */
import { assert } from '../assert.js';

export const BucketReduction = {
  SUCCESS: 0,
  FAILURE: 1,
} as const;
export type BucketReduction = (typeof BucketReduction)[keyof typeof BucketReduction];

export class TokenBuckets {
  private readonly tokens: Float64Array;
  private readonly lastMs: Float64Array;
  private readonly perMs: number;

  /** `capacity` tokens at most; `ratePerS` tokens a second refilled. */
  constructor(
    count: number,
    readonly capacity: number,
    ratePerS: number,
  ) {
    assert(capacity >= 1 && Number.isFinite(capacity), 'a bucket holds at least one token');
    assert(ratePerS > 0 && Number.isFinite(ratePerS), 'a bucket refills');
    this.perMs = ratePerS / 1000;
    this.tokens = new Float64Array(count).fill(capacity);
    this.lastMs = new Float64Array(count).fill(Number.NEGATIVE_INFINITY);
  }

  private refill(i: number, nowMs: number): number {
    const last = this.lastMs[i]!;
    let t = this.tokens[i]!;
    if (nowMs > last) {
      t = last === Number.NEGATIVE_INFINITY ? this.capacity : Math.min(this.capacity, t + (nowMs - last) * this.perMs);
      this.tokens[i] = t;
      this.lastMs[i] = nowMs;
    }
    return t;
  }

  /** Whether `n` tokens are there, without taking them. */
  has(i: number, nowMs: number, n = 1): boolean {
    return this.refill(i, nowMs) >= n;
  }

  reduce(i: number, nowMs: number, n = 1): BucketReduction {
    const t = this.refill(i, nowMs);
    if (t < n) return BucketReduction.FAILURE;
    this.tokens[i] = t - n;
    return BucketReduction.SUCCESS;
  }

  /** The invariant, for tests: every bucket holds between 0 and its capacity. */
  isValid(): boolean {
    for (const t of this.tokens) if (!(t >= 0 && t <= this.capacity)) return false;
    return true;
  }
}
