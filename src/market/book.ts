/**
 * The book of standing bids, shared by both mechanisms (the auction heap and the lottery).
 *
 * A bid is (process, price in tokens per joule); every process wants at most one slot per
 * round, so a process has at most one bid. Bids stand until changed or removed, and expire
 * when their process stops refreshing them. All state lives in preallocated typed arrays
 * indexed by a slot number (a limit on everything: `maxBids`), so inserting, changing and
 * removing a bid is O(1) and allocates nothing (the pid → slot map aside).
 *
 * The book is a pure core: time and randomness come in as arguments.
 *
 * Invariants (checked by isValid):
 *  - slotOf maps each live pid to a slot whose pid is that pid; live slots and free slots
 *    partition [0, maxBids);
 *  - every live bid's price is valid (prices.ts) and is in the bucket index exactly once, its
 *    record agreeing with the book (buckets.ts).
 */
import { ErrorCode, MaxwellError } from '../errors.js';
import { assert } from '../assert.js';
import { isValidPrice, PRICE_MAX, PRICE_MIN } from './prices.js';
import { BucketIndex } from './buckets.js';
import type { Random } from './random.js';

export interface MarketInit {
  /** The most standing bids (one per process). */
  maxBids: number;
  /** A process may change its price at most once per this interval (refreshing is free). */
  minBidIntervalMs: number;
  /** A bid not refreshed (or changed) for this long is dropped. */
  bidTtlMs: number;
}

export const DEFAULT_MARKET: MarketInit = Object.freeze({
  maxBids: 1_048_576,
  minBidIntervalMs: 10,
  bidTtlMs: 10_000,
});

export type BidOutcome =
  | { kind: 'placed' }
  | { kind: 'updated' }
  | { kind: 'unchanged' }
  | { kind: 'rate_limited'; retryAtMs: number };

export interface Award {
  pid: number;
  bidTokensPerJ: number;
  /** What the winner pays per joule of its slot. */
  priceTokensPerJ: number;
}

export interface Clearing {
  mechanism: 'auction' | 'lottery';
  /** Slots offered this round (free workers). */
  slots: number;
  /** One award per winner; never two for one pid. Fewer than `slots` if too few bids cleared the reserve. */
  awards: Award[];
  /** The auction's uniform price; for the lottery, the reserve (each winner pays its own bid). */
  priceTokensPerJ: number;
  reserveTokensPerJ: number;
  /** Bids found expired (and dropped) while clearing. */
  expired: number;
}

export interface Mechanism {
  readonly kind: 'auction' | 'lottery';
  readonly size: number;
  setBid(pid: number, priceTokensPerJ: number, nowMs: number): BidOutcome;
  removeBid(pid: number): void;
  refresh(pid: number, nowMs: number): void;
  has(pid: number): boolean;
  bidOf(pid: number): number | undefined;
  clear(slots: number, reserveTokensPerJ: number, nowMs: number, random: Random): Clearing;
  isValid(): boolean;
}

// The common outcomes are shared frozen values: a round that changes 10% of a million bids
// must not leave 100,000 objects for the collector.
const PLACED: BidOutcome = Object.freeze({ kind: 'placed' });
const UPDATED: BidOutcome = Object.freeze({ kind: 'updated' });
const UNCHANGED: BidOutcome = Object.freeze({ kind: 'unchanged' });

export const MAX_PID = 2 ** 31 - 1;
export const MAX_SLOTS_PER_ROUND = 4096;

export abstract class BidBook implements Mechanism {
  abstract readonly kind: 'auction' | 'lottery';
  protected readonly init: MarketInit;
  protected readonly slotOf = new Map<number, number>();
  protected readonly pid: Int32Array;
  protected readonly price: Float64Array;
  protected readonly changedAtMs: Float64Array;
  protected readonly refreshedAtMs: Float64Array;
  private readonly free: Int32Array;
  private freeTop: number;
  /** The price-bucket index over the live bids (buckets.ts), which both mechanisms draw from. */
  protected readonly index: BucketIndex;

  constructor(init: Partial<MarketInit> = {}) {
    this.init = { ...DEFAULT_MARKET, ...init };
    const n = this.init.maxBids;
    assert(Number.isInteger(n) && n >= 1 && n <= 2 ** 26, 'maxBids in [1, 2^26]');
    assert(this.init.minBidIntervalMs >= 0 && this.init.bidTtlMs > 0, 'market intervals are sane');
    this.pid = new Int32Array(n).fill(-1);
    this.price = new Float64Array(n);
    this.changedAtMs = new Float64Array(n);
    this.refreshedAtMs = new Float64Array(n);
    this.free = new Int32Array(n);
    for (let i = 0; i < n; i++) this.free[i] = n - 1 - i;
    this.freeTop = n;
    this.index = new BucketIndex(n);
  }

  get size(): number {
    return this.slotOf.size;
  }

  has(pid: number): boolean {
    return this.slotOf.has(pid);
  }

  bidOf(pid: number): number | undefined {
    const s = this.slotOf.get(pid);
    return s === undefined ? undefined : this.price[s];
  }

  /** Places or changes a bid. Bad input throws (and changes nothing); a throttled change is a value. */
  setBid(pid: number, priceTokensPerJ: number, nowMs: number): BidOutcome {
    if (!Number.isInteger(pid) || pid < 0 || pid > MAX_PID) {
      throw new MaxwellError(ErrorCode.BID_INVALID, `a bid needs a process id in [0, ${MAX_PID}], not ${pid}`, { pid });
    }
    if (!isValidPrice(priceTokensPerJ)) {
      throw new MaxwellError(ErrorCode.BID_INVALID, `a bid's price must be a number in [${PRICE_MIN}, ${PRICE_MAX.toPrecision(3)}) tokens per joule, not ${priceTokensPerJ}`, { pid, price: priceTokensPerJ });
    }
    if (!Number.isFinite(nowMs)) throw new MaxwellError(ErrorCode.BID_INVALID, `the time must be finite, not ${nowMs}`);
    const s = this.slotOf.get(pid);
    if (s === undefined) {
      if (this.freeTop === 0) throw new MaxwellError(ErrorCode.MARKET_FULL, `the market holds its limit of ${this.init.maxBids} bids`, { pid });
      const slot = this.free[--this.freeTop]!;
      this.slotOf.set(pid, slot);
      this.pid[slot] = pid;
      this.price[slot] = priceTokensPerJ;
      this.changedAtMs[slot] = nowMs;
      this.refreshedAtMs[slot] = nowMs;
      this.index.insert(slot, pid, priceTokensPerJ, nowMs);
      this.changed();
      return PLACED;
    }
    this.refreshedAtMs[s] = nowMs;
    const retryAtMs = this.changedAtMs[s]! + this.init.minBidIntervalMs;
    if (this.price[s] === priceTokensPerJ || nowMs < retryAtMs) {
      this.index.touch(s, nowMs);
      return this.price[s] === priceTokensPerJ ? UNCHANGED : { kind: 'rate_limited', retryAtMs };
    }
    this.index.remove(s);
    this.price[s] = priceTokensPerJ;
    this.changedAtMs[s] = nowMs;
    this.index.insert(s, pid, priceTokensPerJ, nowMs);
    this.changed();
    return UPDATED;
  }

  removeBid(pid: number): void {
    const s = this.slotOf.get(pid);
    if (s === undefined) throw new MaxwellError(ErrorCode.BID_UNKNOWN, `no standing bid for process ${pid}`, { pid });
    this.drop(s);
  }

  refresh(pid: number, nowMs: number): void {
    // A non-finite time would make the bid immortal (now - NaN > ttl is never true).
    if (!Number.isFinite(nowMs)) throw new MaxwellError(ErrorCode.BID_INVALID, `the time must be finite, not ${nowMs}`, { pid });
    const s = this.slotOf.get(pid);
    if (s === undefined) throw new MaxwellError(ErrorCode.BID_UNKNOWN, `no standing bid for process ${pid}`, { pid });
    this.refreshedAtMs[s] = nowMs;
    this.index.touch(s, nowMs);
  }

  protected expired(slot: number, nowMs: number): boolean {
    return nowMs - this.refreshedAtMs[slot]! > this.init.bidTtlMs;
  }

  protected drop(slot: number): void {
    this.index.remove(slot);
    this.changed();
    this.slotOf.delete(this.pid[slot]!);
    this.pid[slot] = -1;
    this.free[this.freeTop++] = slot;
  }

  protected checkClearArgs(slots: number, reserveTokensPerJ: number, nowMs: number): void {
    if (!Number.isInteger(slots) || slots < 0 || slots > MAX_SLOTS_PER_ROUND) {
      throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `slots per round must be an integer in [0, ${MAX_SLOTS_PER_ROUND}], not ${slots}`);
    }
    if (!(reserveTokensPerJ >= 0) || !Number.isFinite(reserveTokensPerJ)) {
      throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `the reserve price must be a finite non-negative number, not ${reserveTokensPerJ}`);
    }
    if (!Number.isFinite(nowMs)) throw new MaxwellError(ErrorCode.BAD_ARGUMENT, `the time must be finite, not ${nowMs}`);
  }

  /** The book's own invariants; subclasses add the index's. */
  isValid(): boolean {
    const n = this.init.maxBids;
    if (this.slotOf.size + this.freeTop !== n) return false;
    const seen = new Uint8Array(n);
    for (const [pid, s] of this.slotOf) {
      if (s < 0 || s >= n || this.pid[s] !== pid || seen[s]) return false;
      if (!isValidPrice(this.price[s]!)) return false;
      seen[s] = 1;
    }
    for (let i = 0; i < this.freeTop; i++) {
      const s = this.free[i]!;
      if (seen[s] || this.pid[s] !== -1) return false;
      seen[s] = 1;
    }
    return this.index.isValid({
      isLive: (slot) => this.pid[slot] !== -1,
      pidOf: (slot) => this.pid[slot]!,
      priceOf: (slot) => this.price[slot]!,
      refreshedOf: (slot) => this.refreshedAtMs[slot]!,
    }, this.slotOf.size);
  }

  abstract clear(slots: number, reserveTokensPerJ: number, nowMs: number, random: Random): Clearing;
  /** Called after every change to the set of bids or their prices (the lottery rebuilds its tree). */
  protected changed(): void {}
}
