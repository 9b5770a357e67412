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
import { BucketIndex } from './buckets.js';
import { firstBucketAtLeast, lowerBound } from './prices.js';
import type { Random } from './random.js';

export class AuctionHeap extends BidBook {
  readonly kind = 'auction' as const;
  private readonly index: BucketIndex;

  constructor(init: Partial<MarketInit> = {}) {
    super(init);
    this.index = new BucketIndex(this.init.maxBids);
  }

  protected indexInsert(slot: number): void {
    this.index.insert(slot, this.price[slot]!);
  }

  protected indexRemove(slot: number): void {
    this.index.remove(slot);
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
   * Sells up to `slots` slots to the highest bids at or above the reserve, one per bidder, at
   * one uniform price. Expired bids met on the way are dropped (each at most once: amortised
   * O(1)). O(slots) otherwise, independent of the number of bids.
   */
  clear(slots: number, reserveTokensPerJ: number, nowMs: number, random: Random): Clearing {
    this.checkClearArgs(slots, reserveTokensPerJ, nowMs);
    const awards: Award[] = [];
    const floor = firstBucketAtLeast(reserveTokensPerJ);
    let expired = 0;
    let b = this.index.highest();
    // `taken` counts the winners drawn from bucket b; they sit at the front of its list.
    let taken = 0;
    while (b >= floor && awards.length < slots) {
      const list = this.index.members[b]!;
      if (taken === list.length) {
        b = this.index.highestBelow(b);
        taken = 0;
        continue;
      }
      const j = taken + Math.floor(random() * (list.length - taken));
      const slot = list[j]!;
      if (this.expired(slot, nowMs)) {
        // Dropping it may empty the bucket; keep b as the walk's position all the same.
        this.drop(slot); // behind the winners drawn so far, so swap-and-pop leaves them in place
        expired++;
        continue;
      }
      this.index.swap(list, taken, j);
      taken++;
      awards.push({ pid: this.pid[slot]!, bidTokensPerJ: this.price[slot]!, priceTokensPerJ: 0 });
    }
    // The (k+1)-th highest live bid sets the price (if it clears the reserve at all).
    let priceBucket = -1;
    if (awards.length === slots) {
      while (b >= floor) {
        const list = this.index.members[b]!;
        if (taken < list.length) {
          const j = taken + Math.floor(random() * (list.length - taken));
          const slot = list[j]!;
          if (this.expired(slot, nowMs)) {
            this.drop(slot); // behind the winners drawn so far, so swap-and-pop leaves them in place
            expired++;
            continue;
          }
          priceBucket = b;
          break;
        }
        b = this.index.highestBelow(b);
        taken = 0;
      }
    }
    const priceTokensPerJ = Math.max(reserveTokensPerJ, priceBucket >= 0 ? lowerBound(priceBucket) : 0);
    for (const a of awards) a.priceTokensPerJ = priceTokensPerJ;
    return { mechanism: 'auction', slots, awards, priceTokensPerJ, reserveTokensPerJ, expired };
  }

  override isValid(): boolean {
    return super.isValid() && this.index.isValid((s) => this.pid[s] !== -1, (s) => this.price[s]!, this.size);
  }
}
