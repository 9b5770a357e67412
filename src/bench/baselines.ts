/**
 * Baselines for `maxwell bench market`: two exact ways of clearing a uniform-price round of k
 * slots, measured against the auction heap (src/market/auction.ts) on the same bids and the
 * same changes.
 *
 *  - HeapAuction: an indexed binary max-heap of bids. pid → slot is a Map and the heap array,
 *    prices and positions are typed arrays indexed by slot, as in the market's own book (so
 *    both sides pay the same pid lookup). An update sifts in O(log n); a round pops the top k
 *    (O(k log n)), reads the (k+1)-th at the root, and pushes the k winners back.
 *  - SortAuction: bids in a dense price array; a round copies the prices, sorts them (V8's
 *    native numeric sort of a Float64Array, no comparator: the fastest sort at hand) and reads
 *    the top k and the (k+1)-th, then one linear scan finds which bids they were. An update is
 *    a plain array write.
 *
 * Both are exact (no quantisation): winners are the k highest bids at or above the reserve,
 * one per bidder, and the price is max(reserve, the (k+1)-th highest bid) when k bids cleared
 * the reserve and a (k+1)-th bid at or above the reserve exists, else the reserve — the
 * auction's rule without its 1% buckets. Among equal bids the choice is arbitrary (not
 * randomised: these are cost baselines, not fair schedulers). Inputs are trusted (the
 * benchmark's own): no validation beyond assertions.
 */
import { assert } from '../assert.js';

export interface BaselineClearing {
  /** Winners written to the caller's `out` array, as pids. */
  count: number;
  priceTokensPerJ: number;
}

export interface BaselineMechanism {
  readonly size: number;
  setBid(pid: number, priceTokensPerJ: number): void;
  removeBid(pid: number): void;
  bidOf(pid: number): number | undefined;
  clear(slots: number, reserveTokensPerJ: number, out: Int32Array): BaselineClearing;
}

export class HeapAuction implements BaselineMechanism {
  private readonly slotOf = new Map<number, number>();
  private readonly pidOf: Int32Array;
  private readonly key: Float64Array;
  /** slot → index in `heap`. */
  private readonly pos: Int32Array;
  /** heap index → slot; a max-heap on key. */
  private readonly heap: Int32Array;
  private readonly free: Int32Array;
  private freeTop: number;
  private n = 0;
  private popped = new Int32Array(16);

  constructor(readonly maxBids: number) {
    assert(Number.isInteger(maxBids) && maxBids >= 1, 'maxBids >= 1');
    this.pidOf = new Int32Array(maxBids).fill(-1);
    this.key = new Float64Array(maxBids);
    this.pos = new Int32Array(maxBids);
    this.heap = new Int32Array(maxBids);
    this.free = new Int32Array(maxBids);
    for (let i = 0; i < maxBids; i++) this.free[i] = maxBids - 1 - i;
    this.freeTop = maxBids;
  }

  get size(): number {
    return this.n;
  }

  bidOf(pid: number): number | undefined {
    const s = this.slotOf.get(pid);
    return s === undefined ? undefined : this.key[s];
  }

  setBid(pid: number, priceTokensPerJ: number): void {
    const s = this.slotOf.get(pid);
    if (s === undefined) {
      assert(this.freeTop > 0, 'heap baseline has room');
      const slot = this.free[--this.freeTop]!;
      this.slotOf.set(pid, slot);
      this.pidOf[slot] = pid;
      this.key[slot] = priceTokensPerJ;
      this.push(slot);
      return;
    }
    const old = this.key[s]!;
    this.key[s] = priceTokensPerJ;
    if (priceTokensPerJ > old) this.siftUp(this.pos[s]!);
    else if (priceTokensPerJ < old) this.siftDown(this.pos[s]!);
  }

  removeBid(pid: number): void {
    const s = this.slotOf.get(pid);
    assert(s !== undefined, 'removing a known bid');
    const i = this.pos[s]!;
    const last = this.heap[--this.n]!;
    if (last !== s) {
      this.heap[i] = last;
      this.pos[last] = i;
      this.siftUp(i);
      this.siftDown(this.pos[last]!);
    }
    this.slotOf.delete(pid);
    this.pidOf[s] = -1;
    this.free[this.freeTop++] = s;
  }

  clear(slots: number, reserveTokensPerJ: number, out: Int32Array): BaselineClearing {
    if (this.popped.length < slots) this.popped = new Int32Array(slots);
    const popped = this.popped;
    let count = 0;
    while (count < slots && this.n > 0 && this.key[this.heap[0]!]! >= reserveTokensPerJ) {
      const slot = this.pop();
      popped[count] = slot;
      out[count] = this.pidOf[slot]!;
      count++;
    }
    // The (k+1)-th highest bid is now at the root: no need to pop it.
    let price = reserveTokensPerJ;
    if (count === slots && this.n > 0) {
      const next = this.key[this.heap[0]!]!;
      if (next >= reserveTokensPerJ) price = next;
    }
    for (let i = 0; i < count; i++) this.push(popped[i]!);
    return { count, priceTokensPerJ: price };
  }

  private push(slot: number): void {
    const i = this.n++;
    this.heap[i] = slot;
    this.pos[slot] = i;
    this.siftUp(i);
  }

  private pop(): number {
    const top = this.heap[0]!;
    const last = this.heap[--this.n]!;
    if (this.n > 0) {
      this.heap[0] = last;
      this.pos[last] = 0;
      this.siftDown(0);
    }
    return top;
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    const key = this.key;
    const pos = this.pos;
    const slot = heap[i]!;
    const k = key[slot]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const ps = heap[parent]!;
      if (key[ps]! >= k) break;
      heap[i] = ps;
      pos[ps] = i;
      i = parent;
    }
    heap[i] = slot;
    pos[slot] = i;
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const key = this.key;
    const pos = this.pos;
    const n = this.n;
    const slot = heap[i]!;
    const k = key[slot]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      let cs = heap[l]!;
      let ck = key[cs]!;
      if (r < n) {
        const rs = heap[r]!;
        const rk = key[rs]!;
        if (rk > ck) {
          c = r;
          cs = rs;
          ck = rk;
        }
      }
      if (ck <= k) break;
      heap[i] = cs;
      pos[cs] = i;
      i = c;
    }
    heap[i] = slot;
    pos[slot] = i;
  }

  /** The heap property and the index maps (for tests). */
  isValid(): boolean {
    if (this.slotOf.size !== this.n || this.n + this.freeTop !== this.maxBids) return false;
    for (let i = 0; i < this.n; i++) {
      const s = this.heap[i]!;
      if (this.pos[s] !== i || this.pidOf[s] === -1 || this.slotOf.get(this.pidOf[s]!) !== s) return false;
      if (i > 0 && this.key[this.heap[(i - 1) >> 1]!]! < this.key[s]!) return false;
    }
    return true;
  }
}

export class SortAuction implements BaselineMechanism {
  private readonly slotOf = new Map<number, number>();
  /** Live bids occupy slots [0, n): a removal moves the last bid into the hole. */
  private readonly pidOf: Int32Array;
  private readonly price: Float64Array;
  private readonly scratch: Float64Array;
  private n = 0;

  constructor(readonly maxBids: number) {
    assert(Number.isInteger(maxBids) && maxBids >= 1, 'maxBids >= 1');
    this.pidOf = new Int32Array(maxBids);
    this.price = new Float64Array(maxBids);
    this.scratch = new Float64Array(maxBids);
  }

  get size(): number {
    return this.n;
  }

  bidOf(pid: number): number | undefined {
    const s = this.slotOf.get(pid);
    return s === undefined ? undefined : this.price[s];
  }

  setBid(pid: number, priceTokensPerJ: number): void {
    let s = this.slotOf.get(pid);
    if (s === undefined) {
      assert(this.n < this.maxBids, 'sort baseline has room');
      s = this.n++;
      this.slotOf.set(pid, s);
      this.pidOf[s] = pid;
    }
    this.price[s] = priceTokensPerJ;
  }

  removeBid(pid: number): void {
    const s = this.slotOf.get(pid);
    assert(s !== undefined, 'removing a known bid');
    const last = --this.n;
    if (s !== last) {
      const moved = this.pidOf[last]!;
      this.pidOf[s] = moved;
      this.price[s] = this.price[last]!;
      this.slotOf.set(moved, s);
    }
    this.slotOf.delete(pid);
  }

  clear(slots: number, reserveTokensPerJ: number, out: Int32Array): BaselineClearing {
    const n = this.n;
    const sorted = this.scratch.subarray(0, n);
    sorted.set(this.price.subarray(0, n));
    sorted.sort(); // ascending; the top of the book is at the end
    let m = Math.min(slots, n);
    while (m > 0 && sorted[n - m]! < reserveTokensPerJ) m--;
    let price = reserveTokensPerJ;
    if (m === slots && n > slots && sorted[n - slots - 1]! >= reserveTokensPerJ) price = sorted[n - slots - 1]!;
    if (m === 0) return { count: 0, priceTokensPerJ: price };
    // Which bids were they: all above the m-th highest price, and as many equal to it as fit.
    const threshold = sorted[n - m]!;
    let equalNeeded = 0;
    for (let i = n - m; i < n && sorted[i] === threshold; i++) equalNeeded++;
    let count = 0;
    const p = this.price;
    for (let s = 0; s < n && count < m; s++) {
      const x = p[s]!;
      if (x > threshold) out[count++] = this.pidOf[s]!;
      else if (x === threshold && equalNeeded > 0) {
        out[count++] = this.pidOf[s]!;
        equalNeeded--;
      }
    }
    return { count, priceTokensPerJ: price };
  }
}
