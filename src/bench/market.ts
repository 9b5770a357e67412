/**
 * `maxwell bench market`: what one slot decision costs, at n = 10³ … 10⁶ standing bids, for
 * the probabilistic auction heap (src/market/auction.ts), two exact baselines (a binary-heap
 * auction and sort-every-round, src/bench/baselines.ts) and the proportional-share lottery
 * (src/market/lottery.ts), all fed the same bids and the same changes in the same run.
 *
 * A round, as in a live node: 10% of the bids change (new random prices), then a round of
 * k = 16 slots is cleared. Following /work/shared/notes/market-benchmark.md, the two are timed
 * apart:
 *  - ns_per_update: the round's bid changes ÷ the number of changes (for the auction and the
 *    lottery, Mechanism.setBid, which also refreshes the bid; for the heap, a sift);
 *  - ns_per_decision: the clearing ÷ k (for the heap, its k pops and k re-insertions; for
 *    sort-every-round, the copy, the whole sort and the scan that finds the winners).
 * The auction's first clearing after the changes alternates between k = 16 (even rounds:
 * ns_per_decision) and a whole 2-slot round (odd rounds: ns_per_clear_k2, the 2-worker case the
 * overhead figure is about); 100 k = 16 clearings in a row, after 100 untimed, give
 * ns_per_decision_warm, the cost with the working set in cache. Each figure is the median
 * over rounds, after warm-up rounds (sort-every-round at 10⁶: every other round). The market
 * is built with minBidIntervalMs = 0 so that no change is rate-limited, and time advances
 * 1 ms a round. Before each timed region the timer is called twice: after the churn, its
 * first call alone costs ~1 µs on the development VM.
 *
 * Every round's prices are checked across mechanisms (outside the timings): the heap's and
 * sort's prices are equal, and the auction's is the lower bound of the 1% bucket of that price.
 */
import { AuctionHeap, Lottery, seededRandom, type Random, bucketOf, lowerBound } from '../market/index.js';
import { HeapAuction, SortAuction } from './baselines.js';
import { machine, median } from './measure.js';

export const K = 16;
export const CHANGE_FRACTION = 0.1;
export const FULL_NS = [1_000, 10_000, 100_000, 1_000_000] as const;
/** Price distribution: log-uniform over [0.1, 100] tokens/J, and 2% of draws an exact tie. */
export const PRICE_LO = 0.1;
export const PRICE_HI = 100;
export const TIE_FRACTION = 0.02;
export const TIE_PRICES = [1, 10, 99] as const;
const RESERVE = 0;
/** Clearings in a row for the warm-cache figure. */
const HOT = 100;

export interface MarketRow {
  n: number;
  ns_per_decision: number;
  heap_ns_per_decision: number;
  sort_ns_per_decision: number;
  overhead_pct_at_1ms: number;
  ns_per_update: number;
  heap_ns_per_update: number;
  lottery_ns_per_decision: number;
  lottery_ns_per_update: number;
  overhead_pct_at_1ms_with_updates: number;
  /** The auction clearing a whole 2-slot round (the 2-worker case of overhead_pct_at_1ms), after the changes. */
  ns_per_clear_k2: number;
  /** The auction's k = 16 clearing, 100 in a row after 100 untimed: its working set in cache (the algorithm without the churn's cache misses). */
  ns_per_decision_warm: number;
  /** An empty timed interval, taken as the clearings are (after the churn): included in every timing, not subtracted. */
  timer_ns: number;
  rounds: number;
  sort_rounds: number;
  changes_per_round: number;
}

export interface Goal {
  target: string;
  measured: number | null;
  met: boolean | null;
}

export interface MarketBench {
  suite: 'market';
  results: MarketRow[];
  machine: { node: string; cpu: string; cores: number };
  date: string;
  goals: Record<string, Goal>;
  figures: 'measured';
  setup: {
    k: number;
    change_fraction: number;
    prices: string;
    reserve_tokens_per_j: number;
    min_bid_interval_ms: number;
    statistic: string;
  };
}

export interface MarketBenchOptions {
  quick?: boolean;
  /** Bid counts to run (default 10³ … 10⁶). */
  ns?: number[];
  /** Measured rounds per n (default: by n). */
  rounds?: (n: number) => number;
  log?: (s: string) => void;
  seed?: number;
}

function defaultRounds(n: number, quick: boolean): number {
  if (quick) return n >= 1_000_000 ? 3 : n >= 100_000 ? 10 : 30;
  return n >= 1_000_000 ? 100 : n >= 100_000 ? 400 : n >= 10_000 ? 2_000 : 4_000;
}

/** Sort-every-round costs O(n log n) a round: at 10⁶ it is timed every other round (its changes are applied every round). */
function sortEvery(n: number): number {
  return n >= 1_000_000 ? 2 : 1;
}

/**
 * After the churn has flushed the caches, the first performance.now() costs ~1 µs by itself
 * (measured on the EPYC VM); two calls before a timed region keep that out of the figure.
 */
function warmTimer(): void {
  performance.now();
  performance.now();
}

export function drawPrice(random: Random): number {
  if (random() < TIE_FRACTION) return TIE_PRICES[Math.floor(random() * TIE_PRICES.length)]!;
  return PRICE_LO * (PRICE_HI / PRICE_LO) ** random();
}

interface Structures {
  auction: AuctionHeap;
  lottery: Lottery;
  heap: HeapAuction;
  sort: SortAuction;
}

/** Runs one n: returns the medians. */
function benchN(n: number, rounds: number, warmup: number, seed: number, rngAuction: Random, rngLottery: Random, log: (s: string) => void): MarketRow {
  const random = seededRandom(seed ^ n);
  const init = { maxBids: n, minBidIntervalMs: 0 };
  const s: Structures = { auction: new AuctionHeap(init), lottery: new Lottery(init), heap: new HeapAuction(n), sort: new SortAuction(n) };
  for (let pid = 0; pid < n; pid++) {
    const p = drawPrice(random);
    s.auction.setBid(pid, p, 0);
    s.lottery.setBid(pid, p, 0);
    s.heap.setBid(pid, p);
    s.sort.setBid(pid, p);
  }
  const m = Math.max(1, Math.round(n * CHANGE_FRACTION));
  // The changes of a round: m distinct pids (a partial Fisher–Yates over a standing permutation).
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const changePid = new Int32Array(m);
  const changePrice = new Float64Array(m);
  const out = new Int32Array(K);

  const upd = { auction: [] as number[], lottery: [] as number[], heap: [] as number[] };
  const dec = { auction: [] as number[], lottery: [] as number[], heap: [] as number[], sort: [] as number[], k2: [] as number[], warm: [] as number[] };
  const timer: number[] = [];
  const every = sortEvery(n);
  const total = warmup + rounds;
  const dots = Math.max(1, Math.floor(total / 20));

  for (let r = 0; r < total; r++) {
    const measured = r >= warmup;
    const nowMs = r + 1;
    for (let i = 0; i < m; i++) {
      const j = i + Math.floor(random() * (n - i));
      const t = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = t;
      changePid[i] = perm[i]!;
      changePrice[i] = drawPrice(random);
    }

    // Updates, in a rotating order so that none always runs first (or right after another's churn).
    let ta = 0;
    let tl = 0;
    let th = 0;
    for (let q = 0; q < 4; q++) {
      switch ((r + q) & 3) {
        case 0: {
          const a = s.auction;
          warmTimer();
          const t0 = performance.now();
          for (let i = 0; i < m; i++) a.setBid(changePid[i]!, changePrice[i]!, nowMs);
          ta = performance.now() - t0;
          break;
        }
        case 1: {
          const l = s.lottery;
          warmTimer();
          const t0 = performance.now();
          for (let i = 0; i < m; i++) l.setBid(changePid[i]!, changePrice[i]!, nowMs);
          tl = performance.now() - t0;
          break;
        }
        case 2: {
          const h = s.heap;
          warmTimer();
          const t0 = performance.now();
          for (let i = 0; i < m; i++) h.setBid(changePid[i]!, changePrice[i]!);
          th = performance.now() - t0;
          break;
        }
        default: {
          const so = s.sort;
          for (let i = 0; i < m; i++) so.setBid(changePid[i]!, changePrice[i]!);
        }
      }
    }

    // Clearings (sort last: its O(n) copy and sort would flush the cache for whoever came next).
    warmTimer();
    const e0 = performance.now();
    const empty = performance.now() - e0;
    let ca = 0;
    let cl = 0;
    let ch = 0;
    let auctionPrice = 0;
    let heapPrice = 0;
    for (let q = 0; q < 3; q++) {
      switch ((r + q) % 3) {
        case 0: {
          // The first clearing after the changes runs with whatever the churn left in the
          // cache: k = 16 on even rounds (ns_per_decision), a whole 2-slot round on odd ones.
          const slots = r % 2 === 0 ? K : 2;
          warmTimer();
          const t0 = performance.now();
          s.auction.clear(slots, RESERVE, nowMs, rngAuction);
          ca = performance.now() - t0;
          const c = s.auction.clear(K, RESERVE, nowMs, rngAuction); // untimed: the price, for the check
          auctionPrice = c.priceTokensPerJ;
          if (c.awards.length !== Math.min(K, n) || c.expired !== 0) throw new Error(`auction sold ${c.awards.length} slots, ${c.expired} expired`);
          break;
        }
        case 1: {
          warmTimer();
          const t0 = performance.now();
          const c = s.lottery.clear(K, RESERVE, nowMs, rngLottery);
          cl = performance.now() - t0;
          if (c.awards.length !== Math.min(K, n)) throw new Error(`lottery sold ${c.awards.length} slots`);
          break;
        }
        default: {
          warmTimer();
          const t0 = performance.now();
          const c = s.heap.clear(K, RESERVE, out);
          ch = performance.now() - t0;
          heapPrice = c.priceTokensPerJ;
          if (c.count !== Math.min(K, n)) throw new Error(`heap sold ${c.count} slots`);
        }
      }
    }
    let cs = -1;
    if (r % every === 0) {
      warmTimer();
      const t1 = performance.now();
      const c = s.sort.clear(K, RESERVE, out);
      cs = performance.now() - t1;
      if (c.priceTokensPerJ !== heapPrice) throw new Error(`round ${r}: sort price ${c.priceTokensPerJ} ≠ heap price ${heapPrice}`);
    }
    // The auction with its working set in cache: HOT clearings in a row, after as many untimed.
    for (let i = 0; i < HOT; i++) s.auction.clear(K, RESERVE, nowMs, rngAuction);
    warmTimer();
    const t2 = performance.now();
    for (let i = 0; i < HOT; i++) s.auction.clear(K, RESERVE, nowMs, rngAuction);
    const cw = (performance.now() - t2) / HOT;
    // Same bids, same price: the auction's is the lower bound of the exact price's 1% bucket.
    if (n > K && auctionPrice !== lowerBound(bucketOf(heapPrice))) {
      throw new Error(`round ${r}: auction price ${auctionPrice} is not the bucket floor of the exact price ${heapPrice}`);
    }

    if (measured) {
      upd.auction.push((ta * 1e6) / m);
      upd.lottery.push((tl * 1e6) / m);
      upd.heap.push((th * 1e6) / m);
      if (r % 2 === 0) dec.auction.push((ca * 1e6) / K);
      else dec.k2.push(ca * 1e6);
      dec.warm.push((cw * 1e6) / K);
      timer.push(empty * 1e6);
      dec.lottery.push((cl * 1e6) / K);
      dec.heap.push((ch * 1e6) / K);
      if (cs >= 0) dec.sort.push((cs * 1e6) / K);
    }
    if (r % dots === 0) log('.');
  }
  if (!s.auction.isValid() || !s.heap.isValid()) throw new Error('a structure broke its invariants during the benchmark');

  const nsDecision = median(dec.auction);
  const nsUpdate = median(upd.auction);
  return {
    n,
    ns_per_decision: nsDecision,
    heap_ns_per_decision: median(dec.heap),
    sort_ns_per_decision: median(dec.sort),
    overhead_pct_at_1ms: overheadPct(nsDecision, 0, 0),
    ns_per_update: nsUpdate,
    heap_ns_per_update: median(upd.heap),
    lottery_ns_per_decision: median(dec.lottery),
    lottery_ns_per_update: median(upd.lottery),
    overhead_pct_at_1ms_with_updates: overheadPct(nsDecision, n / 10, nsUpdate),
    ns_per_clear_k2: median(dec.k2),
    ns_per_decision_warm: median(dec.warm),
    timer_ns: median(timer),
    rounds,
    sort_rounds: dec.sort.length,
    changes_per_round: m,
  };
}

/**
 * Market CPU time per 1 ms round ÷ the CPU time of that round on 2 workers (2 × 10⁶ ns), in
 * percent: 2 slots sold (2 decisions) plus `updates` bid changes.
 */
export function overheadPct(nsPerDecision: number, updates: number, nsPerUpdate: number): number {
  return ((2 * nsPerDecision + updates * nsPerUpdate) / 2e6) * 100;
}

export function evaluateGoals(results: MarketRow[]): Record<string, Goal> {
  const at = (n: number) => results.find((r) => r.n === n);
  const goal = (target: string, measured: number | undefined, ok: (x: number) => boolean): Goal =>
    measured === undefined || !Number.isFinite(measured) ? { target, measured: null, met: null } : { target, measured, met: ok(measured) };
  const r3 = at(1_000);
  const r5 = at(100_000);
  const r6 = at(1_000_000);
  return {
    ns_per_decision_at_1e6: goal('<= 100', r6?.ns_per_decision, (x) => x <= 100),
    ns_per_update_at_1e6: goal('<= 100', r6?.ns_per_update, (x) => x <= 100),
    flatness_1e6_over_1e3: goal('<= 2 (ns_per_decision at 10^6 / at 10^3: "nearly flat")',
      r3 && r6 ? r6.ns_per_decision / r3.ns_per_decision : undefined, (x) => x <= 2),
    sort_over_auction_at_1e5: goal('>= 10', r5 ? r5.sort_ns_per_decision / r5.ns_per_decision : undefined, (x) => x >= 10),
    overhead_pct_at_1ms_max: goal('< 0.1', results.length ? Math.max(...results.map((r) => r.overhead_pct_at_1ms)) : undefined, (x) => x < 0.1),
  };
}

export async function benchMarket(opts: MarketBenchOptions = {}): Promise<MarketBench> {
  const log = opts.log ?? (() => {});
  const quick = opts.quick ?? false;
  const ns = opts.ns ?? [...FULL_NS];
  const roundsFor = opts.rounds ?? ((n: number) => defaultRounds(n, quick));
  const seed = opts.seed ?? 0x6d61726b; // 'mark'
  // One random source per mechanism for the whole run: a new closure per n would make V8
  // deoptimise clear() at each n ("wrong call target").
  const rngAuction = seededRandom(seed + 1);
  const rngLottery = seededRandom(seed + 2);
  // Warm the JIT on every code path first (a small market, thrown away).
  log('warm-up ');
  benchN(1_000, quick ? 20 : 300, 0, seed + 7, rngAuction, rngLottery, () => {});
  log('\n');
  const results: MarketRow[] = [];
  for (const n of ns) {
    const rounds = roundsFor(n);
    log(`n = ${n} `);
    results.push(benchN(n, rounds, Math.max(4, Math.ceil(rounds / 10)), seed, rngAuction, rngLottery, log));
    log('\n');
  }
  return {
    suite: 'market',
    results,
    machine: machine(),
    date: new Date().toISOString(),
    goals: evaluateGoals(results),
    figures: 'measured',
    setup: {
      k: K,
      change_fraction: CHANGE_FRACTION,
      prices: `log-uniform over [${PRICE_LO}, ${PRICE_HI}] tokens/J; ${TIE_FRACTION * 100}% of draws exactly one of ${TIE_PRICES.join(', ')}`,
      reserve_tokens_per_j: RESERVE,
      min_bid_interval_ms: 0,
      statistic: 'median over rounds after warm-up; decision = clearing time / k, update = change time / changes',
    },
  };
}

const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : '-');

export function formatMarket(r: MarketBench): string {
  const lines = [
    `maxwell bench market — ${r.machine.cpu}, ${r.machine.cores} cores, Node ${r.machine.node} (all figures measured)`,
    `k = ${r.setup.k} slots per round, ${r.setup.change_fraction * 100}% of bids changed per round; ${r.setup.prices}`,
    `ns per decision (clearing ÷ k) and per bid change, medians over rounds:`,
    '',
    '        n | decision: auction     heap      sort  lottery | sort÷auc heap÷auc | update: auction   heap lottery | overhead %  with updates %',
  ];
  for (const x of r.results) {
    lines.push(
      `${String(x.n).padStart(9)} | ${f(x.ns_per_decision).padStart(16)} ${f(x.heap_ns_per_decision).padStart(8)} ${f(x.sort_ns_per_decision, 0).padStart(9)} ${f(x.lottery_ns_per_decision).padStart(8)} |`
      + ` ${f(x.sort_ns_per_decision / x.ns_per_decision, 0).padStart(8)} ${f(x.heap_ns_per_decision / x.ns_per_decision, 2).padStart(8)} |`
      + ` ${f(x.ns_per_update).padStart(15)} ${f(x.heap_ns_per_update).padStart(6)} ${f(x.lottery_ns_per_update).padStart(7)} |`
      + ` ${x.overhead_pct_at_1ms.toPrecision(2).padStart(10)} ${x.overhead_pct_at_1ms_with_updates.toPrecision(3).padStart(15)}`,
    );
  }
  lines.push('', 'overhead % = market CPU ÷ slot time, 1 ms slots on 2 workers (2 decisions a round); "with updates" adds n/10 bid changes');
  lines.push('a round, the most the default 10 ms rate limit allows (a worst case).');
  lines.push(`auction clearing a whole 2-slot round, after the changes: ${r.results.map((x) => `${x.n}: ${f(x.ns_per_clear_k2, 0)} ns`).join(', ')}`);
  lines.push(`  (overhead at 1 ms on 2 workers from that: ${r.results.map((x) => `${(x.ns_per_clear_k2 / 2e4).toPrecision(2)}%`).join(', ')})`);
  lines.push(`auction ns per decision with its working set in cache (100 clearings in a row): ${r.results.map((x) => `${x.n}: ${f(x.ns_per_decision_warm)}`).join(', ')}`, '');
  lines.push('goals:');
  for (const [name, g] of Object.entries(r.goals)) {
    const verdict = g.met === null ? 'not measured' : g.met ? 'met' : 'NOT MET';
    lines.push(`  ${name.padEnd(26)} ${g.measured === null ? '-' : g.measured.toPrecision(3)}  (goal ${g.target})  ${verdict}`);
  }
  return lines.join('\n');
}
