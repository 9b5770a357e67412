/**
 * Proportional-share lottery scheduling (Waldspurger & Weihl, 1994), for comparison with the
 * auction on the same workload: each round, k distinct winners are drawn with probability
 * proportional to their bids, and each pays its own bid (at least the reserve). Bids below the
 * reserve hold no tickets this round.
 *
 * The draw uses a Fenwick (binary indexed) tree of bid weights over the book's slots: an update
 * and a draw are O(log n). Drawing without replacement takes each winner's weight out of the
 * tree for the rest of the round and puts it back after. Floating-point sums drift as weights
 * come and go, so the tree is rebuilt from the weights (O(n)) after every `maxBids` updates:
 * amortised O(1) per update.
 *
 * Invariants (isValid): every node of the tree equals the sum of the weights it covers
 * (within float tolerance), and a slot's weight is its bid's price, or 0 if free.
 */
import { BidBook, type Award, type Clearing, type MarketInit } from './book.js';
import type { Random } from './random.js';

export class Lottery extends BidBook {
  readonly kind = 'lottery' as const;
  /** tree[i] (1-based) = sum of weight[i - lowbit(i) .. i - 1]. */
  private readonly tree: Float64Array;
  private readonly weight: Float64Array;
  private readonly topBit: number;
  private updates = 0;

  constructor(init: Partial<MarketInit> = {}) {
    super(init);
    this.tree = new Float64Array(this.init.maxBids + 1);
    this.weight = new Float64Array(this.init.maxBids);
    this.topBit = 2 ** Math.floor(Math.log2(this.init.maxBids));
  }

  protected indexInsert(slot: number): void {
    this.add(slot, this.price[slot]!);
  }

  protected indexRemove(slot: number): void {
    this.add(slot, -this.weight[slot]!);
  }

  private add(slot: number, delta: number): void {
    this.weight[slot]! += delta;
    for (let i = slot + 1; i <= this.init.maxBids; i += i & -i) this.tree[i]! += delta;
    if (++this.updates >= this.init.maxBids) this.rebuild();
  }

  private rebuild(): void {
    this.updates = 0;
    const n = this.init.maxBids;
    this.tree.fill(0);
    for (let i = 1; i <= n; i++) {
      this.tree[i]! += this.weight[i - 1]!;
      const parent = i + (i & -i);
      if (parent <= n) this.tree[parent]! += this.tree[i]!;
    }
  }

  private total(): number {
    let sum = 0;
    for (let i = this.init.maxBids; i > 0; i -= i & -i) sum += this.tree[i]!;
    return sum;
  }

  /** The slot where the running sum of weights first exceeds `target` (Fenwick descent). */
  private find(target: number): number {
    let pos = 0;
    for (let step = this.topBit; step > 0; step >>= 1) {
      const next = pos + step;
      if (next <= this.init.maxBids && this.tree[next]! <= target) {
        pos = next;
        target -= this.tree[next]!;
      }
    }
    return Math.min(pos, this.init.maxBids - 1);
  }

  clear(slots: number, reserveTokensPerJ: number, nowMs: number, random: Random): Clearing {
    this.checkClearArgs(slots, reserveTokensPerJ, nowMs);
    const awards: Award[] = [];
    const out: Array<[number, number]> = []; // weights taken out for this round
    let expired = 0;
    // Each draw either wins, drops an expired bid, or sets aside one below the reserve, so
    // the loop ends; the attempt bound guards against float dust left in the tree.
    for (let attempts = 0; awards.length < slots && attempts < 4 * slots + 64; attempts++) {
      const total = this.total();
      if (!(total > 0)) break;
      const slot = this.find(random() * total);
      const w = this.weight[slot]!;
      if (this.pid[slot] === -1 || w <= 0) continue; // float dust at a free slot
      if (this.expired(slot, nowMs)) {
        this.drop(slot);
        expired++;
        continue;
      }
      this.add(slot, -w);
      out.push([slot, w]);
      const bid = this.price[slot]!;
      if (bid < reserveTokensPerJ) continue;
      awards.push({ pid: this.pid[slot]!, bidTokensPerJ: bid, priceTokensPerJ: Math.max(bid, reserveTokensPerJ) });
    }
    for (const [slot, w] of out) this.add(slot, w);
    return { mechanism: 'lottery', slots, awards, priceTokensPerJ: reserveTokensPerJ, reserveTokensPerJ, expired };
  }

  override isValid(): boolean {
    if (!super.isValid()) return false;
    const n = this.init.maxBids;
    for (let s = 0; s < n; s++) {
      const expected = this.pid[s] === -1 ? 0 : this.price[s]!;
      if (Math.abs(this.weight[s]! - expected) > 1e-9 * Math.max(1, expected)) return false;
    }
    for (let i = 1; i <= n; i++) {
      let sum = 0;
      for (let j = i - (i & -i); j < i; j++) sum += this.weight[j]!;
      if (Math.abs(this.tree[i]! - sum) > 1e-9 * Math.max(1, Math.abs(sum))) return false;
    }
    return true;
  }
}
