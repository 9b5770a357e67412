// The probabilistic auction heap (src/market/auction.ts), its book (book.ts) and its price
// buckets (prices.ts), tested against brute force.
//
// Property tests use fast-check with a fixed seed, so every run draws the same cases; a
// failure prints the counterexample and the `path` to replay it.
//
// "Eligible" below means what the auction admits: a bid at or above the reserve, exactly (the
// bucket that straddles the reserve is scanned for them: a bid equal to the reserve wins a free
// slot).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MaxwellError } from '../../src/errors.js';
import {
  AuctionHeap,
  BUCKETS,
  MAX_PID,
  MAX_SLOTS_PER_ROUND,
  PRICE_MAX,
  PRICE_MIN,
  RATIO,
  bucketOf,
  firstBucketAtLeast,
  isValidPrice,
  lowerBound,
  seededRandom,
  type Clearing,
  type MarketInit,
} from '../../src/market/index.js';

const FC = { seed: 0x6d617877, numRuns: 150 } as const;
/** RATIO as computed in floating point may exceed 1.01 by a few ulps. */
const RATIO_TOL = RATIO * (1 + 1e-12);

// ---------- helpers ----------

function nextDown(x: number): number {
  const f = new Float64Array([x]);
  const u = new BigUint64Array(f.buffer);
  u[0] = u[0]! - 1n;
  return f[0]!;
}
function nextUp(x: number): number {
  const f = new Float64Array([x]);
  const u = new BigUint64Array(f.buffer);
  u[0] = u[0]! + 1n;
  return f[0]!;
}

function throwsCode(fn: () => unknown, code: string): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof MaxwellError, `expected a MaxwellError, got ${String(e)}`);
    assert.equal(e.code, code);
    return true;
  });
}

const eligible = (price: number, reserve: number) => price >= reserve;

interface Bid {
  pid: number;
  price: number;
}

/** Prices across the whole range: fc.double spreads its draws over the exponent range. */
const widePrice = fc.double({ min: PRICE_MIN, max: PRICE_MAX, maxExcluded: true, noNaN: true });
/** Prices clustered around a few values, many equal or within one or two buckets. */
const clusteredPrice = fc
  .tuple(fc.constantFrom(PRICE_MIN * 1.5, 0.37, 1, 1.005, 2.5, 12_345.678, 1e11), fc.integer({ min: -2, max: 2 }))
  .map(([base, d]) => base * (1 + 0.004 * d));
/** Exact bucket edges, and the largest double just below an edge. */
const edgePrice = fc.oneof(
  fc.integer({ min: 0, max: BUCKETS - 1 }).map(lowerBound),
  fc.integer({ min: 1, max: BUCKETS }).map((b) => nextDown(lowerBound(b))),
  fc.constantFrom(PRICE_MIN, nextDown(PRICE_MAX), 1, 1e11),
);
const price = fc.oneof({ arbitrary: widePrice, weight: 3 }, { arbitrary: clusteredPrice, weight: 3 }, { arbitrary: edgePrice, weight: 1 });

const bidsArb = (maxLength: number) =>
  fc.uniqueArray(fc.record({ pid: fc.integer({ min: 0, max: MAX_PID }), price }), {
    selector: (b) => b.pid,
    maxLength,
    size: 'max', // lengths spread over [0, maxLength], not fast-check's default of ~10
  });
/** Slots per round: often few (so that bids compete), sometimes up to 64. */
const kArb = fc.oneof(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 64 }));

type ReserveMode = 'zero' | 'belowAll' | 'aboveAll' | 'atBid' | 'atLowerBound' | 'justAboveLowerBound' | 'random';
const reserveArb = fc.record({
  mode: fc.constantFrom<ReserveMode>('zero', 'belowAll', 'aboveAll', 'atBid', 'atLowerBound', 'justAboveLowerBound', 'random'),
  pick: fc.nat(),
  value: fc.oneof(fc.double({ min: 0, max: 1e12, noNaN: true }), fc.constantFrom(0, PRICE_MIN, 1, PRICE_MAX, 1e300)),
});
function resolveReserve(r: { mode: ReserveMode; pick: number; value: number }, bids: Bid[]): number {
  if (bids.length === 0 || r.mode === 'zero') return r.mode === 'random' ? r.value : 0;
  const prices = bids.map((b) => b.price);
  const p = prices[r.pick % prices.length]!;
  switch (r.mode) {
    case 'belowAll':
      return Math.min(...prices) / 2;
    case 'aboveAll':
      return Math.max(...prices) * 1.5;
    case 'atBid':
      return p;
    case 'atLowerBound':
      return lowerBound(bucketOf(p));
    case 'justAboveLowerBound':
      return nextUp(lowerBound(bucketOf(p)));
    default:
      return r.value;
  }
}

function market(bids: Bid[], init: Partial<MarketInit> = {}, nowMs = 0): AuctionHeap {
  const m = new AuctionHeap({ maxBids: 256, ...init });
  for (const b of bids) assert.deepEqual(m.setBid(b.pid, b.price, nowMs), { kind: 'placed' });
  return m;
}

/** Checks one clearing of a market with no expired bids against a brute-force sort. */
function checkClearing(c: Clearing, bids: Bid[], k: number, reserve: number): void {
  assert.equal(c.mechanism, 'auction');
  assert.equal(c.slots, k);
  assert.equal(c.reserveTokensPerJ, reserve);
  assert.equal(c.expired, 0);
  const priceOf = new Map(bids.map((b) => [b.pid, b.price]));
  const elig = bids.filter((b) => eligible(b.price, reserve)).sort((a, b) => b.price - a.price);
  // (d) the number of awards
  assert.equal(c.awards.length, Math.min(k, elig.length));
  // (c) one slot per pid
  const winners = new Set(c.awards.map((a) => a.pid));
  assert.equal(winners.size, c.awards.length, 'a pid won two slots in one round');
  for (const a of c.awards) {
    assert.equal(a.bidTokensPerJ, priceOf.get(a.pid), 'an award carries the winner\'s own bid');
    assert.ok(eligible(a.bidTokensPerJ, reserve), `winner ${a.pid} (${a.bidTokensPerJ}) is not eligible at reserve ${reserve}`);
    assert.equal(a.priceTokensPerJ, c.priceTokensPerJ, 'one uniform price');
  }
  // (a) the winners are the k highest up to the bucket: their buckets are exactly the top k buckets
  const winnerBuckets = c.awards.map((a) => bucketOf(a.bidTokensPerJ)).sort((x, y) => y - x);
  const topBuckets = elig.slice(0, k).map((b) => bucketOf(b.price)).sort((x, y) => y - x);
  assert.deepEqual(winnerBuckets, topBuckets);
  const losers = elig.filter((b) => !winners.has(b.pid));
  const minWinner = Math.min(...c.awards.map((a) => a.bidTokensPerJ));
  const maxLoser = Math.max(0, ...losers.map((b) => b.price));
  if (c.awards.length > 0 && losers.length > 0) {
    assert.ok(minWinner * RATIO_TOL >= maxLoser, `winner bid ${minWinner} < loser bid ${maxLoser} / 1.01`);
  }
  // (b) the uniform price
  const p = c.priceTokensPerJ;
  assert.ok(p >= reserve, `price ${p} below the reserve ${reserve}`);
  for (const a of c.awards) assert.ok(p <= a.bidTokensPerJ, `price ${p} above winner bid ${a.bidTokensPerJ}`);
  assert.ok(p * RATIO_TOL >= maxLoser, `price ${p} below loser bid ${maxLoser} / 1.01`);
  if (elig.length <= k) assert.equal(p, reserve, 'fewer eligible bids than slots: the price is the reserve');
  else assert.equal(p, Math.max(reserve, lowerBound(bucketOf(elig[k]!.price))), 'price = max(reserve, (k+1)-th bid\'s bucket)');
}

// ---------- prices.ts ----------

describe('prices (log buckets)', () => {
  it('covers at least 12 decades with buckets at most 1% wide', () => {
    assert.ok(Math.log10(PRICE_MAX / PRICE_MIN) >= 12, `range ${PRICE_MIN}..${PRICE_MAX}`);
    assert.equal(lowerBound(0), PRICE_MIN);
    assert.equal(lowerBound(BUCKETS), PRICE_MAX);
    for (let b = 0; b < BUCKETS; b++) {
      const r = lowerBound(b + 1) / lowerBound(b);
      assert.ok(r > 1 && r <= RATIO_TOL, `bucket ${b}: ratio ${r}`);
    }
  });

  it('bucketOf(p) is the bucket with lowerBound(b) ≤ p < lowerBound(b+1), for random prices', () => {
    fc.assert(
      fc.property(fc.oneof(widePrice, clusteredPrice, edgePrice), (p) => {
        const b = bucketOf(p);
        assert.ok(Number.isInteger(b) && b >= 0 && b < BUCKETS, `bucket ${b}`);
        assert.ok(lowerBound(b) <= p && p < lowerBound(b + 1), `p=${p} b=${b} [${lowerBound(b)}, ${lowerBound(b + 1)})`);
      }),
      { ...FC, numRuns: 5000 },
    );
  });

  it('bucket edges are exact: lowerBound(b) is in b, the double below it is in b−1', () => {
    for (let b = 0; b < BUCKETS; b++) {
      assert.equal(bucketOf(lowerBound(b)), b);
      if (b > 0) assert.equal(bucketOf(nextDown(lowerBound(b))), b - 1);
    }
    assert.equal(bucketOf(nextDown(PRICE_MAX)), BUCKETS - 1);
  });

  it('isValidPrice accepts exactly [PRICE_MIN, PRICE_MAX)', () => {
    for (const p of [PRICE_MIN, 1, nextDown(PRICE_MAX)]) assert.equal(isValidPrice(p), true, String(p));
    for (const p of [NaN, -1, 0, nextDown(PRICE_MIN), PRICE_MAX, Infinity, -Infinity, 1e300]) assert.equal(isValidPrice(p), false, String(p));
  });

  it('firstBucketAtLeast(r) is the lowest bucket whose lower bound is ≥ r', () => {
    fc.assert(
      fc.property(fc.oneof(fc.double({ min: 0, max: 1e13, noNaN: true }), edgePrice), (r) => {
        const f = firstBucketAtLeast(r);
        assert.ok(f >= 0 && f <= BUCKETS);
        if (f < BUCKETS) assert.ok(lowerBound(f) >= r, `lowerBound(${f}) = ${lowerBound(f)} < ${r}`);
        else assert.ok(r > lowerBound(BUCKETS - 1));
        if (f > 0) assert.ok(lowerBound(f - 1) < r, `bucket ${f - 1} would do for ${r}`);
      }),
      { ...FC, numRuns: 3000 },
    );
  });
});

// ---------- the bitmap ----------

describe('AuctionHeap bitmap: highest() and highestBelow()', () => {
  const bucketSets = fc.uniqueArray(
    fc.oneof(fc.integer({ min: 0, max: BUCKETS - 1 }), fc.constantFrom(0, 1, 31, 32, 33, 1023, 1024, 1025, 2047, 2048, 4064, 4095)),
    { maxLength: 80 },
  );

  function check(m: AuctionHeap, set: Set<number>): void {
    // brute force: prev[b] = the highest member of `set` strictly below b
    let best = -1;
    for (let b = 0; b < BUCKETS; b++) {
      assert.equal(m.highestBelow(b), best, `highestBelow(${b})`);
      if (set.has(b)) best = b;
    }
    assert.equal(m.highest(), best, 'highest()');
  }

  it('agree with a brute-force scan, before and after removals', () => {
    fc.assert(
      fc.property(bucketSets, fc.array(fc.boolean(), { minLength: 80, maxLength: 80 }), (buckets, removeMask) => {
        const m = new AuctionHeap({ maxBids: 256 });
        const set = new Set<number>();
        buckets.forEach((b, i) => {
          // two bids per bucket: its lower bound and a price inside it
          m.setBid(2 * i, lowerBound(b), 0);
          m.setBid(2 * i + 1, lowerBound(b) * 1.004, 0);
          set.add(b);
        });
        check(m, set);
        buckets.forEach((b, i) => {
          if (!removeMask[i]) return;
          m.removeBid(2 * i);
          check(m, set); // one bid left: still non-empty
          m.removeBid(2 * i + 1);
          set.delete(b);
        });
        check(m, set);
        assert.ok(m.isValid());
      }),
      { ...FC, numRuns: 60 },
    );
  });

  it('an empty heap has no highest bucket', () => {
    const m = new AuctionHeap({ maxBids: 4 });
    assert.equal(m.highest(), -1);
    assert.equal(m.highestBelow(BUCKETS - 1), -1);
    assert.equal(m.highestBelow(0), -1);
  });
});

// ---------- clearing ----------

describe('AuctionHeap clearing (property-based, against a brute-force sort)', () => {
  it('(a–d) winners, uniform price, one slot per pid, number of awards', (t) => {
    // coverage: the cases that matter must actually be drawn
    let priced = 0; // more eligible bids than slots: the (k+1)-th bid sets the price
    let cut = 0; // the reserve left some bids out and let some in
    let ties = 0; // the k-th and (k+1)-th eligible bids share a bucket: the draw decides
    fc.assert(
      fc.property(bidsArb(120), kArb, reserveArb, fc.integer(), (bids, k, r, seed) => {
        const reserve = resolveReserve(r, bids);
        const elig = bids.filter((b) => eligible(b.price, reserve)).sort((a, b) => b.price - a.price);
        if (k > 0 && elig.length > k) priced++;
        if (elig.length > 0 && elig.length < bids.length) cut++;
        if (k > 0 && elig.length > k && bucketOf(elig[k - 1]!.price) === bucketOf(elig[k]!.price)) ties++;
        const m = market(bids);
        const c = m.clear(k, reserve, 0, seededRandom(seed));
        assert.ok(m.isValid());
        checkClearing(c, bids, k, reserve);
        // clearing does not consume bids: they stand for the next round
        assert.equal(m.size, bids.length);
        for (const b of bids) assert.equal(m.bidOf(b.pid), b.price);
        checkClearing(m.clear(k, reserve, 0, seededRandom(seed + 1)), bids, k, reserve);
        assert.ok(m.isValid());
      }),
      FC,
    );
    t.diagnostic(`of ${FC.numRuns} cases: ${priced} priced by the (k+1)-th bid, ${cut} cut by the reserve, ${ties} with a tie at the margin`);
    assert.ok(priced >= FC.numRuns / 10 && cut >= FC.numRuns / 10 && ties >= FC.numRuns / 50, 'the generators miss the interesting cases');
  });

  it('k = 0 sells nothing; the price is the highest eligible bid\'s bucket (or the reserve)', () => {
    const m = market([{ pid: 1, price: 5 }, { pid: 2, price: 3 }]);
    const c = m.clear(0, 1, 0, seededRandom(1));
    assert.deepEqual(c.awards, []);
    assert.equal(c.priceTokensPerJ, lowerBound(bucketOf(5)));
    assert.equal(m.clear(0, 10, 0, seededRandom(1)).priceTokensPerJ, 10);
  });

  it('(i) truthfulness: bidding one\'s value is never worse than another bid, up to the resolution', (t) => {
    // Others cluster around a base price (tight, loose or spread over decades); the bidder's
    // value and its alternative bid are drawn near the others' bids, where the margin is.
    const clamp = (p: number) => Math.min(1e11, Math.max(PRICE_MIN, p));
    // uniform on [-1, 1] (fc.double is uniform over doubles, i.e. mostly near 0)
    const unit = fc.integer({ min: -1_000_000, max: 1_000_000 }).map((i) => i / 1_000_000);
    const arb = fc
      .record({
        base: fc.double({ min: 1e-4, max: 1e9, noNaN: true }),
        spread: fc.constantFrom(0.01, 0.3, 3),
        n: fc.integer({ min: 0, max: 40 }),
        fs: fc.array(unit, { minLength: 40, maxLength: 40 }),
        k: fc.integer({ min: 0, max: 12 }),
        vPick: fc.nat(),
        vF: unit.map((u) => 0.05 * u),
        altMode: fc.constantFrom('nearOther', 'relative', 'wide'),
        altPick: fc.nat(),
        altF: unit,
        altWide: widePrice,
        reserveF: fc.oneof(fc.constant(0), unit.map((u) => 0.75 * (1 + u))),
        seed: fc.integer(),
      })
      .map((r) => {
        const others = r.fs.slice(0, r.n).map((f) => clamp(r.base * Math.exp(r.spread * f)));
        // an other bid near the margin: the k-th or (k+1)-th highest, give or take one
        const sorted = [...others].sort((a, b) => b - a);
        const nearMargin = (pick: number) => sorted[Math.min(sorted.length - 1, Math.max(0, r.k - 2 + (pick % 4)))]!;
        const v = sorted.length && r.vPick % 5 ? clamp(nearMargin(r.vPick) * (1 + r.vF)) : r.base;
        const alt =
          r.altMode === 'wide' ? r.altWide
          : r.altMode === 'relative' || !sorted.length ? clamp(v * Math.exp(r.altF))
          : clamp(nearMargin(r.altPick) * (1 + 0.05 * r.altF));
        return { v, others, alt, k: r.k, reserve: r.reserveF * v, seed: r.seed };
      });
    const RUNS = 500;
    let flips = 0; // the alternative bid changed whether the bidder won
    let bothWin = 0; // it won either way: the price must not depend on its bid
    let gained = 0; // the alternative did better, within the tolerance (bucket ties)
    fc.assert(
      fc.property(arb, ({ v, others, alt, k, reserve, seed }) => {
        const outcome = (bid: number) => {
          const m = new AuctionHeap({ maxBids: 64 });
          others.forEach((p, i) => m.setBid(i + 1, p, 0));
          m.setBid(0, bid, 0);
          const c = m.clear(k, reserve, 0, seededRandom(seed));
          const mine = c.awards.find((a) => a.pid === 0);
          return { won: mine !== undefined, utility: mine ? v - mine.priceTokensPerJ : 0 };
        };
        const truthful = outcome(v);
        const other = outcome(alt);
        assert.ok(truthful.utility >= -1e-12 * v, `bidding one's value lost money: ${truthful.utility}`);
        assert.ok(truthful.utility >= other.utility - 0.02 * v, `v=${v}: utility ${truthful.utility} truthful < ${other.utility} bidding ${alt}`);
        if (truthful.won && other.won) {
          bothWin++;
          assert.equal(other.utility, truthful.utility, 'a winner\'s price depends on its own bid');
        }
        if (truthful.won !== other.won) flips++;
        if (other.utility > truthful.utility) gained++;
      }),
      { ...FC, numRuns: RUNS },
    );
    t.diagnostic(`of ${RUNS} trials: the alternative bid flipped the outcome in ${flips}, both won in ${bothWin}; the alternative gained (within the tolerance) in ${gained}`);
    assert.ok(flips >= RUNS / 5 && bothWin >= RUNS / 5, 'the trials rarely test anything');
    // The tolerance is there for bucket ties; it must not hide a systematic gain.
    assert.ok(gained < RUNS / 10, `misreporting helped in ${gained} of ${RUNS} trials`);
  });
});

// ---------- the book: model-based ----------

describe('AuctionHeap as a standing-bid book (model-based)', () => {
  type Op =
    | { op: 'set'; pid: number; price: number; dtMs: number }
    | { op: 'remove'; pid: number }
    | { op: 'refresh'; pid: number; dtMs: number }
    | { op: 'clear'; k: number; reserve: number; seed: number; dtMs: number };
  const PIDS = 16;
  const INIT = { maxBids: 10, minBidIntervalMs: 10, bidTtlMs: 100 };
  const pid = fc.integer({ min: 0, max: PIDS - 1 });
  const dt = fc.oneof(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 40 }));
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { arbitrary: fc.record({ op: fc.constant('set' as const), pid, price: fc.oneof(price, fc.constantFrom(1, 2, 3)), dtMs: dt }), weight: 5 },
    { arbitrary: fc.record({ op: fc.constant('remove' as const), pid }), weight: 1 },
    { arbitrary: fc.record({ op: fc.constant('refresh' as const), pid, dtMs: dt }), weight: 2 },
    {
      arbitrary: fc.record({
        op: fc.constant('clear' as const),
        k: fc.integer({ min: 0, max: 14 }),
        reserve: fc.oneof(fc.constant(0), fc.constantFrom(1, 2, 2.5), fc.double({ min: 0, max: 1e11, noNaN: true })),
        seed: fc.integer(),
        dtMs: dt,
      }),
      weight: 2,
    },
  );

  it('(e) isValid and the Map model agree after every setBid/removeBid/refresh/clear', (t) => {
    const seen = { placed: 0, updated: 0, unchanged: 0, rate_limited: 0, full: 0, unknown: 0, expired: 0, awards: 0 };
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 80, size: 'max' }), (ops) => {
        const m = new AuctionHeap(INIT);
        const model = new Map<number, { price: number; changedAtMs: number; refreshedAtMs: number }>();
        let now = 0;
        const isExpired = (e: { refreshedAtMs: number }) => now - e.refreshedAtMs > INIT.bidTtlMs;
        for (const o of ops) {
          if (o.op === 'set') {
            now += o.dtMs;
            const e = model.get(o.pid);
            if (!e) {
              if (model.size >= INIT.maxBids) {
                throwsCode(() => m.setBid(o.pid, o.price, now), 'E_MARKET_FULL');
                seen.full++;
              } else {
                assert.deepEqual(m.setBid(o.pid, o.price, now), { kind: 'placed' });
                model.set(o.pid, { price: o.price, changedAtMs: now, refreshedAtMs: now });
                seen.placed++;
              }
            } else {
              const out = m.setBid(o.pid, o.price, now);
              seen[out.kind]++;
              e.refreshedAtMs = now;
              if (e.price === o.price) assert.deepEqual(out, { kind: 'unchanged' });
              else if (now < e.changedAtMs + INIT.minBidIntervalMs) assert.deepEqual(out, { kind: 'rate_limited', retryAtMs: e.changedAtMs + INIT.minBidIntervalMs });
              else {
                assert.deepEqual(out, { kind: 'updated' });
                e.price = o.price;
                e.changedAtMs = now;
              }
            }
          } else if (o.op === 'remove') {
            if (model.has(o.pid)) {
              m.removeBid(o.pid);
              model.delete(o.pid);
            } else {
              throwsCode(() => m.removeBid(o.pid), 'E_BID_UNKNOWN');
              seen.unknown++;
            }
          } else if (o.op === 'refresh') {
            now += o.dtMs;
            const e = model.get(o.pid);
            if (e) {
              m.refresh(o.pid, now);
              e.refreshedAtMs = now;
            } else throwsCode(() => m.refresh(o.pid, now), 'E_BID_UNKNOWN');
          } else {
            now += o.dtMs;
            const c = m.clear(o.k, o.reserve, now, seededRandom(o.seed));
            const live = [...model].filter(([, e]) => !isExpired(e) && eligible(e.price, o.reserve));
            assert.equal(c.awards.length, Math.min(o.k, live.length), 'awards = min(k, live eligible bids)');
            assert.equal(new Set(c.awards.map((a) => a.pid)).size, c.awards.length);
            const winners = new Set<number>();
            for (const a of c.awards) {
              const e = model.get(a.pid);
              assert.ok(e, `winner ${a.pid} has no bid`);
              assert.ok(!isExpired(e), `expired bid ${a.pid} won`);
              assert.equal(a.bidTokensPerJ, e.price);
              assert.ok(a.priceTokensPerJ <= e.price && a.priceTokensPerJ >= o.reserve);
              winners.add(a.pid);
            }
            const minWinnerBucket = Math.min(...c.awards.map((a) => bucketOf(a.bidTokensPerJ)));
            for (const [p, e] of live) if (!winners.has(p)) assert.ok(bucketOf(e.price) <= minWinnerBucket, `live bid ${p} outranks a winner`);
            // expired bids the walk met are gone; nothing else is
            let dropped = 0;
            for (const [p, e] of [...model]) {
              if (m.has(p)) continue;
              assert.ok(isExpired(e), `live bid ${p} vanished in a clearing`);
              model.delete(p);
              dropped++;
            }
            assert.equal(c.expired, dropped);
            seen.expired += dropped;
            seen.awards += c.awards.length;
          }
          assert.ok(m.isValid(), `isValid after ${JSON.stringify(o)}`);
          assert.equal(m.size, model.size);
          for (let p = 0; p < PIDS; p++) {
            assert.equal(m.has(p), model.has(p));
            assert.equal(m.bidOf(p), model.get(p)?.price);
          }
        }
      }),
      { ...FC, numRuns: 120 },
    );
    t.diagnostic(`outcomes seen: ${JSON.stringify(seen)}`);
    for (const [kind, n] of Object.entries(seen)) assert.ok(n >= 20, `only ${n} × ${kind}: the op sequences miss it`);
  });

  it('(f) a removed bid is gone everywhere: never wins, size drops, isValid', () => {
    fc.assert(
      fc.property(bidsArb(60), fc.array(fc.boolean(), { minLength: 60, maxLength: 60 }), fc.integer(), (bids, mask, seed) => {
        const m = market(bids);
        const removed = new Set<number>();
        bids.forEach((b, i) => {
          if (!mask[i]) return;
          const before = m.size;
          m.removeBid(b.pid);
          removed.add(b.pid);
          assert.equal(m.size, before - 1);
          assert.equal(m.has(b.pid), false);
          assert.equal(m.bidOf(b.pid), undefined);
          throwsCode(() => m.removeBid(b.pid), 'E_BID_UNKNOWN');
        });
        assert.ok(m.isValid());
        const rest = bids.filter((b) => !removed.has(b.pid));
        for (let round = 0; round < 3; round++) {
          const c = m.clear(64, 0, 0, seededRandom(seed + round));
          for (const a of c.awards) assert.ok(!removed.has(a.pid), `removed bid ${a.pid} won`);
          checkClearing(c, rest, 64, 0);
        }
        // and it can come back as a new bid
        for (const p of removed) assert.deepEqual(m.setBid(p, 1, 0), { kind: 'placed' });
        assert.equal(m.size, bids.length);
        assert.ok(m.isValid());
      }),
      { ...FC, numRuns: 100 },
    );
  });
});

// ---------- expiry and the rate limit ----------

describe('AuctionHeap expiry', () => {
  const INIT = { maxBids: 16, minBidIntervalMs: 10, bidTtlMs: 100 };

  it('(g) a bid not refreshed for more than bidTtlMs never wins and is dropped; a refreshed one stays', () => {
    const m = new AuctionHeap(INIT);
    m.setBid(1, 5, 0); // stale at 150: the highest, would win
    m.setBid(2, 1, 0); // refreshed at 90
    m.setBid(3, 2, 0); // changed at 60 (a change refreshes too)
    m.refresh(2, 90);
    assert.deepEqual(m.setBid(3, 2.5, 60), { kind: 'updated' });
    const c = m.clear(3, 0, 150, seededRandom(1));
    assert.deepEqual(c.awards.map((a) => a.pid).sort(), [2, 3]);
    assert.equal(c.expired, 1);
    assert.equal(m.has(1), false);
    assert.equal(m.size, 2);
    assert.equal(c.priceTokensPerJ, 0, 'fewer bids than slots: the price is the reserve');
    assert.ok(m.isValid());
  });

  it('expiry is strict: exactly bidTtlMs after the last refresh the bid still stands', () => {
    const m = new AuctionHeap(INIT);
    m.setBid(1, 5, 0);
    assert.deepEqual(m.clear(1, 0, 100, seededRandom(1)).awards.map((a) => a.pid), [1]);
    const c = m.clear(1, 0, 100.5, seededRandom(1));
    assert.deepEqual(c.awards, []);
    assert.equal(c.expired, 1);
    assert.equal(m.size, 0);
  });

  it('an expired bid met while finding the price is dropped and does not set the price', () => {
    const m = new AuctionHeap(INIT);
    m.setBid(1, 10, 0);
    m.setBid(2, 5, 0); // will expire: the (k+1)-th highest, were it alive
    m.setBid(3, 1, 0);
    m.refresh(1, 100);
    m.refresh(3, 100);
    const c = m.clear(1, 0, 150, seededRandom(3));
    assert.deepEqual(c.awards.map((a) => a.pid), [1]);
    assert.equal(c.priceTokensPerJ, lowerBound(bucketOf(1)));
    assert.equal(c.expired, 1);
    assert.equal(m.has(2), false);
    assert.ok(m.isValid());
  });

  it('expired bids tied in the winners\' bucket are all dropped and never win', () => {
    for (let seed = 0; seed < 50; seed++) {
      const m = new AuctionHeap({ ...INIT, maxBids: 64 });
      for (let p = 0; p < 40; p++) m.setBid(p, 3, 0);
      for (let p = 0; p < 40; p += 2) m.refresh(p, 100); // the even pids live at 150
      const c = m.clear(20, 0, 150, seededRandom(seed));
      assert.equal(c.awards.length, 20);
      for (const a of c.awards) assert.equal(a.pid % 2, 0, `expired ${a.pid} won`);
      assert.equal(c.expired, 20);
      assert.equal(m.size, 20);
      assert.ok(m.isValid());
    }
  });

  it('a bid refreshed by setBid at the same price ("unchanged") does not expire', () => {
    const m = new AuctionHeap(INIT);
    m.setBid(1, 5, 0);
    assert.deepEqual(m.setBid(1, 5, 90), { kind: 'unchanged' });
    const c = m.clear(1, 0, 150, seededRandom(1));
    assert.deepEqual(c.awards.map((a) => a.pid), [1]);
    assert.equal(c.expired, 0);
  });

  it('refresh with a non-finite time is refused and does not make the bid immortal', () => {
    const m = new AuctionHeap(INIT);
    m.setBid(1, 5, 0);
    throwsCode(() => m.refresh(1, NaN), 'E_BID_INVALID');
    const c = m.clear(1, 0, 1e9, seededRandom(1));
    assert.deepEqual(c.awards, [], 'a bid last refreshed at 0 won at t = 1e9 ms');
    assert.equal(c.expired, 1);
  });
});

describe('AuctionHeap rate limit', () => {
  const INIT = { maxBids: 16, minBidIntervalMs: 10, bidTtlMs: 100 };

  it('(h) a second change within minBidIntervalMs is rate_limited and keeps the old price', () => {
    const m = new AuctionHeap(INIT);
    assert.deepEqual(m.setBid(7, 2, 100), { kind: 'placed' });
    assert.deepEqual(m.setBid(7, 3, 105), { kind: 'rate_limited', retryAtMs: 110 });
    assert.equal(m.bidOf(7), 2);
    assert.ok(m.isValid());
    assert.deepEqual(m.setBid(7, 3, 109.999), { kind: 'rate_limited', retryAtMs: 110 });
    assert.deepEqual(m.setBid(7, 3, 110), { kind: 'updated' });
    assert.equal(m.bidOf(7), 3);
    assert.deepEqual(m.setBid(7, 4, 115), { kind: 'rate_limited', retryAtMs: 120 });
    // the same price is 'unchanged' at any time, and is not rate-limited
    assert.deepEqual(m.setBid(7, 3, 111), { kind: 'unchanged' });
    assert.deepEqual(m.setBid(7, 4, 120), { kind: 'updated' });
    assert.equal(m.bidOf(7), 4);
    // the clearing sees the price that stands
    assert.equal(m.clear(1, 0, 120, seededRandom(1)).awards[0]!.bidTokensPerJ, 4);
    assert.ok(m.isValid());
  });

  it('a rate-limited change still refreshes the bid (refreshing is free)', () => {
    const m = new AuctionHeap(INIT);
    m.setBid(7, 2, 0);
    m.setBid(8, 1, 0);
    m.setBid(8, 1.5, 95); // updated
    assert.equal(m.setBid(8, 1.7, 100).kind, 'rate_limited');
    const c = m.clear(2, 0, 150, seededRandom(1));
    assert.deepEqual(c.awards.map((a) => a.pid), [8]);
    assert.equal(c.awards[0]!.bidTokensPerJ, 1.5);
    assert.equal(c.expired, 1);
  });

  it('minBidIntervalMs = 0 lets every change through', () => {
    const m = new AuctionHeap({ ...INIT, minBidIntervalMs: 0 });
    m.setBid(1, 1, 0);
    for (let i = 2; i < 50; i++) assert.deepEqual(m.setBid(1, i, 0), { kind: 'updated' });
    assert.equal(m.bidOf(1), 49);
    assert.ok(m.isValid());
  });
});

// ---------- bad input ----------

describe('AuctionHeap bad input: a clear error code, and the market unchanged', () => {
  const INIT = { maxBids: 8, minBidIntervalMs: 10, bidTtlMs: 100 };
  const BIDS: Bid[] = [
    { pid: 1, price: 4 },
    { pid: 2, price: 2 },
    { pid: 3, price: 1 },
    { pid: 4, price: 1 },
  ];

  /**
   * Two identical markets; `bad` is applied to one and must throw `code`. Then both must be
   * indistinguishable: the same bids, isValid, and the same clearing at t = 150 with the same
   * random draws (so a bad call that refreshed a bid would show, as would one that changed a price).
   */
  function unchangedBy(code: string, bad: (m: AuctionHeap) => unknown, extra: Bid[] = []): void {
    const a = market([...BIDS, ...extra], INIT);
    const b = market([...BIDS, ...extra], INIT);
    a.refresh(1, 60);
    b.refresh(1, 60);
    throwsCode(() => bad(a), code);
    assert.ok(a.isValid());
    assert.equal(a.size, b.size);
    for (const p of [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 100]) assert.equal(a.bidOf(p), b.bidOf(p));
    for (const [k, now] of [[2, 90], [4, 150]] as const) {
      assert.deepEqual(a.clear(k, 0, now, seededRandom(9)), b.clear(k, 0, now, seededRandom(9)));
    }
    assert.ok(a.isValid());
  }

  for (const p of [NaN, -1, 0, Infinity, -Infinity, 1e300, PRICE_MAX, nextDown(PRICE_MIN)]) {
    it(`setBid with price ${p} → E_BID_INVALID (new and existing pid)`, () => {
      unchangedBy('E_BID_INVALID', (m) => m.setBid(9, p, 90));
      unchangedBy('E_BID_INVALID', (m) => m.setBid(2, p, 90));
    });
  }

  for (const pid of [1.5, -1, NaN, Infinity, MAX_PID + 1, 2 ** 53]) {
    it(`setBid with pid ${pid} → E_BID_INVALID`, () => {
      unchangedBy('E_BID_INVALID', (m) => m.setBid(pid, 3, 90));
    });
  }

  it('setBid with a non-finite time → E_BID_INVALID', () => {
    unchangedBy('E_BID_INVALID', (m) => m.setBid(2, 3, NaN));
    unchangedBy('E_BID_INVALID', (m) => m.setBid(9, 3, Infinity));
  });

  it('removeBid and refresh of an unknown pid → E_BID_UNKNOWN', () => {
    for (const pid of [0, 9, -1, 1.5, NaN]) {
      unchangedBy('E_BID_UNKNOWN', (m) => m.removeBid(pid));
      unchangedBy('E_BID_UNKNOWN', (m) => m.refresh(pid, 90));
    }
  });

  it('a new pid past maxBids → E_MARKET_FULL; existing bids can still change', () => {
    const m = new AuctionHeap(INIT);
    for (let p = 0; p < INIT.maxBids; p++) m.setBid(p, 1 + p, 0);
    throwsCode(() => m.setBid(100, 50, 0), 'E_MARKET_FULL');
    assert.equal(m.size, INIT.maxBids);
    assert.equal(m.has(100), false);
    assert.ok(m.isValid());
    assert.deepEqual(m.setBid(3, 99, 20), { kind: 'updated' });
    m.removeBid(0);
    assert.deepEqual(m.setBid(100, 50, 20), { kind: 'placed' });
    assert.ok(m.isValid());
    const fill = [5, 6, 7, 8].map((pid) => ({ pid, price: pid / 3 }));
    unchangedBy('E_MARKET_FULL', (mm) => mm.setBid(100, 50, 90), fill);
  });

  for (const k of [NaN, -1, 1.5, Infinity, MAX_SLOTS_PER_ROUND + 1]) {
    it(`clear with k = ${k} → E_BAD_ARGUMENT`, () => {
      unchangedBy('E_BAD_ARGUMENT', (m) => m.clear(k, 0, 150, seededRandom(1)));
    });
  }
  for (const r of [NaN, -1, -Infinity, Infinity]) {
    it(`clear with reserve ${r} → E_BAD_ARGUMENT (expired bids not dropped)`, () => {
      unchangedBy('E_BAD_ARGUMENT', (m) => m.clear(2, r, 150, seededRandom(1)));
    });
  }
  it('clear with a non-finite time → E_BAD_ARGUMENT', () => {
    unchangedBy('E_BAD_ARGUMENT', (m) => m.clear(2, 0, NaN, seededRandom(1)));
  });
});
