/**
 * The probabilistic auction heap: sells k slots a round in O(k), whatever the number of bids.
 *
 * Bids are indexed by price bucket with a three-level bitmap over the buckets (buckets.ts;
 * docs/market.md draws it), so the best bids are a few Math.clz32 calls away.
 *
 * Clearing a round of k slots walks buckets from the top. Within a bucket, winners are drawn
 * uniformly at random without replacement (a partial Fisher–Yates shuffle in place), so equal
 * bids (equal up to the 1% resolution) share slots fairly over time. The price is uniform:
 * max(reserve, the (k+1)-th highest bid), where the (k+1)-th bid is represented by its bucket's
 * lower bound, which is ≤ every winner's bid and within 1% of every loser's. With one slot
 * wanted per bidder this is the (k+1)-price auction: bidding one's true value is a dominant
 * strategy, up to the 1% resolution.
 *
 * Invariants (isValid): the book's (book.ts) and the index's (buckets.ts).
 */
import { BidBook, type Award, type Clearing, type MarketInit } from './book.js';
import { R_PID, R_PRICE, R_REFRESHED, R_SLOT, REC } from './buckets.js';
import { bucketOf, firstBucketAtLeast, lowerBound } from './prices.js';
import type { Random } from './random.js';

export class AuctionHeap extends BidBook {
  readonly kind = 'auction' as const;
  /** Slots drawn this round (reused across rounds: clearing allocates only the awards). */
  private picked = new Float64Array(64);

  constructor(init: Partial<MarketInit> = {}) {
    super(init);
  }

  /** The highest non-empty bucket, or -1. */
  highest(): number {
    return this.index.highest();
  }

  /** The highest non-empty bucket strictly below `b`, or -1. */
  highestBelow(b: number): number {
    return this.index.highestBelow(b);
  }

  /**
   * Draws a record of bucket b uniformly among those not yet picked this round (picked[from..to)
   * holds this bucket's picks). Rejection while at most half are picked (expected < 2 draws, and
   * no writes: a swap would touch two more cache lines); a scan of the few left otherwise.
   * Returns the record's index, or -1 if every record is picked.
   */
  private draw(b: number, from: number, to: number, random: Random): number {
    const n = this.index.count[b]!;
    const taken = to - from;
    if (taken >= n) return -1;
    const recs = this.index.records[b]!;
    if (taken * 2 <= n) {
      for (;;) {
        const j = Math.floor(random() * n);
        if (!this.isPicked(recs[j * REC + R_SLOT]!, from, to)) return j;
      }
    }
    let r = Math.floor(random() * (n - taken));
    for (let j = 0; j < n; j++) {
      if (this.isPicked(recs[j * REC + R_SLOT]!, from, to)) continue;
      if (r-- === 0) return j;
    }
    return -1;
  }

  /**
   * Awards from the reserve's bucket: up to `want` − 1 bids at or above the reserve, uniformly
   * (a scan of the bucket, once per clearing and only when the bids above did not fill the
   * slots), dropping expired ones; `overflow` if a further eligible bid was left (it sets the
   * price). O(bucket size).
   */
  private fromReserveBucket(b: number, want: number, reserve: number, nowMs: number, random: Random, awards: Award[]): { expired: number; overflow: boolean } {
    const recs = this.index.records[b]!;
    const eligible: number[] = [];
    const stale: number[] = [];
    for (let j = 0; j < this.index.count[b]!; j++) {
      if (recs[j * REC + R_PRICE]! < reserve) continue;
      if (nowMs - recs[j * REC + R_REFRESHED]! > this.init.bidTtlMs) stale.push(recs[j * REC + R_SLOT]!);
      else eligible.push(j);
    }
    // Partial Fisher–Yates over the eligible records: `want` − 1 winners, uniform.
    const take = Math.min(want - 1, eligible.length);
    for (let i = 0; i < take; i++) {
      const k = i + Math.floor(random() * (eligible.length - i));
      const t = eligible[i]!;
      eligible[i] = eligible[k]!;
      eligible[k] = t;
      const at = eligible[i]! * REC;
      awards.push({ pid: recs[at + R_PID]!, bidTokensPerJ: recs[at + R_PRICE]!, priceTokensPerJ: 0 });
    }
    for (const slot of stale) this.drop(slot);
    return { expired: stale.length, overflow: eligible.length > take };
  }

  private isPicked(slot: number, from: number, to: number): boolean {
    for (let i = from; i < to; i++) if (this.picked[i] === slot) return true;
    return false;
  }

  /**
   * Sells up to `slots` slots to the highest bids at or above the reserve, one per bidder, at
   * one uniform price. Expired bids met on the way are dropped (each at most once: amortised
   * O(1)). O(slots) otherwise, independent of the number of bids.
   */
  clear(slots: number, reserveTokensPerJ: number, nowMs: number, random: Random): Clearing {
    this.checkClearArgs(slots, reserveTokensPerJ, nowMs);
    if (this.picked.length < slots) this.picked = new Float64Array(slots);
    const awards: Award[] = [];
    const floor = firstBucketAtLeast(reserveTokensPerJ);
    const ttl = this.init.bidTtlMs;
    let expired = 0;
    let b = this.index.highest();
    // picked[from..awards.length) are the winners drawn from bucket b.
    let from = 0;
    // Winners, then one more bid for the price: the (k+1)-th highest live bid, if any clears
    // the reserve.
    let priceBucket = -1;
    while (b >= floor) {
      const j = this.draw(b, from, awards.length, random);
      if (j < 0) {
        b = this.index.highestBelow(b);
        from = awards.length;
        continue;
      }
      const recs = this.index.records[b]!;
      const at = j * REC;
      const slot = recs[at + R_SLOT]!;
      if (nowMs - recs[at + R_REFRESHED]! > ttl) {
        this.drop(slot); // moves the bucket's last record into its place; picks are kept by slot
        expired++;
        continue;
      }
      if (awards.length === slots) {
        priceBucket = b;
        break;
      }
      this.picked[awards.length] = slot;
      awards.push({ pid: recs[at + R_PID]!, bidTokensPerJ: recs[at + R_PRICE]!, priceTokensPerJ: 0 });
    }
    // The reserve's own bucket straddles the reserve: the bids in it at or above the reserve
    // clear too (a bid equal to the reserve must win a free slot), drawn uniformly among them;
    // if more of them remain than slots, the price is the reserve itself.
    if (priceBucket < 0 && floor > 0 && reserveTokensPerJ > 0) {
      const rb = floor - 1;
      if (rb === bucketOf(reserveTokensPerJ) && this.index.count[rb]! > 0) {
        const more = this.fromReserveBucket(rb, slots - awards.length + 1, reserveTokensPerJ, nowMs, random, awards);
        expired += more.expired;
        if (more.overflow) priceBucket = rb;
      }
    }
    const priceTokensPerJ = priceBucket >= 0 ? Math.max(reserveTokensPerJ, lowerBound(priceBucket)) : reserveTokensPerJ;
    for (const a of awards) a.priceTokensPerJ = priceTokensPerJ;
    return { mechanism: 'auction', slots, awards, priceTokensPerJ, reserveTokensPerJ, expired };
  }
}
