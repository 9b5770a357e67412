/**
 * The price buckets with their bitmap: the index both mechanisms keep over the book's bids.
 *
 *  - every standing bid sits in the bucket of its price (prices.ts: 4,096 log-spaced buckets,
 *    1% wide); a bucket is a dense array of bid slots, and each bid knows its position in it,
 *    so insert and remove are O(1) (push; swap with the last and pop);
 *  - a three-level bitmap says which buckets are non-empty: bit b of LEVEL0 (128 words) is set
 *    iff bucket b has a bid; bit w of LEVEL1 (4 words) iff LEVEL0[w] ≠ 0; bit v of LEVEL2 (one
 *    word) iff LEVEL1[v] ≠ 0. The highest non-empty bucket is three Math.clz32 calls away, and
 *    so is the highest non-empty bucket below any bucket (Linux's O(1) scheduler finds its
 *    highest-priority runnable task the same way, among 140 priorities).
 *
 * Invariants (isValid): each indexed slot is in the bucket of its price, at the position it
 * records; the bitmaps mark exactly the non-empty buckets.
 */
import { assert } from '../assert.js';
import { BUCKETS, bucketOf } from './prices.js';

const WORDS0 = BUCKETS >>> 5; // 128
const WORDS1 = WORDS0 >>> 5; // 4
assert(WORDS1 >= 1 && WORDS1 <= 32, 'three bitmap levels cover the buckets');

/** Highest set bit of a non-zero word. */
const top = (w: number) => 31 - Math.clz32(w);
/** Bits strictly below `bit` (bit in [0, 31]). */
const below = (bit: number) => (bit === 0 ? 0 : (0xffffffff >>> (32 - bit)));

export class BucketIndex {
  readonly bucket: Int32Array;
  readonly position: Int32Array;
  readonly members: number[][] = Array.from({ length: BUCKETS }, () => []);
  private readonly level0 = new Uint32Array(WORDS0);
  private readonly level1 = new Uint32Array(WORDS1);
  private level2 = 0;

  constructor(capacity: number) {
    this.bucket = new Int32Array(capacity);
    this.position = new Int32Array(capacity);
  }

  insert(slot: number, price: number): number {
    const b = bucketOf(price);
    const list = this.members[b]!;
    this.bucket[slot] = b;
    this.position[slot] = list.length;
    list.push(slot);
    if (list.length === 1) this.mark(b);
    return b;
  }

  remove(slot: number): number {
    const b = this.bucket[slot]!;
    const list = this.members[b]!;
    const last = list.pop()!;
    if (last !== slot) {
      const at = this.position[slot]!;
      list[at] = last;
      this.position[last] = at;
    }
    if (list.length === 0) this.unmark(b);
    return b;
  }

  /** Swaps two members of one bucket's list, keeping their recorded positions right. */
  swap(list: number[], i: number, j: number): void {
    if (i === j) return;
    const a = list[i]!;
    const c = list[j]!;
    list[i] = c;
    list[j] = a;
    this.position[c] = i;
    this.position[a] = j;
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

  /** The index's invariants, given which slots are live and their prices. */
  isValid(isLive: (slot: number) => boolean, priceOf: (slot: number) => number, liveCount: number): boolean {
    let indexed = 0;
    for (let b = 0; b < BUCKETS; b++) {
      const list = this.members[b]!;
      const marked = (this.level0[b >>> 5]! & (1 << (b & 31))) !== 0;
      if (marked !== list.length > 0) return false;
      for (let i = 0; i < list.length; i++) {
        const s = list[i]!;
        if (!isLive(s) || this.bucket[s] !== b || this.position[s] !== i || bucketOf(priceOf(s)) !== b) return false;
      }
      indexed += list.length;
    }
    if (indexed !== liveCount) return false;
    for (let w = 0; w < WORDS0; w++) if (((this.level1[w >>> 5]! >>> (w & 31)) & 1) !== (this.level0[w] !== 0 ? 1 : 0)) return false;
    for (let v = 0; v < WORDS1; v++) if (((this.level2 >>> v) & 1) !== (this.level1[v] !== 0 ? 1 : 0)) return false;
    return true;
  }
}
