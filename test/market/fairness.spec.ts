// Fairness over time: equal bids share slots evenly (no starvation among equals), a higher
// bucket always wins before a lower one, and the lottery's shares follow the bids.
//
// Every run is seeded (seededRandom), so the figures are the same on every machine; the
// bounds are set from the binomial so that a correct market fails them with a probability
// below ~10⁻⁴ per seed, while a biased choice (e.g. always the first of a bucket) fails at once.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AuctionHeap, Lottery, bucketOf, createMarket, lowerBound, seededRandom, type Mechanism } from '../../src/market/index.js';

const N = 100;
const K = 10;
const ROUNDS = 10_000;

/** Runs `rounds` clearings of k slots and counts each pid's wins. */
function winCounts(m: Mechanism, pids: number[], k: number, rounds: number, seed: number): Map<number, number> {
  const wins = new Map(pids.map((p) => [p, 0]));
  const random = seededRandom(seed);
  for (let r = 0; r < rounds; r++) {
    const c = m.clear(k, 0, 0, random);
    assert.equal(c.awards.length, Math.min(k, pids.length));
    for (const a of c.awards) wins.set(a.pid, wins.get(a.pid)! + 1);
  }
  return wins;
}

/**
 * The spread of win counts among N equal bidders, k of N chosen uniformly each round.
 *
 * Each count is Binomial(R, p) with p = k/N: mean R·p = 1000, sd √(R·p·(1−p)) = 30. Within a
 * round the draws are without replacement, so the counts are negatively correlated with
 * covariance matrix R·p(1−p)·N/(N−1)·(I − J/N); hence Σ(c − 1000)² / (R·p(1−p)·N/(N−1)) is
 * χ² with N − 1 = 99 degrees of freedom, i.e. X = Σ(c − 1000)²/1000 ≈ 0.909·χ²₉₉.
 * P(χ²₉₉ > 160) ≈ 10⁻⁴, so X < 0.909·160 ≈ 145 < 150. Each count lies within 5 sd (±150)
 * with probability 1 − 100·6·10⁻⁷. The max/min ratio of 100 such counts is typically ~1.15
 * (the extremes sit ~2.5 sd out); 1.3 needs both extremes past ~4.3 sd.
 */
function assertFairSpread(wins: Map<number, number>, label: string, diagnostic: (s: string) => void): void {
  const counts = [...wins.values()];
  const mean = (ROUNDS * K) / N;
  const sd = Math.sqrt(ROUNDS * (K / N) * (1 - K / N));
  const min = Math.min(...counts);
  const max = Math.max(...counts);
  const chi2 = counts.reduce((s, c) => s + (c - mean) ** 2 / mean, 0);
  diagnostic(`${label}: wins min ${min}, max ${max}, max/min ${(max / min).toFixed(3)}, χ² ${chi2.toFixed(1)} (expected ≈ 90, bound 150), sd ${sd}`);
  assert.equal(counts.reduce((s, c) => s + c, 0), ROUNDS * K);
  assert.ok(min > 0, 'a bidder starved among equals');
  for (const c of counts) assert.ok(Math.abs(c - mean) <= 5 * sd, `a count of ${c} is more than 5 sd from ${mean}`);
  assert.ok(max / min <= 1.3, `max/min ${max / min}`);
  assert.ok(chi2 < 150, `χ² ${chi2}: the slots are not shared evenly`);
}

describe('fairness among equal bids', () => {
  it(`auction: ${N} equal bidders, k = ${K}, ${ROUNDS} rounds: every bidder wins ~1000 ± 30 times`, (t) => {
    const m = new AuctionHeap({ maxBids: 128 });
    const pids = Array.from({ length: N }, (_, i) => 1000 + i);
    for (const p of pids) m.setBid(p, 1.0, 0);
    assertFairSpread(winCounts(m, pids, K, ROUNDS, 2024), 'auction', (s) => t.diagnostic(s));
    assert.ok(m.isValid());
  });

  it('auction: bids equal up to the 1% resolution (one bucket) share as equals', (t) => {
    const m = new AuctionHeap({ maxBids: 128 });
    const base = lowerBound(bucketOf(1.0));
    const pids = Array.from({ length: N }, (_, i) => i);
    // spread over the whole bucket, in increasing order: a "highest first" bias would show
    for (const p of pids) m.setBid(p, base * (1 + (0.0099 * p) / N), 0);
    assert.equal(new Set(pids.map((p) => bucketOf(m.bidOf(p)!))).size, 1);
    assertFairSpread(winCounts(m, pids, K, ROUNDS, 77), 'auction, one bucket', (s) => t.diagnostic(s));
  });

  it('auction: fairness survives churn (bids leaving and coming back reorder the bucket)', (t) => {
    const m = new AuctionHeap({ maxBids: 128, minBidIntervalMs: 0 });
    const pids = Array.from({ length: N }, (_, i) => i);
    for (const p of pids) m.setBid(p, 2.0, 0);
    const wins = new Map(pids.map((p) => [p, 0]));
    const random = seededRandom(5);
    const churn = seededRandom(6);
    for (let r = 0; r < ROUNDS; r++) {
      // each round one bidder leaves and comes straight back (same price): its slot moves
      const p = Math.floor(churn() * N);
      m.removeBid(p);
      m.setBid(p, 2.0, r);
      for (const a of m.clear(K, 0, r, random).awards) wins.set(a.pid, wins.get(a.pid)! + 1);
    }
    assertFairSpread(wins, 'auction with churn', (s) => t.diagnostic(s));
    assert.ok(m.isValid());
  });

  it(`lottery: ${N} equal bidders, k = ${K}, ${ROUNDS} rounds: the same spread`, (t) => {
    const m = new Lottery({ maxBids: 128 });
    const pids = Array.from({ length: N }, (_, i) => i);
    for (const p of pids) m.setBid(p, 1.0, 0);
    assertFairSpread(winCounts(m, pids, K, ROUNDS, 99), 'lottery', (s) => t.diagnostic(s));
    assert.ok(m.isValid());
  });
});

describe('priority across buckets (no starvation of the top)', () => {
  it('higher buckets always win first; the rest share the remaining slots', () => {
    const m = createMarket('auction', { maxBids: 128 });
    const top = [0, 1, 2, 3, 4];
    const rest = Array.from({ length: 95 }, (_, i) => 10 + i);
    for (const p of top) m.setBid(p, 2.0, 0);
    for (const p of rest) m.setBid(p, 1.0, 0);
    const random = seededRandom(11);
    const restWins = new Map(rest.map((p) => [p, 0]));
    const ROUNDS_HERE = 2_000;
    for (let r = 0; r < ROUNDS_HERE; r++) {
      const c = m.clear(K, 0, 0, random);
      const won = new Set(c.awards.map((a) => a.pid));
      for (const p of top) assert.ok(won.has(p), `round ${r}: top bidder ${p} lost`);
      assert.equal(won.size, K);
      assert.equal(c.priceTokensPerJ, lowerBound(bucketOf(1.0)));
      for (const p of won) if (p >= 10) restWins.set(p, restWins.get(p)! + 1);
    }
    // 5 slots among 95 equals for 2000 rounds: ~105 ± 10 wins each; none starves
    const counts = [...restWins.values()];
    assert.ok(Math.min(...counts) >= 55 && Math.max(...counts) <= 155, `rest: ${Math.min(...counts)}..${Math.max(...counts)}`);
  });

  it('a staircase of distinct buckets: the top k steps win every round', () => {
    const m = new AuctionHeap({ maxBids: 64 });
    for (let i = 0; i < 50; i++) m.setBid(i, 1.02 ** i, 0);
    const random = seededRandom(12);
    for (let r = 0; r < 500; r++) {
      const c = m.clear(K, 0, 0, random);
      assert.deepEqual(c.awards.map((a) => a.pid).sort((a, b) => a - b), [40, 41, 42, 43, 44, 45, 46, 47, 48, 49]);
      assert.equal(c.priceTokensPerJ, lowerBound(bucketOf(1.02 ** 39)));
    }
  });
});

describe('lottery shares follow the bids', () => {
  it('bids 1, 2, 3, 4 with k = 1 over 20,000 rounds: shares ≈ 0.1, 0.2, 0.3, 0.4', (t) => {
    const m = new Lottery({ maxBids: 16 });
    for (let p = 1; p <= 4; p++) m.setBid(p, p, 0);
    const R = 20_000;
    const wins = winCounts(m, [1, 2, 3, 4], 1, R, 31);
    const shares = [1, 2, 3, 4].map((p) => wins.get(p)! / R);
    t.diagnostic(`lottery k=1 shares: ${shares.map((s) => s.toFixed(4)).join(', ')}`);
    // sd of a share ≤ √(0.4·0.6/20000) ≈ 0.0035; 0.015 is > 4 sd
    shares.forEach((s, i) => assert.ok(Math.abs(s - (i + 1) / 10) <= 0.015, `pid ${i + 1}: share ${s}`));
  });

  it('with k = 2 (no replacement) each bidder wins with its exact inclusion probability', (t) => {
    const w = [1, 2, 3, 4];
    const W = 10;
    // P(i among 2 drawn without replacement, proportional to weight)
    const incl = w.map((wi, i) => wi / W + w.reduce((s, wj, j) => (j === i ? s : s + (wj / W) * (wi / (W - wj))), 0));
    assert.ok(Math.abs(incl.reduce((s, x) => s + x, 0) - 2) < 1e-12);
    const m = new Lottery({ maxBids: 16 });
    w.forEach((wi, i) => m.setBid(i, wi, 0));
    const R = 20_000;
    const wins = winCounts(m, [0, 1, 2, 3], 2, R, 32);
    const got = [0, 1, 2, 3].map((p) => wins.get(p)! / R);
    t.diagnostic(`lottery k=2 inclusion: got ${got.map((x) => x.toFixed(4)).join(', ')}; exact ${incl.map((x) => x.toFixed(4)).join(', ')}`);
    got.forEach((g, i) => assert.ok(Math.abs(g - incl[i]!) <= 0.015, `pid ${i}: ${g} vs ${incl[i]}`));
    assert.ok(m.isValid());
  });
});

describe('seededRandom (the draws the fairness above rests on)', () => {
  it('is reproducible, in [0, 1), fine-grained and uniform', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const n = 20_000;
    const seen = new Set<number>();
    const bins = new Array<number>(20).fill(0);
    let differs = 0;
    for (let i = 0; i < n; i++) {
      const x = a();
      assert.equal(x, b(), 'the same seed gives the same stream');
      if (x !== c()) differs++;
      assert.ok(x >= 0 && x < 1, `draw ${x}`);
      seen.add(x);
      bins[Math.floor(x * 20)]!++;
    }
    assert.ok(differs > n * 0.99, 'nearby seeds give different streams');
    assert.ok(seen.size > n * 0.999, `only ${seen.size} distinct values in ${n} draws`);
    // 20 bins of expected 1000: χ² with 19 df; P(χ² > 50) < 10⁻⁴
    const chi2 = bins.reduce((s, o) => s + (o - n / 20) ** 2 / (n / 20), 0);
    assert.ok(chi2 < 50, `χ² ${chi2}`);
  });
});
