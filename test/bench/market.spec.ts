// `maxwell bench market`: the exact baselines it measures the auction against
// (src/bench/baselines.ts) pick the same winners and price as a brute-force sort, and agree with
// the auction heap up to its 1% buckets; the benchmark returns the JSON the issue specifies.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HeapAuction, SortAuction, type BaselineMechanism } from '../../src/bench/baselines.js';
import { benchMarket, evaluateGoals, overheadPct, type MarketBench } from '../../src/bench/market.js';
import { AuctionHeap, BUCKETS, bucketOf, lowerBound, seededRandom, type Random } from '../../src/market/index.js';

// dist/test/bench/ -> repo root
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const run = promisify(execFile);

/** The exact rule, by brute force: the k highest bids at or above the reserve, the (k+1)-th sets the price. */
function bruteForce(bids: Map<number, number>, k: number, reserve: number): { winners: number[]; price: number; kth: number; next: number } {
  const sorted = [...bids].sort((a, b) => b[1] - a[1]);
  const eligible = sorted.filter(([, p]) => p >= reserve);
  const winners = eligible.slice(0, k).map(([pid]) => pid);
  const next = eligible.length > k && winners.length === k ? eligible[k]![1] : -1;
  return {
    winners,
    price: next >= 0 ? Math.max(reserve, next) : reserve,
    kth: winners.length ? bids.get(winners[winners.length - 1]!)! : -1,
    next,
  };
}

/** Distinct prices (no ties), log-uniform over [1e-3, 1e3]. */
function tieFreePrice(random: Random, used: Set<number>): number {
  for (;;) {
    const p = 1e-3 * 1e6 ** random();
    if (!used.has(p)) {
      used.add(p);
      return p;
    }
  }
}

function clearOf(m: BaselineMechanism, k: number, reserve: number): { winners: number[]; price: number } {
  const out = new Int32Array(Math.max(1, k));
  const c = m.clear(k, reserve, out);
  return { winners: [...out.subarray(0, c.count)], price: c.priceTokensPerJ };
}

const sortedIds = (xs: number[]) => [...xs].sort((a, b) => a - b);

describe('market benchmark baselines', () => {
  it('the heap and sort-every-round pick the brute-force winners and price on random tie-free bids, through inserts, changes and removals', () => {
    const random = seededRandom(42);
    for (let trial = 0; trial < 300; trial++) {
      const n = 1 + Math.floor(random() * 200);
      const heap = new HeapAuction(n);
      const sort = new SortAuction(n);
      const bids = new Map<number, number>();
      const used = new Set<number>();
      const pids: number[] = [];
      for (let i = 0; i < n; i++) {
        const pid = Math.floor(random() * 1e9);
        if (bids.has(pid)) continue;
        const p = tieFreePrice(random, used);
        bids.set(pid, p);
        pids.push(pid);
        heap.setBid(pid, p);
        sort.setBid(pid, p);
      }
      for (let round = 0; round < 4; round++) {
        // Changes and removals between rounds.
        for (let c = 0; c < pids.length / 3; c++) {
          const i = Math.floor(random() * pids.length);
          const pid = pids[i]!;
          if (random() < 0.2 && pids.length > 1) {
            bids.delete(pid);
            pids.splice(i, 1);
            heap.removeBid(pid);
            sort.removeBid(pid);
          } else {
            const p = tieFreePrice(random, used);
            bids.set(pid, p);
            heap.setBid(pid, p);
            sort.setBid(pid, p);
          }
        }
        assert.ok(heap.isValid(), 'heap invariants');
        assert.equal(heap.size, bids.size);
        assert.equal(sort.size, bids.size);
        const k = Math.floor(random() * 24);
        const reserve = random() < 0.5 ? 0 : 1e-3 * 1e6 ** random();
        const want = bruteForce(bids, k, reserve);
        for (const [name, m] of [['heap', heap], ['sort', sort]] as const) {
          const got = clearOf(m, k, reserve);
          assert.deepEqual(sortedIds(got.winners), sortedIds(want.winners), `${name} winners, trial ${trial}, n ${bids.size}, k ${k}`);
          assert.equal(got.price, want.price, `${name} price, trial ${trial}`);
        }
        assert.ok(heap.isValid(), 'the heap puts its winners back');
        for (const [pid, p] of bids) {
          assert.equal(heap.bidOf(pid), p);
          assert.equal(sort.bidOf(pid), p);
        }
      }
    }
  });

  it('with exact ties, pick distinct bidders whose bids are the brute-force winning bids', () => {
    const random = seededRandom(3);
    for (let trial = 0; trial < 200; trial++) {
      const n = 1 + Math.floor(random() * 100);
      const heap = new HeapAuction(n);
      const sort = new SortAuction(n);
      const bids = new Map<number, number>();
      for (let pid = 0; pid < n; pid++) {
        const p = [1, 2, 5, 10][Math.floor(random() * 4)]!;
        bids.set(pid, p);
        heap.setBid(pid, p);
        sort.setBid(pid, p);
      }
      const k = Math.floor(random() * 20);
      const reserve = random() < 0.5 ? 0 : 3;
      const want = bruteForce(bids, k, reserve);
      const prices = (pids: number[]) => pids.map((pid) => bids.get(pid)!).sort((a, b) => a - b);
      for (const m of [heap, sort]) {
        const got = clearOf(m, k, reserve);
        assert.equal(new Set(got.winners).size, got.winners.length, 'one slot per bidder');
        assert.deepEqual(prices(got.winners), prices(want.winners));
        assert.equal(got.price, want.price);
      }
    }
  });

  it('agree with the auction heap up to its 1% buckets (and exactly when no two bids share a bucket)', () => {
    const random = seededRandom(7);
    for (let trial = 0; trial < 200; trial++) {
      const n = 2 + Math.floor(random() * 400);
      const spaced = trial % 2 === 1; // every bid in its own bucket
      const auction = new AuctionHeap({ maxBids: n, minBidIntervalMs: 0 });
      const heap = new HeapAuction(n);
      const sort = new SortAuction(n);
      const bids = new Map<number, number>();
      const used = new Set<number>();
      const usedBuckets = new Set<number>();
      for (let pid = 0; pid < n; pid++) {
        let p: number;
        if (spaced) {
          let b: number;
          do b = 600 + Math.floor(random() * (BUCKETS - 1200)); while (usedBuckets.has(b));
          usedBuckets.add(b);
          p = lowerBound(b) * 1.004;
        } else {
          p = tieFreePrice(random, used);
        }
        bids.set(pid, p);
        auction.setBid(pid, p, 0);
        heap.setBid(pid, p);
        sort.setBid(pid, p);
      }
      const k = 1 + Math.floor(random() * 20);
      const want = bruteForce(bids, k, 0);
      const a = auction.clear(k, 0, 1, seededRandom(trial));
      const h = clearOf(heap, k, 0);
      const s = clearOf(sort, k, 0);
      assert.equal(h.price, want.price);
      assert.equal(s.price, want.price);
      assert.equal(a.awards.length, want.winners.length);
      // The auction's price is the floor of the exact (k+1)-th bid's bucket: within 1% below it.
      if (want.next >= 0) {
        assert.equal(a.priceTokensPerJ, lowerBound(bucketOf(want.next)));
        assert.ok(a.priceTokensPerJ <= want.price && a.priceTokensPerJ > want.price / 1.01);
      } else {
        assert.equal(a.priceTokensPerJ, 0);
      }
      const exact = new Set(want.winners);
      const kthBucket = bucketOf(want.kth);
      for (const w of a.awards) {
        // An auction winner the exact rule did not pick shares the k-th bid's bucket.
        if (!exact.has(w.pid)) assert.equal(bucketOf(w.bidTokensPerJ), kthBucket, `trial ${trial}`);
        assert.ok(w.bidTokensPerJ >= lowerBound(kthBucket));
      }
      if (spaced) assert.deepEqual(sortedIds(a.awards.map((w) => w.pid)), sortedIds(h.winners));
    }
  });
});

function assertShape(r: MarketBench, ns: number[]): void {
  assert.equal(r.figures, 'measured');
  assert.equal(typeof r.date, 'string');
  assert.ok(!Number.isNaN(Date.parse(r.date)));
  assert.equal(typeof r.machine.cpu, 'string');
  assert.ok(r.machine.cores >= 1);
  assert.equal(typeof r.goals, 'object');
  assert.deepEqual(r.results.map((x) => x.n), ns);
  const keys = [
    'n', 'ns_per_decision', 'heap_ns_per_decision', 'sort_ns_per_decision', 'overhead_pct_at_1ms', 'ns_per_update',
    'heap_ns_per_update', 'lottery_ns_per_decision', 'lottery_ns_per_update', 'overhead_pct_at_1ms_with_updates',
  ] as const;
  for (const row of r.results) {
    for (const key of keys) {
      assert.equal(typeof row[key], 'number', key);
      assert.ok(Number.isFinite(row[key]) && row[key] > 0, `${key} = ${row[key]} at n = ${row.n}`);
    }
    assert.ok(Math.abs(row.overhead_pct_at_1ms - overheadPct(row.ns_per_decision, 0, 0)) < 1e-12);
    assert.ok(Math.abs(row.overhead_pct_at_1ms_with_updates - ((2 * row.ns_per_decision + (row.n / 10) * row.ns_per_update) / 2e6) * 100) < 1e-9);
  }
}

describe('maxwell bench market', () => {
  it('benchMarket on small n returns the issue\'s JSON shape with positive figures', async () => {
    const r = await benchMarket({ quick: true, ns: [1_000, 3_000], rounds: () => 6 });
    assertShape(r, [1_000, 3_000]);
    // Goals that need 10^5 or 10^6 are reported as not measured.
    assert.equal(r.goals['ns_per_decision_at_1e6']!.met, null);
    assert.equal(typeof r.goals['overhead_pct_at_1ms_max']!.met, 'boolean');
  });

  it('evaluates the goals from the rows', () => {
    const row = (n: number, d: number) => ({
      n, ns_per_decision: d, heap_ns_per_decision: 2 * d, sort_ns_per_decision: 50 * d, overhead_pct_at_1ms: overheadPct(d, 0, 0),
      ns_per_update: 50, heap_ns_per_update: 60, lottery_ns_per_decision: 3 * d, lottery_ns_per_update: 70,
      overhead_pct_at_1ms_with_updates: overheadPct(d, n / 10, 50), ns_per_clear_k2: 2 * d, ns_per_decision_warm: d,
      timer_ns: 50, rounds: 1, sort_rounds: 1, changes_per_round: n / 10,
    });
    const g = evaluateGoals([row(1_000, 40), row(100_000, 60), row(1_000_000, 90)]);
    assert.equal(g['ns_per_decision_at_1e6']!.met, true);
    assert.equal(g['flatness_1e6_over_1e3']!.met, false); // 90 / 40 > 2
    assert.equal(g['sort_over_auction_at_1e5']!.measured, 50);
    assert.equal(g['overhead_pct_at_1ms_max']!.met, true);
  });

  it('`maxwell bench market --quick --json` prints the result as JSON', async () => {
    const { stdout } = await run(process.execPath, [join(ROOT, 'bin/maxwell.js'), 'bench', 'market', '--quick', '--json'], {
      cwd: ROOT, timeout: 180_000, maxBuffer: 1 << 22,
    });
    assertShape(JSON.parse(stdout) as MarketBench, [1_000, 10_000, 100_000, 1_000_000]);
  });
});
