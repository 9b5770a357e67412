/**
 * The probabilistic auction heap: sells k slots a round in O(k), whatever the number of bids.
 *
 * Layout (docs/market.md draws it):
 *  - every standing bid sits in the bucket of its price (prices.ts: 4,096 log-spaced buckets,
 *    1% wide); a bucket is a dense array of bid slots, and each bid knows its position in it,
 *    so insert and remove are O(1) (push; swap with the last and pop);
 *  - a three-level bitmap says which buckets are non-empty: bit b of LEVEL0 (128 words) is set
 *    iff bucket b has a bid; bit w of LEVEL1 (4 words) iff LEVEL0[w] ≠ 0; bit v of LEVEL2 (one
 *    word) iff LEVEL1[v] ≠ 0. The highest non-empty bucket is three Math.clz32 calls away, and
 *    so is the highest non-empty bucket below any bucket (Linux's O(1) scheduler finds its
 *    highest-priority runnable task the same way, among 140 priorities).
 *
 * Clearing a round of k slots walks buckets from the top. Within a bucket, winners are drawn
 * uniformly at random without replacement (a partial Fisher–Yates shuffle in place), so equal
 * bids (equal up to the 1% resolution) share slots fairly over time. The price is uniform:
 * max(reserve, the (k+1)-th highest bid), where the (k+1)-th bid is represented by its bucket's
 * lower bound, which is ≤ every winner's bid and within 1% of every loser's. With one slot
 * wanted per bidder this is the (k+1)-price auction: bidding one's true value is a dominant
 * strategy, up to the 1% resolution.
 *
 * Invariants (isValid): each live bid is in the bucket of its price, at the position it
 * records; the bitmaps mark exactly the non-empty buckets; plus the book's (book.ts).
 */
import { assert } from '../assert.js';
import { BidBook, type Award, type Clearing, type MarketInit } from './book.js';
import { BUCKETS, bucketOf, firstBucketAtLeast, lowerBound } from './prices.js';
import type { Random } from './random.js';

const WORDS0 = BUCKETS >>> 5; // 128
const WORDS1 = WORDS0 >>> 5; // 4
assert(WORDS1 >= 1 && WORDS1 <= 32, 'three bitmap levels cover the buckets');

/** Highest set bit of a non-zero word. */
const top = (w: number) => 31 - Math.clz32(w);
/** Bits strictly below `bit` (bit in [0, 31]). */
const below = (bit: number) => (bit === 0 ? 0 : (0xffffffff >>> (32 - bit)));

export class AuctionHeap extends BidBook {
  readonly kind = 'auction' as const;
  private readonly bucket: Int32Array;
  private readonly position: Int32Array;
  private readonly members: number[][] = Array.from({ length: BUCKETS }, () => []);
  private readonly level0 = new Uint32Array(WORDS0);
  private readonly level1 = new Uint32Array(WORDS1);
  private level2 = 0;

  constructor(init: Partial<MarketInit> = {}) {
    super(init);
    this.bucket = new Int32Array(this.init.maxBids);
    this.position = new Int32Array(this.init.maxBids);
  }

  protected indexInsert(slot: number): void {
    const b = bucketOf(this.price[slot]!);
    const list = this.members[b]!;
    this.bucket[slot] = b;
    this.position[slot] = list.length;
    list.push(slot);
    if (list.length === 1) this.mark(b);
  }

  protected indexRemove(slot: number): void {
    const b = this.bucket[slot]!;
    const list = this.members[b]!;
    const last = list.pop()!;
    if (last !== slot) {
      const at = this.position[slot]!;
      list[at] = last;
      this.position[last] = at;
    }
    if (list.length === 0) this.unmark(b);
  }

  private mark(b: number): void {
    const w = b >>> 5;
    this.level0[w]! |= 1 << (b & 31);
    this.level1[w >>> 5]! |= 1 << (w & 31);
    this.level2 |= 1 << (w >>> 5);
  }

  private unmark(b: number): void {
    const w = b >>> 5;
    if ((this.level0[w]! &= ~(1 << (b & 31))) !== 0) return;
    if ((this.level1[w >>> 5]! &= ~(1 << (w & 31))) !== 0) return;
    this.level2 &= ~(1 << (w >>> 5));
  }

  /** The highest non-empty bucket, or -1. */
  highest(): number {
    if (this.level2 === 0) return -1;
    const v = top(this.level2);
    const w = (v << 5) | top(this.level1[v]!);
    return (w << 5) | top(this.level0[w]!);
  }

  /** The highest non-empty bucket strictly below `b`, or -1. */
  highestBelow(b: number): number {
    const w = b >>> 5;
    const m0 = this.level0[w]! & below(b & 31);
    if (m0 !== 0) return (w << 5) | top(m0);
    const v = w >>> 5;
    const m1 = this.level1[v]! & below(w & 31);
    if (m1 !== 0) {
      const w1 = (v << 5) | top(m1);
      return (w1 << 5) | top(this.level0[w1]!);
    }
    const m2 = this.level2 & below(v);
    if (m2 === 0) return -1;
    const v2 = top(m2);
    const w2 = (v2 << 5) | top(this.level1[v2]!);
    return (w2 << 5) | top(this.level0[w2]!);
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
    let b = this.highest();
    // `taken` counts the winners drawn from bucket b; they sit at the front of its list.
    let taken = 0;
    while (b >= floor && awards.length < slots) {
      const list = this.members[b]!;
      if (taken === list.length) {
        b = this.highestBelow(b);
        taken = 0;
        continue;
      }
      const j = taken + Math.floor(random() * (list.length - taken));
      const slot = list[j]!;
      if (this.expired(slot, nowMs)) {
        // Dropping it may empty the bucket; keep b as the walk's position all the same.
        this.dropDuringClear(slot, b);
        expired++;
        continue;
      }
      this.swap(list, taken, j);
      taken++;
      awards.push({ pid: this.pid[slot]!, bidTokensPerJ: this.price[slot]!, priceTokensPerJ: 0 });
    }
    // The (k+1)-th highest live bid sets the price (if it clears the reserve at all).
    let priceBucket = -1;
    if (awards.length === slots) {
      while (b >= floor) {
        const list = this.members[b]!;
        if (taken < list.length) {
          const j = taken + Math.floor(random() * (list.length - taken));
          const slot = list[j]!;
          if (this.expired(slot, nowMs)) {
            this.dropDuringClear(slot, b);
            expired++;
            continue;
          }
          priceBucket = b;
          break;
        }
        b = this.highestBelow(b);
        taken = 0;
      }
    }
    const priceTokensPerJ = Math.max(reserveTokensPerJ, priceBucket >= 0 ? lowerBound(priceBucket) : 0);
    for (const a of awards) a.priceTokensPerJ = priceTokensPerJ;
    return { mechanism: 'auction', slots, awards, priceTokensPerJ, reserveTokensPerJ, expired };
  }

  /**
   * Drops a bid in the middle of a clearing. The winners drawn so far from bucket `b` sit at
   * the front of its list and the dropped bid is behind them, so swap-and-pop leaves them in
   * place.
   */
  private dropDuringClear(slot: number, b: number): void {
    assert(this.bucket[slot] === b, 'an expired bid found in bucket b lives in bucket b');
    this.drop(slot);
  }

  private swap(list: number[], i: number, j: number): void {
    if (i === j) return;
    const a = list[i]!;
    const c = list[j]!;
    list[i] = c;
    list[j] = a;
    this.position[c] = i;
    this.position[a] = j;
  }

  override isValid(): boolean {
    if (!super.isValid()) return false;
    let indexed = 0;
    for (let b = 0; b < BUCKETS; b++) {
      const list = this.members[b]!;
      const marked = (this.level0[b >>> 5]! & (1 << (b & 31))) !== 0;
      if (marked !== list.length > 0) return false;
      for (let i = 0; i < list.length; i++) {
        const s = list[i]!;
        if (this.pid[s] === -1 || this.bucket[s] !== b || this.position[s] !== i || bucketOf(this.price[s]!) !== b) return false;
      }
      indexed += list.length;
    }
    if (indexed !== this.size) return false;
    for (let w = 0; w < WORDS0; w++) if (((this.level1[w >>> 5]! >>> (w & 31)) & 1) !== (this.level0[w] !== 0 ? 1 : 0)) return false;
    for (let v = 0; v < WORDS1; v++) if (((this.level2 >>> v) & 1) !== (this.level1[v] !== 0 ? 1 : 0)) return false;
    return true;
  }
}
