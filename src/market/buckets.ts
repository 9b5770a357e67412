/**
 * The price buckets with their bitmap: the index both mechanisms keep over the book's bids.
 *
 *  - every standing bid sits in the bucket of its price (prices.ts: 4,096 log-spaced buckets,
 *    1% wide). A bucket is a dense array of records, and each record carries what a clearing
 *    reads: (slot, pid, price, refreshedAtMs), 32 bytes side by side. A winner drawn at random
 *    from a bucket of a million bids is then one cache miss, not one per field: with 10% of
 *    the bids changing every round, the working set is never in cache, and separate arrays
 *    per field made a decision cost ~800 ns at 10⁶ bids instead of ~25 ns in cache;
 *  - each bid's slot knows (bucket, position) of its record, so insert and remove are O(1)
 *    (append; move the last record into the hole);
 *  - a three-level bitmap says which buckets are non-empty: bit b of LEVEL0 (128 words) is set
 *    iff bucket b has a bid; bit w of LEVEL1 (4 words) iff LEVEL0[w] ≠ 0; bit v of LEVEL2 (one
 *    word) iff LEVEL1[v] ≠ 0. The highest non-empty bucket is three Math.clz32 calls away, and
 *    so is the highest non-empty bucket below any bucket (Linux's O(1) scheduler finds its
 *    highest-priority runnable task the same way, among 140 priorities).
 *
 * Invariants (isValid): each indexed slot's record is in the bucket of its price, at the
 * position it records, and agrees with the book; the bitmaps mark exactly the non-empty buckets.
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

/** Record layout: four doubles per bid. */
export const REC = 4;
export const R_SLOT = 0;
export const R_PID = 1;
export const R_PRICE = 2;
export const R_REFRESHED = 3;
const INITIAL_RECORDS = 4;

export class BucketIndex {
  /** Per bucket, its records (REC doubles each); only the first `count[b]` are live. */
  readonly records: Float64Array[] = Array.from({ length: BUCKETS }, () => new Float64Array(INITIAL_RECORDS * REC));
  readonly count = new Int32Array(BUCKETS);
  /** Per slot: [bucket, position] of its record. */
  private readonly where: Int32Array;
  private readonly level0 = new Uint32Array(WORDS0);
  private readonly level1 = new Uint32Array(WORDS1);
  private level2 = 0;

  constructor(capacity: number) {
    this.where = new Int32Array(capacity * 2);
  }

  bucketOfSlot(slot: number): number {
    return this.where[slot * 2]!;
  }

  insert(slot: number, pid: number, price: number, refreshedAtMs: number): number {
    const b = bucketOf(price);
    const n = this.count[b]!;
    let recs = this.records[b]!;
    if ((n + 1) * REC > recs.length) {
      const grown = new Float64Array(recs.length * 2);
      grown.set(recs);
      this.records[b] = recs = grown;
    }
    const at = n * REC;
    recs[at + R_SLOT] = slot;
    recs[at + R_PID] = pid;
    recs[at + R_PRICE] = price;
    recs[at + R_REFRESHED] = refreshedAtMs;
    this.count[b] = n + 1;
    this.where[slot * 2] = b;
    this.where[slot * 2 + 1] = n;
    if (n === 0) this.mark(b);
    return b;
  }

  remove(slot: number): number {
    const b = this.where[slot * 2]!;
    const pos = this.where[slot * 2 + 1]!;
    const recs = this.records[b]!;
    const last = this.count[b]! - 1;
    if (pos !== last) {
      const to = pos * REC;
      const from = last * REC;
      const moved = recs[from + R_SLOT]!;
      recs[to + R_SLOT] = moved;
      recs[to + R_PID] = recs[from + R_PID]!;
      recs[to + R_PRICE] = recs[from + R_PRICE]!;
      recs[to + R_REFRESHED] = recs[from + R_REFRESHED]!;
      this.where[moved * 2 + 1] = pos;
    }
    this.count[b] = last;
    if (last === 0) this.unmark(b);
    return b;
  }

  touch(slot: number, refreshedAtMs: number): void {
    this.records[this.where[slot * 2]!]![this.where[slot * 2 + 1]! * REC + R_REFRESHED] = refreshedAtMs;
  }

  /** Swaps two records of one bucket, keeping their slots' positions right. */
  swap(b: number, i: number, j: number): void {
    if (i === j) return;
    const recs = this.records[b]!;
    for (let f = 0; f < REC; f++) {
      const t = recs[i * REC + f]!;
      recs[i * REC + f] = recs[j * REC + f]!;
      recs[j * REC + f] = t;
    }
    this.where[recs[i * REC + R_SLOT]! * 2 + 1] = i;
    this.where[recs[j * REC + R_SLOT]! * 2 + 1] = j;
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

  /** The index's invariants, given the book's view of each live slot. */
  isValid(book: { isLive(slot: number): boolean; pidOf(slot: number): number; priceOf(slot: number): number; refreshedOf(slot: number): number }, liveCount: number): boolean {
    let indexed = 0;
    for (let b = 0; b < BUCKETS; b++) {
      const n = this.count[b]!;
      const recs = this.records[b]!;
      const marked = (this.level0[b >>> 5]! & (1 << (b & 31))) !== 0;
      if (marked !== n > 0) return false;
      for (let i = 0; i < n; i++) {
        const s = recs[i * REC + R_SLOT]!;
        if (!book.isLive(s) || this.where[s * 2] !== b || this.where[s * 2 + 1] !== i) return false;
        if (recs[i * REC + R_PID] !== book.pidOf(s) || recs[i * REC + R_PRICE] !== book.priceOf(s)) return false;
        if (recs[i * REC + R_REFRESHED] !== book.refreshedOf(s) || bucketOf(book.priceOf(s)) !== b) return false;
      }
      indexed += n;
    }
    if (indexed !== liveCount) return false;
    for (let w = 0; w < WORDS0; w++) if (((this.level1[w >>> 5]! >>> (w & 31)) & 1) !== (this.level0[w] !== 0 ? 1 : 0)) return false;
    for (let v = 0; v < WORDS1; v++) if (((this.level2 >>> v) & 1) !== (this.level1[v] !== 0 ? 1 : 0)) return false;
    return true;
  }
}
