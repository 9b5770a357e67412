/**
 * Proportional-share lottery scheduling (Waldspurger & Weihl, 1994), for comparison with the
 * auction on the same workload: each round, k distinct winners are drawn with probability
 * proportional to their bids, and each pays its own bid. Bids below the reserve hold no
 * tickets that round.
 *
 * It keeps the same price buckets as the auction (buckets.ts) and draws in two steps: a bucket
 * with probability proportional to its weight, (untaken members) × (its lower bound), through a
 * Fenwick tree over the 4,096 buckets; then a member of that bucket uniformly. Members of one
 * bucket are within 1% of each other, so each bid's chance is proportional to its price up to
 * that 1%. Two consequences of drawing over buckets rather than bids:
 *  - the reserve cuts the draw: only buckets from the reserve's own upwards are drawn from (the
 *    prefix sum below is skipped), so tickets below the reserve cost nothing, except in the
 *    reserve's own bucket, whose members below it are set aside for the round when drawn;
 *  - the tree is rebuilt from the bucket counts (O(4,096), a few microseconds) at the start of
 *    a round after any bid changed, so the sums never drift: adding and subtracting weights 17
 *    decades apart in place would lose small bids to cancellation.
 * A bid change is O(1) (the bucket list); a draw is O(log 4,096).
 *
 * Invariants (isValid): the book's and the bucket index's; the tree, when clean, sums the
 * buckets' weights.
 */
import { BidBook, type Award, type Clearing, type MarketInit } from './book.js';
import { R_SLOT, REC } from './buckets.js';
import { BUCKETS, bucketOf, lowerBound, PRICE_MAX, PRICE_MIN } from './prices.js';
import type { Random } from './random.js';

const TOP_STEP = 2 ** Math.floor(Math.log2(BUCKETS));

export class Lottery extends BidBook {
  readonly kind = 'lottery' as const;
  /** Fenwick tree over bucket weights: tree[i] (1-based) sums buckets i − lowbit(i) .. i − 1. */
  private readonly tree = new Float64Array(BUCKETS + 1);
  private dirty = true;
  /** Per bucket, winners drawn from it this round (they sit at the front of its list). */
  private readonly taken = new Int32Array(BUCKETS);

  constructor(init: Partial<MarketInit> = {}) {
    super(init);
  }

  protected override changed(): void {
    this.dirty = true;
  }

  /** Linear-time Fenwick construction from the buckets' weights, this round's draws left out. */
  private rebuild(): void {
    const t = this.tree;
    t.fill(0);
    for (let i = 1; i <= BUCKETS; i++) {
      t[i]! += (this.index.count[i - 1]! - this.taken[i - 1]!) * lowerBound(i - 1);
      const parent = i + (i & -i);
      if (parent <= BUCKETS) t[parent]! += t[i]!;
    }
    this.dirty = false;
  }

  private add(b: number, delta: number): void {
    for (let i = b + 1; i <= BUCKETS; i += i & -i) this.tree[i]! += delta;
  }

  private prefix(b: number): number {
    let sum = 0;
    for (let i = b; i > 0; i -= i & -i) sum += this.tree[i]!;
    return sum;
  }

  /** The bucket where the running sum first exceeds `target` (Fenwick descent). */
  private find(target: number): number {
    let pos = 0;
    for (let step = TOP_STEP; step > 0; step >>= 1) {
      const next = pos + step;
      if (next <= BUCKETS && this.tree[next]! <= target) {
        pos = next;
        target -= this.tree[next]!;
      }
    }
    return pos;
  }

  clear(slots: number, reserveTokensPerJ: number, nowMs: number, random: Random): Clearing {
    this.checkClearArgs(slots, reserveTokensPerJ, nowMs);
    if (this.dirty) this.rebuild();
    // Draw from the bucket holding the reserve upwards; in that one bucket, members below the
    // reserve are set aside for the round when drawn, so eligibility is exact.
    const floor = reserveTokensPerJ <= PRICE_MIN ? 0 : reserveTokensPerJ >= PRICE_MAX ? BUCKETS : bucketOf(reserveTokensPerJ);
    const awards: Award[] = [];
    const touched: number[] = [];
    let expired = 0;
    let below = floor >= BUCKETS ? 0 : this.prefix(floor);
    const startTotal = this.prefix(BUCKETS);
    // Every draw wins, sets a bid aside or drops an expired one, and each takes weight out of
    // the tree; a miss on an exhausted bucket (float dust after subtractions) is the only draw
    // that takes none, and misses are bounded.
    for (let misses = 0; awards.length < slots && floor < BUCKETS && misses < 64;) {
      const eligible = this.prefix(BUCKETS) - below;
      if (!(eligible > 0)) break;
      const b = this.find(below + random() * eligible);
      const n = b < BUCKETS ? this.index.count[b]! : 0;
      const taken = b < BUCKETS ? this.taken[b]! : 0;
      if (b < floor || taken >= n) {
        misses++;
        continue;
      }
      // This round's draws from bucket b sit at the front of its records (swapped there).
      const j = taken + Math.floor(random() * (n - taken));
      const slot = this.index.records[b]![j * REC + R_SLOT]!;
      this.add(b, -lowerBound(b));
      // Taking a bid out of sums that span 17 decades can cancel the small ones away: when the
      // sum falls by nine orders of magnitude within a round, rebuild it exactly.
      if (this.prefix(BUCKETS) < 1e-9 * startTotal) {
        this.taken[b] = taken + 1; // counted as drawn for the rebuild, corrected below if not
        this.rebuild();
        this.taken[b] = taken;
        below = floor >= BUCKETS ? 0 : this.prefix(floor);
      }
      if (this.expired(slot, nowMs)) {
        this.drop(slot); // behind this round's winners in its bucket: swap-and-pop keeps them
        this.dirty = true;
        expired++;
        continue;
      }
      this.index.swap(b, taken, j);
      if (taken === 0) touched.push(b);
      this.taken[b] = taken + 1;
      const bid = this.price[slot]!;
      if (bid < reserveTokensPerJ) continue; // set aside: only in the reserve's own bucket
      awards.push({ pid: this.pid[slot]!, bidTokensPerJ: bid, priceTokensPerJ: bid });
    }
    // The next round rebuilds the tree (exactly, from the bucket counts) rather than adding
    // the drawn tickets back, which would cancel small weights against large ones.
    for (const b of touched) this.taken[b] = 0;
    if (touched.length > 0 || expired > 0) this.dirty = true;
    return { mechanism: 'lottery', slots, awards, priceTokensPerJ: reserveTokensPerJ, reserveTokensPerJ, expired };
  }

  override isValid(): boolean {
    if (!super.isValid()) return false;
    if (this.taken.some((t) => t !== 0)) return false;
    if (this.dirty) return true;
    for (let i = 1; i <= BUCKETS; i++) {
      let sum = 0;
      for (let b = i - (i & -i); b < i; b++) sum += this.index.count[b]! * lowerBound(b);
      if (Math.abs(this.tree[i]! - sum) > 1e-9 * Math.max(1e-6, sum)) return false;
    }
    return true;
  }
}
